"""Read/write routing between the primary and replicas, and the fallback when a replica dies."""

from __future__ import annotations

from sqlalchemy import text

from toutiao.kit.db import Database, count_queries


async def _make(url: str, marker: str) -> None:
    db = Database.from_urls(url)
    async with db.session() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS who (name TEXT)"))
        await session.execute(text("INSERT INTO who VALUES (:n)"), {"n": marker})
        await session.commit()
    await db.dispose()


async def test_reads_go_to_the_replica_and_writes_to_the_primary(tmp_path):
    primary, replica = (
        f"sqlite+aiosqlite:///{tmp_path}/p.db",
        f"sqlite+aiosqlite:///{tmp_path}/r.db",
    )
    await _make(primary, "primary")
    await _make(replica, "replica")
    db = Database.from_urls(primary, [replica])
    async with db.read_session() as session:
        assert await session.scalar(text("SELECT name FROM who")) == "replica"
    async with db.session() as session:
        assert await session.scalar(text("SELECT name FROM who")) == "primary"
        await session.execute(text("INSERT INTO who VALUES ('written')"))
        # a read inside a write transaction sees the write (same primary connection)
        assert await session.scalar(text("SELECT count(*) FROM who")) == 2
        await session.commit()
    await db.dispose()


async def test_dead_replica_falls_back_to_primary_and_is_skipped(tmp_path):
    primary = f"sqlite+aiosqlite:///{tmp_path}/p.db"
    await _make(primary, "primary")
    db = Database.from_urls(
        primary, ["mysql+asyncmy://root@127.0.0.1:1/none"], replica_retry_seconds=60
    )
    async with db.read_session() as session:
        assert await session.scalar(text("SELECT name FROM who")) == "primary"
    assert not db.replicas[0].healthy
    async with db.read_session() as session:  # no second attempt on the dead replica
        assert session.bind is db.primary
    await db.dispose()


async def test_count_queries(tmp_path):
    primary = f"sqlite+aiosqlite:///{tmp_path}/p.db"
    await _make(primary, "primary")
    db = Database.from_urls(primary)
    with count_queries(db.engines()) as log:
        async with db.read_session() as session:
            await session.scalar(text("SELECT name FROM who"))
    assert log.count == 1 and "SELECT name FROM who" in log.statements[0]
    assert log.rows == 1
    with count_queries(db.engines()) as log:
        async with db.session() as session:
            await session.execute(text("INSERT INTO who VALUES ('b'), ('c')"))
            rows = (await session.execute(text("SELECT name FROM who"))).all()
            await session.rollback()
    assert len(rows) == 3 and log.rows == 3  # the INSERT returns no rows
    await db.dispose()
