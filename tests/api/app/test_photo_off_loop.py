"""Image decoding runs off the event loop: other requests keep answering meanwhile.

Ordering, not timing: the decode itself records when it starts and ends, the other requests
record when they are answered. Had the decode run on the event loop, nothing else could be
answered between its start and its end.
"""

from __future__ import annotations

import asyncio
import io
import threading

from PIL import Image

from toutiao.kit import images

HUGE_SIDE = 6300  # 39.7 M pixels: just under the app's pixel limit, about 130 KB as a PNG


def huge_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (HUGE_SIDE, HUGE_SIDE), "white").save(out, format="PNG")
    return out.getvalue()


async def _upload(client, headers, data: bytes):
    files = {"photo": ("blob", data, "image/png")}
    return await client.patch("/app/v1_0/user/photo", files=files, headers=headers)


async def test_requests_answered_while_a_decode_is_held(client, factory, monkeypatch):
    """The decode waits until five other requests were answered: on the event loop it could
    not (the loop would be stuck in the decode), so the order would come out reversed."""
    events: list[str] = []
    started, release = threading.Event(), threading.Event()
    real = images.check_image

    def held(data: bytes, rules: images.ImageRules) -> images.ImageInfo:
        events.append("decode-start")
        started.set()
        release.wait(timeout=15)
        events.append("decode-end")
        return real(data, rules)

    monkeypatch.setattr(images, "check_image", held)
    user = await factory.user()
    await factory.channels(["html"])
    upload = asyncio.create_task(_upload(client, factory.headers(user.user_id), huge_png()))
    assert await asyncio.to_thread(started.wait, 15)
    for _ in range(5):
        assert (await client.get("/app/v1_0/channels")).status_code == 200
        events.append("answered")
    release.set()
    response = await upload
    assert response.status_code == 200, response.text
    assert events == ["decode-start", *["answered"] * 5, "decode-end"]


async def test_large_images_do_not_stall_other_requests(client, factory, monkeypatch):
    """Four real 6300 x 6300 PNGs at once: requests are answered while decodes are running,
    and no more decodes run at once than the pool has threads."""
    events: list[str] = []
    lock = threading.Lock()
    running = {"now": 0, "most": 0}
    real = images.check_image

    def recorded(data: bytes, rules: images.ImageRules) -> images.ImageInfo:
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
            events.append("decode-start")
        try:
            return real(data, rules)
        finally:
            with lock:
                running["now"] -= 1
                events.append("decode-end")

    monkeypatch.setattr(images, "check_image", recorded)
    users = [await factory.user() for _ in range(4)]
    await factory.channels(["html"])
    data = huge_png()
    uploads = [
        asyncio.create_task(_upload(client, factory.headers(u.user_id), data)) for u in users
    ]
    while not all(task.done() for task in uploads):
        assert (await client.get("/app/v1_0/channels")).status_code == 200
        with lock:
            events.append("answered" if running["now"] else "answered-idle")
        # A warm request can complete without ever suspending (everything cached in-process);
        # over a socket it would wait for the network: give the uploads their turn.
        await asyncio.sleep(0)
    assert [(await task).status_code for task in uploads] == [200] * 4
    assert events.count("decode-start") == 4
    assert "answered" in events, events  # answered while at least one decode was running
    assert running["most"] <= factory.runtime.settings.image_workers
