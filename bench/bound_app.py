"""The API with four more endpoints that do only the Redis round trips of a page, for
``bench/bound.sh``: what a page costs against the floor before it does any work of its own.

They are routes of the app as served (same middleware, same routing, each taking only the
request and returning a ``Response``, as the floor and the feeds do), under ``/bench/``.
The keys they read do not exist: replies are as short as Redis makes them.
"""

from __future__ import annotations

from fastapi import Request, Response

from toutiao.api.deps import runtime_of
from toutiao.main import create_app

app = create_app()

# A page of the fresh feed's size (about 10 KB of JSON), written once.
PAGE = (
    b'{"message":"OK","data":{"pre_timestamp":0,"results":['
    + b",".join(b'{"art_id":"%d","title":"%s"}' % (i, b"x" * 1000) for i in range(10))
    + b"]}}"
)


async def _round_trip(request: Request, commands: int) -> None:
    async with runtime_of(request).store.pipeline(transaction=False) as pipe:
        for i in range(commands):
            pipe.get(f"bench:bound:{i}")
        await pipe.execute()


@app.get("/bench/one-trip", include_in_schema=False)
async def one_trip(request: Request) -> Response:
    await _round_trip(request, 1)
    return Response(b'{"message":"OK"}', media_type="application/json")


@app.get("/bench/two-trips", include_in_schema=False)
async def two_trips(request: Request) -> Response:
    await _round_trip(request, 1)
    await _round_trip(request, 1)
    return Response(b'{"message":"OK"}', media_type="application/json")


@app.get("/bench/feed-trips", include_in_schema=False)
async def feed_trips(request: Request) -> Response:
    await _round_trip(request, 6)  # the fresh batch's first round trip: position, queue, pinned
    await _round_trip(request, 14)  # its second: counters, the record, the exposure
    return Response(PAGE, media_type="application/json")


@app.get("/bench/feed-one-trip", include_in_schema=False)
async def feed_one_trip(request: Request) -> Response:
    await _round_trip(request, 20)  # the fresh batch's commands, if one round trip made them
    return Response(PAGE, media_type="application/json")
