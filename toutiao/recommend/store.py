"""Bulk Redis writes for the index jobs: chunked pipelines, works on a cluster too."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

CHUNK = 500


def chunks(items: Iterable[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


async def write_zsets(redis: Any, zsets: Iterable[tuple[str, Mapping[str, float]]]) -> list[str]:
    """Replace each zset with its new members; returns the keys written."""
    written: list[str] = []
    for chunk in chunks(zsets):
        async with redis.pipeline(transaction=False) as pipe:
            for key, members in chunk:
                pipe.delete(key)
                if members:
                    pipe.zadd(key, dict(members))
                    written.append(key)
            await pipe.execute()
    return written


async def delete_stale(redis: Any, pattern: str, keep: set[str]) -> int:
    """Delete the keys matching ``pattern`` that the last full write did not produce."""
    stale = [key async for key in redis.scan_iter(match=pattern, count=1000) if key not in keep]
    for chunk in chunks(stale):
        async with redis.pipeline(transaction=False) as pipe:
            for key in chunk:
                pipe.delete(key)
            await pipe.execute()
    return len(stale)


async def write_hash(redis: Any, key: str, mapping: Mapping[str, Any]) -> None:
    """Replace a whole hash, in chunks of fields, then drop the fields it no longer has: the
    hash is never empty meanwhile, so readers keep their answers during a rebuild."""
    for chunk in chunks(mapping.items(), 1000):
        await redis.hset(key, mapping=dict(chunk))
    stale = []
    async for field, _ in redis.hscan_iter(key, count=1000):
        name = field.decode() if isinstance(field, bytes) else field
        if name not in mapping:
            stale.append(field)
    for chunk in chunks(stale, 1000):
        await redis.hdel(key, *chunk)
