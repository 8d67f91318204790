"""Image work off the event loop (ImagePool) and the re-encoding helpers."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest
from PIL import Image

from toutiao.kit.images import (
    ImagePool,
    ImageRules,
    ImagesBusy,
    InvalidImage,
    clean_image,
    square_avatar,
)

RULES = ImageRules(max_bytes=5 * 1024 * 1024, max_pixels=64_000_000, max_side=8000)


def with_exif(fmt: str, size: tuple[int, int] = (300, 200), orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (40.0, 1.0, 2.0)}  # GPS latitude
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


class TestPool:
    async def test_runs_on_a_worker_thread(self):
        pool = ImagePool(workers=1, max_waiting=0)
        try:
            name = await pool.run(lambda: threading.current_thread().name)
        finally:
            pool.close()
        assert name.startswith("toutiao-image")
        assert name != threading.current_thread().name

    async def test_refuses_beyond_the_waiting_bound_and_frees_slots(self):
        pool = ImagePool(workers=1, max_waiting=1)
        gate = threading.Event()
        try:
            first = asyncio.ensure_future(pool.run(gate.wait, 10))
            second = asyncio.ensure_future(pool.run(gate.wait, 10))
            await asyncio.sleep(0)
            assert pool.jobs == 2
            with pytest.raises(ImagesBusy) as caught:
                await pool.run(gate.wait, 10)
            assert caught.value.status_code == 503
            gate.set()
            assert await first is True
            assert await second is True
            assert pool.jobs == 0
            assert await pool.run(lambda: 7) == 7
        finally:
            gate.set()
            pool.close()

    async def test_a_cancelled_caller_keeps_its_slot_until_the_thread_is_done(self):
        pool = ImagePool(workers=1, max_waiting=0)
        gate, finished = threading.Event(), threading.Event()

        def job() -> None:
            gate.wait(10)
            finished.set()

        try:
            task = asyncio.ensure_future(pool.run(job))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            with pytest.raises(ImagesBusy):  # the thread still works on the job
                await pool.run(lambda: None)
            gate.set()
            await asyncio.to_thread(finished.wait, 10)
            for _ in range(100):
                if pool.jobs == 0:
                    break
                await asyncio.sleep(0.01)
            assert pool.jobs == 0
        finally:
            gate.set()
            pool.close()


class TestClean:
    @pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
    def test_exif_and_gps_removed(self, fmt):
        data = with_exif(fmt)
        assert b"SecretCamera" in data
        cleaned = clean_image(data, RULES)
        assert b"SecretCamera" not in cleaned.data
        with Image.open(io.BytesIO(cleaned.data)) as image:
            assert image.format == fmt
            assert dict(image.getexif()) == {}
            assert image.size == (300, 200)

    def test_same_bytes_same_digest(self):
        data = with_exif("JPEG")
        assert clean_image(data, RULES).digest == clean_image(data, RULES).digest

    def test_orientation_applied_to_the_pixels(self):
        cleaned = clean_image(with_exif("JPEG", orientation=6), RULES)
        assert (cleaned.width, cleaned.height) == (200, 300)

    def test_gif_kept_as_sent(self):
        out = io.BytesIO()
        Image.new("P", (10, 10)).save(out, format="GIF")
        assert clean_image(out.getvalue(), RULES).data == out.getvalue()

    def test_side_limit(self):
        out = io.BytesIO()
        Image.new("1", (8001, 10)).save(out, format="PNG")
        with pytest.raises(InvalidImage, match="8000"):
            clean_image(out.getvalue(), RULES)


class TestAvatar:
    def test_centre_square_at_most_the_side(self):
        out = io.BytesIO()
        Image.new("RGBA", (1000, 600), (0, 0, 0, 0)).save(out, format="PNG")
        avatar = square_avatar(out.getvalue(), RULES, 512)
        assert (avatar.width, avatar.height, avatar.content_type) == (512, 512, "image/png")

    def test_small_images_are_not_enlarged(self):
        avatar = square_avatar(with_exif("JPEG", (300, 200)), RULES, 512)
        assert (avatar.width, avatar.height, avatar.content_type) == (200, 200, "image/jpeg")
        assert b"SecretCamera" not in avatar.data
