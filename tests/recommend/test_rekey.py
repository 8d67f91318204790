"""Readers' keys share one hash tag, and the migration from the untagged names moves them with
their values and TTLs, runs again harmlessly and never overwrites a newer key. Runs on every
engine the suite is given: one server, and the real cluster (TOUTIAO_TEST_REDIS_CLUSTER=1)."""

from __future__ import annotations

import pytest
from redis.crc import key_slot
from typer.testing import CliRunner

from toutiao.cli import app
from toutiao.recommend import keys, rekey

DAY_MS = 86_400_000
READERS = ("42", "anon:device-9", "anon:7", "设备 with spaces")


def reader_keys(uid: str) -> list[str]:
    return [
        keys.interest(uid),
        keys.decayed_at(keys.interest(uid)),
        keys.positives(uid),
        keys.shown(uid),
        keys.history(uid, 0),
        keys.history(uid, 5),
        keys.waiting(uid, 0),
        keys.waiting(uid, 5),
        keys.exclusions(uid),
        keys.exclusions_version(uid),
        keys.bootstrapped(uid),
    ]


def untagged(key: str) -> str:
    """The name the key had before the hash tags."""
    return key.replace("{", "", 1).replace("}", "", 1)


@pytest.mark.parametrize("uid", READERS)
def test_a_readers_keys_map_to_one_cluster_slot(uid):
    found = reader_keys(uid)
    assert {key_slot(k.encode()) for k in found} == {key_slot(keys.user_part(uid).encode())}
    assert all(keys.is_reader_key(k) for k in found)


def test_readers_spread_over_slots():
    slots = {key_slot(keys.shown(str(uid)).encode()) for uid in range(1000, 1100)}
    assert len(slots) > 90


@pytest.mark.parametrize("uid", READERS)
def test_every_old_name_maps_to_the_new_one(uid):
    for key in reader_keys(uid):
        old = rekey.parse_old(untagged(key))
        assert old is not None and old.new == key
    assert rekey.parse_old(keys.shown(uid)) is None  # already tagged
    assert rekey.parse_old("reco:user:42:something") is None


async def _seed_old(store, uid: str) -> None:
    o = untagged
    await store.zadd(o(keys.interest(uid)), {"c:1": 3.0, "k:ai": 1.5})
    await store.pexpire(o(keys.interest(uid)), 90 * DAY_MS)
    await store.set(o(keys.decayed_at(keys.interest(uid))), "1700000000.000", px=90 * DAY_MS)
    await store.zadd(o(keys.positives(uid)), {"101": 1_700_000_000.0})  # no TTL
    await store.zadd(o(keys.shown(uid)), {"101": 1000.0, "102": 2000.0})
    await store.pexpire(o(keys.shown(uid)), 7 * DAY_MS)
    await store.zadd(o(keys.history(uid, 5)), {'1000|[[101,"recent"]]': 1000})
    await store.pexpire(o(keys.history(uid, 5)), 30 * DAY_MS)
    await store.set(o(keys.bootstrapped(uid)), "1", px=DAY_MS)
    await store.zadd(o(keys.waiting(uid, 5)), {"103": 64})
    await store.set(o(keys.exclusions(uid)), '{"v":"3","a":[],"u":[],"c":1}', ex=600)
    await store.set(o(keys.exclusions_version(uid)), "3")


async def _pttl(store, key: str) -> int:
    return int(await store.pttl(key))


async def test_the_migration_moves_values_and_ttls(runtime):
    store = runtime.store
    for uid in READERS:
        await _seed_old(store, uid)
    await store.set("reco:user:legacy-thing", "x")  # under the prefix, no known layout

    report = await rekey.run_locked(store)

    assert report is not None
    assert (report.moved, report.merged, report.kept) == (6 * len(READERS), 0, 0)
    assert (report.dropped, report.unknown) == (3 * len(READERS), 1)
    for uid in READERS:
        assert await store.zrange(keys.interest(uid), 0, -1, withscores=True) == [
            ("k:ai", 1.5),
            ("c:1", 3.0),
        ]
        assert await store.get(keys.decayed_at(keys.interest(uid))) == "1700000000.000"
        assert await store.zrange(keys.positives(uid), 0, -1) == ["101"]
        assert await _pttl(store, keys.positives(uid)) == -1
        assert await store.zrange(keys.shown(uid), 0, -1) == ["101", "102"]
        assert await store.zrange(keys.history(uid, 5), 0, -1) == ['1000|[[101,"recent"]]']
        assert await store.get(keys.bootstrapped(uid)) == "1"
        for key, ttl in (
            (keys.interest(uid), 90 * DAY_MS),
            (keys.shown(uid), 7 * DAY_MS),
            (keys.history(uid, 5), 30 * DAY_MS),
            (keys.bootstrapped(uid), DAY_MS),
        ):
            assert ttl - 60_000 < await _pttl(store, key) <= ttl
        # caches are dropped, not moved: rebuilt under the new names on demand
        for key in (keys.waiting(uid, 5), keys.exclusions(uid), keys.exclusions_version(uid)):
            assert not await store.exists(key)
        for key in reader_keys(uid):
            assert not await store.exists(untagged(key))
    assert await store.get("reco:user:legacy-thing") == "x"
    assert await store.get(keys.READER_TAGS_MIGRATED) == "1"


async def test_the_migration_never_overwrites_newer_keys(runtime):
    store, uid = runtime.store, "42"
    await _seed_old(store, uid)
    # served after the upgrade, before the migration: newer keys under the new names
    await store.zadd(keys.shown(uid), {"102": 5000.0, "104": 6000.0})
    await store.pexpire(keys.shown(uid), 7 * DAY_MS)
    await store.set(keys.bootstrapped(uid), "new", px=DAY_MS)
    await store.incr(keys.exclusions_version(uid))

    report = await rekey.run_locked(store)

    assert report is not None and (report.moved, report.merged, report.kept) == (4, 1, 1)
    # merged: every member, each at its later time
    assert await store.zrange(keys.shown(uid), 0, -1, withscores=True) == [
        ("101", 1000.0),
        ("102", 5000.0),
        ("104", 6000.0),
    ]
    assert 7 * DAY_MS - 60_000 < await _pttl(store, keys.shown(uid)) <= 7 * DAY_MS
    assert not await store.exists(rekey.parse_old(untagged(keys.shown(uid))).staging)
    assert await store.get(keys.bootstrapped(uid)) == "new"
    assert await store.get(keys.exclusions_version(uid)) == "1"
    assert not await store.exists(untagged(keys.shown(uid)), untagged(keys.bootstrapped(uid)))


async def test_the_migration_runs_again_harmlessly(runtime):
    store = runtime.store
    for uid in READERS:
        await _seed_old(store, uid)
    assert await rekey.run_locked(store) is not None
    before = {k: await store.dump(k) for uid in READERS for k in reader_keys(uid)}

    again = await rekey.run_locked(store)

    assert again is not None and again.done == 0
    assert {k: await store.dump(k) for k in before} == before


async def test_a_run_stopped_between_copy_and_delete_is_resumed(runtime):
    """The copy exists under the new name and the old key too: it merges into itself."""
    store, uid = runtime.store, "anon:device-9"
    await _seed_old(store, uid)
    for key in (keys.shown(uid), keys.bootstrapped(uid)):
        old = untagged(key)
        await store.restore(key, await store.pttl(old), await store.dump(old))

    report = await rekey.run_locked(store)

    assert report is not None and (report.moved, report.merged, report.kept) == (4, 1, 1)
    assert await store.zrange(keys.shown(uid), 0, -1, withscores=True) == [
        ("101", 1000.0),
        ("102", 2000.0),
    ]
    assert await store.get(keys.bootstrapped(uid)) == "1"
    assert not await store.exists(untagged(keys.shown(uid)))


async def test_one_migration_at_a_time_and_once_at_start(runtime):
    store = runtime.store
    await _seed_old(store, "42")
    lock = store.lock(keys.lock(rekey.LOCK_NAME), timeout=10, blocking=False)
    assert await lock.acquire()
    assert await rekey.run_locked(store) is None  # another process holds it
    assert await rekey.migrate_once(store) is None
    assert await store.exists(untagged(keys.shown("42")))
    await lock.release()

    first = await rekey.migrate_once(store)
    assert first is not None and first.moved == 6
    await _seed_old(store, "43")  # an old process wrote after the complete run
    assert await rekey.migrate_once(store) is None  # the marker: start-up runs only once
    assert await store.exists(untagged(keys.shown("43")))
    by_hand = await rekey.run_locked(store)  # the command runs whenever asked
    assert by_hand is not None and by_hand.moved == 6


async def test_batches_cover_every_key(runtime):
    store = runtime.store
    readers = [str(uid) for uid in range(500, 560)]
    async with store.pipeline(transaction=False) as pipe:
        for uid in readers:
            pipe.zadd(untagged(keys.shown(uid)), {"1": 1.0})
            pipe.set(untagged(keys.exclusions_version(uid)), "2")
        await pipe.execute()
    seen: list[int] = []

    report = await rekey.migrate_reader_keys(store, batch=7, progress=lambda r: seen.append(r.done))

    assert (report.moved, report.dropped) == (60, 60)
    assert seen == sorted(seen) and seen[-1] == 120
    assert all([await store.exists(keys.shown(uid)) for uid in readers])


def test_the_command_runs_on_the_embedded_engines(tmp_path, monkeypatch):
    for name in ("TOUTIAO_DATABASE_URL", "TOUTIAO_REDIS_URL", "TOUTIAO_REDIS_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    args = ["reco", "migrate-keys", "--data-dir", str(tmp_path)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "reader keys: 0 moved" in done.output
