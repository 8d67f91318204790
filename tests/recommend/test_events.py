from __future__ import annotations

import asyncio
import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.recommend.helpers import RecoData
from toutiao.models.enums import ArticleStatus
from toutiao.recommend import events, keys
from toutiao.recommend.events import (
    HOT_HALF_LIFE,
    MAX_PARAM_CHARS,
    append_event,
    fold_events,
    queue_event,
)
from toutiao.runtime import Runtime


async def _snapshot(runtime: Runtime, uid: str, channel: int) -> dict[str, object]:
    store = runtime.store
    return {
        "interest": await store.zrange(keys.interest(uid), 0, -1, withscores=True),
        "pos": await store.zrange(keys.positives(uid), 0, -1, withscores=True),
        "hot": await store.zrange(keys.HOT, 0, -1, withscores=True),
        "ch": await store.zrange(keys.channel_hot(channel), 0, -1, withscores=True),
    }


class TestAppend:
    async def test_fields_are_normalised_and_the_param_is_capped(self, runtime: Runtime) -> None:
        await append_event(
            runtime.store,
            action="read",
            user_id=" 12 ",
            article_id=99,
            channel_id=3,
            duration=-5,
            param="x" * 5000,
        )
        [(_, fields)] = await runtime.store.xrange(keys.EVENTS)
        assert fields["action"] == "read" and fields["user_id"] == "12"
        assert fields["article_id"] == "99" and fields["channel_id"] == "3"
        assert fields["duration"] == "0.000"
        assert fields["param"] == "x" * MAX_PARAM_CHARS
        assert abs(int(fields["ts"]) - time.time() * 1000) < 60_000

    async def test_bad_fields_are_refused(self, runtime: Runtime) -> None:
        for bad in (
            {"action": "hack"},
            {"action": "click", "article_id": -1},
            {"action": "click", "article_id": True},
            {"action": "read", "article_id": 1, "duration": float("nan")},
        ):
            fields = {"user_id": "1", "article_id": 1, **bad}
            with pytest.raises(ValueError):  # noqa: PT011 - several messages
                await append_event(runtime.store, **fields)  # type: ignore[arg-type]
        assert await runtime.store.xlen(keys.EVENTS) == 0

    async def test_queue_event_rides_on_a_callers_pipeline(self, runtime: Runtime) -> None:
        async with runtime.store.pipeline(transaction=False) as pipe:
            pipe.incr("other")
            queue_event(pipe, action="exposure", user_id="", article_id=None, param='{"a":1}')
            queue_event(pipe, action="click", user_id="", article_id=7)
            await pipe.execute()
        [(_, exposure)] = await runtime.store.xrange(keys.EXPOSURES)  # a stream of their own
        [(_, click)] = await runtime.store.xrange(keys.EVENTS)
        assert (exposure["action"], exposure["param"], click["action"]) == (
            "exposure",
            '{"a":1}',
            "click",
        )


class TestFold:
    async def _article(self, data: RecoData) -> tuple[int, int]:
        (channel,) = await data.channels(1)
        return channel, await data.article(author=await data.user(), channel=channel)

    async def test_events_build_interest_and_popularity_once(
        self, runtime: Runtime, data: RecoData
    ) -> None:
        channel, article = await self._article(data)
        await runtime.store.hset(keys.ART_KEYWORDS, str(article), "索引 事务")
        for action in ("click", "like", "collect"):
            await append_event(runtime.store, action=action, user_id="5", article_id=article)
        await append_event(runtime.store, action="exposure", user_id="5", article_id=None)
        assert await fold_events(runtime.db, runtime.store) == 3  # exposures are not folded
        interest = dict(await runtime.store.zrange(keys.interest("5"), 0, -1, withscores=True))
        assert interest == {f"c:{channel}": 8.0, "k:索引": 4.0, "k:事务": 4.0}
        assert await runtime.store.zscore(keys.HOT, str(article)) == 8.0
        assert await runtime.store.zscore(keys.channel_hot(channel), str(article)) == 8.0
        assert await runtime.store.zscore(keys.positives("5"), str(article)) is not None

        before = await _snapshot(runtime, "5", channel)
        assert await fold_events(runtime.db, runtime.store) == 0
        assert await _snapshot(runtime, "5", channel) == before

    async def test_a_batch_is_written_in_transactions_of_a_few_events(
        self, runtime: Runtime, data: RecoData, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The server runs a transaction whole, every other client waiting: a batch read at
        once is written COMMIT_EVENTS events at a time, each moving the cursor past its own."""
        channel, article = await self._article(data)
        for _ in range(5):
            await append_event(runtime.store, action="click", user_id="5", article_id=article)
        ids = [entry_id for entry_id, _ in await runtime.store.xrange(keys.EVENTS)]
        commits: list[str] = []
        commit = events._commit

        async def counted(redis: object, cursor: str, last_id: str, *rest: object) -> bool:
            commits.append(last_id)
            assert cursor == (commits[-2] if len(commits) > 1 else "0-0")
            return await commit(redis, cursor, last_id, *rest)  # type: ignore[arg-type]

        monkeypatch.setattr(events, "COMMIT_EVENTS", 2)
        monkeypatch.setattr(events, "_commit", counted)
        assert await fold_events(runtime.db, runtime.store) == 5
        assert commits == [ids[1], ids[3], ids[4]]
        assert await runtime.store.get(keys.EVENTS_FOLDED) == ids[4]
        assert await runtime.store.zscore(keys.interest("5"), f"c:{channel}") == 5.0
        assert await runtime.store.zscore(keys.HOT, str(article)) == 5.0

    async def test_folding_resumes_after_the_last_event(
        self, runtime: Runtime, data: RecoData
    ) -> None:
        channel, article = await self._article(data)
        await append_event(runtime.store, action="click", user_id="5", article_id=article)
        await fold_events(runtime.db, runtime.store)
        await append_event(runtime.store, action="share", user_id="5", article_id=article)
        assert await fold_events(runtime.db, runtime.store) == 1
        assert await runtime.store.zscore(keys.interest("5"), f"c:{channel}") == 5.0

    async def test_concurrent_folders_do_not_double_count(
        self, runtime: Runtime, data: RecoData
    ) -> None:
        channel, article = await self._article(data)
        for _ in range(30):
            await append_event(runtime.store, action="click", user_id="5", article_id=article)
        done = await asyncio.gather(*(fold_events(runtime.db, runtime.store) for _ in range(3)))
        while await fold_events(runtime.db, runtime.store):
            pass
        assert sum(done) <= 30
        assert await runtime.store.zscore(keys.interest("5"), f"c:{channel}") == 30.0
        assert await runtime.store.zscore(keys.HOT, str(article)) == 30.0

    async def test_scores_decay_with_time(self, runtime: Runtime, data: RecoData) -> None:
        _, article = await self._article(data)
        await append_event(runtime.store, action="like", user_id="", article_id=article)
        await fold_events(runtime.db, runtime.store)
        await runtime.store.set(keys.decayed_at(keys.HOT), time.time() - HOT_HALF_LIFE)
        await append_event(runtime.store, action="click", user_id="", article_id=article)
        await fold_events(runtime.db, runtime.store)
        assert await runtime.store.zscore(keys.HOT, str(article)) == pytest.approx(2.5, rel=1e-3)

    async def test_dislikes_and_unknown_articles(self, runtime: Runtime, data: RecoData) -> None:
        channel, article = await self._article(data)
        (other,) = [await data.article(author=await data.user(), channel=channel)]
        await data.set_status(other, ArticleStatus.DELETED)
        await append_event(runtime.store, action="click", user_id="5", article_id=article)
        await append_event(runtime.store, action="dislike", user_id="5", article_id=article)
        await append_event(runtime.store, action="like", user_id="5", article_id=other)
        await append_event(runtime.store, action="like", user_id="5", article_id=123456789)
        assert await fold_events(runtime.db, runtime.store) == 4
        assert await runtime.store.zscore(keys.interest("5"), f"c:{channel}") == -2.0
        assert await runtime.store.zscore(keys.positives("5"), str(article)) is None
        assert await runtime.store.zscore(keys.HOT, str(other)) is None


class TestBuffered:
    """The detail's clicks, kept in the process and appended by ``flush_buffered``."""

    @staticmethod
    def _buffer(count: int) -> None:
        events.clear_buffered()
        for i in range(count):
            events.buffer_event(action="click", user_id="anon:d", article_id=i + 1, channel_id=1)

    @staticmethod
    async def _appended(runtime: Runtime) -> list[int]:
        return [int(f["article_id"]) for _, f in await runtime.store.xrange(keys.EVENTS)]

    async def test_a_flush_appends_in_order_a_chunk_a_round_trip(
        self, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(events, "FLUSH_CHUNK", 10)
        self._buffer(25)
        pipeline = runtime.store.pipeline
        opened: list[object] = []

        def counted(*args: object, **kwargs: object) -> object:
            opened.append(args)
            return pipeline(*args, **kwargs)

        monkeypatch.setattr(runtime.store, "pipeline", counted)
        assert await events.flush_buffered(runtime.store) == 25
        assert len(opened) == 3  # 10 + 10 + 5: the loop serves requests between them
        assert await self._appended(runtime) == list(range(1, 26))
        assert await events.flush_buffered(runtime.store) == 0

    async def test_what_a_failed_flush_did_not_send_is_sent_by_the_next(
        self, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(events, "FLUSH_CHUNK", 10)
        self._buffer(25)
        real = runtime.store

        class FailsSecond:
            """The real client, whose second pipeline finds the server gone."""

            calls = 0

            def pipeline(self, *args: object, **kwargs: object) -> object:
                FailsSecond.calls += 1
                if FailsSecond.calls == 2:
                    raise RedisConnectionError("the server went away")
                return real.pipeline(*args, **kwargs)

        assert await events.flush_buffered(FailsSecond()) == 10
        assert await self._appended(runtime) == list(range(1, 11))
        events.buffer_event(action="click", user_id="anon:d", article_id=26, channel_id=1)
        assert await events.flush_buffered(real) == 16
        assert await self._appended(runtime) == list(range(1, 27))  # each once, in order
