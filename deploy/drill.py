"""The CI drill's scenario, driven through nginx against the kit (deploy/ci-drill.sh starts it).

A stand-in for Aliyun's SMS API records the codes the worker delivers; a reader and an author
log in with them; the reader reads the feed and likes the author's article; the author, with
one socket through nginx and one on the OTHER IM node, receives "liking notify" on both; a
search finds the article. Prints one line per step, exits non-zero on the first failure.

Usage: python deploy/drill.py BASE_URL IM1_URL IM2_URL SMS_PORT DATABASE_URL
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import asyncmy
import httpx
import socketio
from aiohttp import web

TIMEOUT = 30.0


class FakeAliyun:
    """Answers Dysms ``SendSms`` like the real service and remembers each mobile's code."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        assert form.get("Action") == "SendSms", dict(form)
        assert form.get("Signature"), dict(form)
        self.codes[str(form["PhoneNumbers"])] = json.loads(str(form["TemplateParam"]))["code"]
        return web.json_response({"Code": "OK", "Message": "OK", "RequestId": "drill"})

    async def code_for(self, mobile: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while mobile not in self.codes:
            if time.monotonic() > deadline:
                raise AssertionError(f"no SMS delivered to {mobile} (is the worker running?)")
            await asyncio.sleep(0.1)
        return self.codes.pop(mobile)


def step(text: str) -> None:
    print(f"drill: {text}", flush=True)  # noqa: T201 - the drill's report


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.url}: {response.status_code} {response.text}"
    )
    return response.json()["data"]


async def login(http: httpx.AsyncClient, sms: FakeAliyun, mobile: str) -> str:
    data(await http.get(f"/app/v1_0/sms/codes/{mobile}"))
    code = await sms.code_for(mobile)
    body = data(
        await http.post("/app/v1_0/authorizations", json={"mobile": mobile, "code": code}), 201
    )
    return str(body["token"])


async def mobiles(database_url: str, user_ids: list[int]) -> dict[int, str]:
    url = urlsplit(database_url.replace("mysql+asyncmy", "mysql"))
    conn = await asyncmy.connect(
        host=url.hostname,
        port=url.port or 3306,
        user=url.username or "root",
        password=url.password or "",
        database=url.path.lstrip("/"),
    )
    try:
        async with conn.cursor() as cursor:
            marks = ",".join(["%s"] * len(user_ids))
            await cursor.execute(
                f"SELECT user_id, mobile FROM user_basic WHERE user_id IN ({marks})", user_ids
            )
            return {int(uid): str(mobile) for uid, mobile in await cursor.fetchall()}
    finally:
        conn.close()


async def listen(
    url: str, token: str, path: str = "socket.io"
) -> tuple[socketio.AsyncClient, asyncio.Queue[Any]]:
    received: asyncio.Queue[Any] = asyncio.Queue()
    client = socketio.AsyncClient(reconnection=False)
    client.on("liking notify", received.put_nowait)
    await client.connect(
        f"{url}?token={token}", transports=["websocket"], socketio_path=path, wait_timeout=10
    )
    return client, received


async def scenario(base: str, im_nodes: list[str], sms_port: int, database_url: str) -> None:
    sms = FakeAliyun()
    app = web.Application()
    app.router.add_post("/", sms.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", sms_port).start()
    sockets: list[socketio.AsyncClient] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT) as http:
            channels = data(await http.get("/app/v1_0/channels"))["channels"]
            step(f"{len(channels)} channels through nginx")
            now = int(time.time() * 1000)
            feed = data(
                await http.get(
                    "/app/v1_1/articles", params={"channel_id": 0, "timestamp": now, "with_top": 1}
                )
            )
            articles = feed["results"]
            assert articles, "the feed is empty"
            authors = await mobiles(database_url, sorted({int(a["aut_id"]) for a in articles}))
            article = articles[0]
            author_mobile = authors[int(article["aut_id"])]
            reader_mobile = (
                next(m for uid, m in authors.items() if m != author_mobile)
                if len(authors) > 1
                else "13900009999"
            )
            reader = await login(http, sms, reader_mobile)
            author = await login(http, sms, author_mobile)
            step(
                "reader and author logged in with codes the worker delivered through the SMS provider"
            )
            auth = {"Authorization": f"Bearer {reader}"}
            feed = data(
                await http.get(
                    "/app/v1_1/articles",
                    headers=auth,
                    params={"channel_id": 0, "timestamp": now, "with_top": 1},
                )
            )
            step(f"the reader's feed: {len(feed['results'])} articles")

            probe = await http.get(
                "/socket.io/", params={"EIO": "4", "transport": "polling", "token": author}
            )
            chosen = probe.headers.get("X-IM-Node", "")
            assert probe.status_code == 200, f"{probe.status_code} {probe.text}"
            assert chosen, "nginx names no IM node (X-IM-Node)"
            other = next(n for n in im_nodes if urlsplit(n).netloc != chosen)
            via_nginx, heard_nginx = await listen(base, author)
            sockets.append(via_nginx)
            direct, heard_other = await listen(other, author)
            sockets.append(direct)
            step(
                f"the author listens through nginx (node {chosen}) and on the other node {urlsplit(other).netloc}"
            )

            data(
                await http.post(
                    "/app/v1_0/article/likings", headers=auth, json={"target": article["art_id"]}
                ),
                201,
            )
            for name, queue in (
                ("through nginx", heard_nginx),
                ("on the other IM node", heard_other),
            ):
                note = await asyncio.wait_for(queue.get(), TIMEOUT)
                assert int(note["art_id"]) == int(article["art_id"]), note
                step(f"'liking notify' received {name}")

            word = str(article["title"])[:2]
            found = data(
                await http.get("/app/v1_0/search", params={"q": word, "page": 1, "per_page": 10})
            )
            assert found["total_count"] > 0, found
            step(f"search {word!r}: {found['total_count']} results")
    finally:
        for client in sockets:
            await client.disconnect()
        await runner.cleanup()


def main() -> None:
    base, im1, im2, sms_port, database_url = sys.argv[1:6]
    asyncio.run(scenario(base, [im1, im2], int(sms_port), database_url))
    step("scenario passed")


if __name__ == "__main__":
    main()
