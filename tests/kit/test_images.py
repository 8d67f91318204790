from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import Iterator

import pytest
from PIL import Image, ImageFile, WebPImagePlugin

from toutiao.kit.images import InvalidImage, decode_base64_image, inspect_image

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000


def image_bytes(fmt: str, size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    image = Image.new(mode, size, "teal" if mode == "RGB" else 1)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A complete, valid 1-bit PNG whose pixels are all zero: tiny on disk, 400M pixels decoded.

    Written chunk by chunk because Pillow would need the full canvas in memory to save it.
    """
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    idat = b"".join(compressor.compress(row * 500) for _ in range(height // 500))
    idat += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if any pixel data is decoded (recorded, since the code under test
    turns every decoding exception into InvalidImage)."""
    calls: list[str] = []

    def spy(self: ImageFile.ImageFile) -> None:
        calls.append(type(self).__name__)
        raise OSError("decoding is not allowed in this test")

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "load", spy)
    yield
    assert calls == [], "pixels were decoded before the size check"


class TestValidImages:
    @pytest.mark.parametrize(
        ("fmt", "content_type", "ext"),
        [
            ("PNG", "image/png", "png"),
            ("JPEG", "image/jpeg", "jpg"),
            ("GIF", "image/gif", "gif"),
            ("WEBP", "image/webp", "webp"),
            ("BMP", "image/bmp", "bmp"),
        ],
    )
    def test_accepted_with_type(self, fmt: str, content_type: str, ext: str) -> None:
        info = inspect_image(image_bytes(fmt), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
        assert (info.format, info.content_type, info.ext) == (fmt, content_type, ext)
        assert (info.width, info.height) == (64, 48)

    def test_large_jpeg_is_accepted(self) -> None:
        info = inspect_image(
            image_bytes("JPEG", (2000, 1500)), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS
        )
        assert (info.width, info.height) == (2000, 1500)


class TestRefused:
    def test_empty(self) -> None:
        with pytest.raises(InvalidImage, match="empty"):
            inspect_image(b"", max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)

    def test_text_file_named_png(self) -> None:
        data = b"hello, I am definitely a picture\n" * 10
        with pytest.raises(InvalidImage, match="not an image"):
            inspect_image(data, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)

    def test_unsupported_format(self) -> None:
        with pytest.raises(InvalidImage, match="Unsupported image format TIFF"):
            inspect_image(image_bytes("TIFF"), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)

    def test_magic_bytes_alone_are_not_enough(self) -> None:
        with pytest.raises(InvalidImage, match="not a valid PNG"):
            inspect_image(
                b"\x89PNG\r\n\x1a\n" + b"junk" * 20, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS
            )

    @pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
    def test_truncated(self, fmt: str) -> None:
        data = image_bytes(fmt, (300, 200), "RGB")
        if fmt in ("PNG", "JPEG"):  # noise so the payload is not a few bytes of solid colour
            noisy = Image.effect_noise((300, 200), 64).convert("RGB")
            out = io.BytesIO()
            noisy.save(out, format=fmt)
            data = out.getvalue()
        with pytest.raises(InvalidImage):
            inspect_image(data[: len(data) * 2 // 3], max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)

    def test_corrupt_png_checksum(self) -> None:
        data = bytearray(image_bytes("PNG"))
        idat = data.index(b"IDAT")
        data[idat + 6] ^= 0xFF
        with pytest.raises(InvalidImage, match="truncated or corrupt"):
            inspect_image(bytes(data), max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)

    def test_over_max_bytes(self) -> None:
        data = image_bytes("PNG")
        with pytest.raises(InvalidImage, match="larger than"):
            inspect_image(data, max_bytes=len(data) - 1, max_pixels=MAX_PIXELS)
        assert inspect_image(data, max_bytes=len(data), max_pixels=MAX_PIXELS).width == 64


class TestDecompressionBomb:
    @pytest.mark.parametrize("pillow_limit", ["default", "disabled"])
    def test_bomb_refused_before_decoding(
        self, pillow_limit: str, no_decoding: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        if pillow_limit == "disabled":  # our own check must hold without Pillow's
            monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
        bomb = png_bomb()
        assert len(bomb) < 100_000
        with pytest.raises(InvalidImage, match="too large"):
            inspect_image(bomb, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)

    def test_own_pixel_limit_below_pillows(self, no_decoding: None) -> None:
        image = Image.new("P", (3000, 2000))
        out = io.BytesIO()
        image.save(out, format="PNG", optimize=True)
        with pytest.raises(InvalidImage, match=r"3000x2000.*1000000 pixels"):
            inspect_image(out.getvalue(), max_bytes=MAX_BYTES, max_pixels=1_000_000)

    @pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP", "JPEG"])
    def test_pixel_limit_for_every_format(self, fmt: str, no_decoding: None) -> None:
        with pytest.raises(InvalidImage, match="too large"):
            inspect_image(image_bytes(fmt, (100, 100)), max_bytes=MAX_BYTES, max_pixels=9_999)


class TestBase64:
    def test_raw_base64(self) -> None:
        data = image_bytes("PNG")
        assert decode_base64_image(base64.b64encode(data).decode(), max_bytes=MAX_BYTES) == data

    def test_data_uri_with_whitespace(self) -> None:
        data = image_bytes("JPEG")
        encoded = base64.b64encode(data).decode()
        wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
        value = f"  data:image/jpeg;base64,{wrapped}\n"
        assert decode_base64_image(value, max_bytes=MAX_BYTES) == data

    def test_missing_padding_tolerated(self) -> None:
        data = b"\x89PNG\r\n\x1a\nx"
        encoded = base64.b64encode(data).decode().rstrip("=")
        assert decode_base64_image(encoded, max_bytes=MAX_BYTES) == data

    @pytest.mark.parametrize(
        "value",
        ["", "   ", "not base64 at all!", "abcde", "data:image/png;base64,@@@@", "ab=c"],
    )
    def test_bad_base64(self, value: str) -> None:
        with pytest.raises(InvalidImage):
            decode_base64_image(value, max_bytes=MAX_BYTES)

    @pytest.mark.parametrize("value", ["data:text/plain;base64,aGVsbG8=", "data:image/png,rawdata"])
    def test_other_data_uris_refused(self, value: str) -> None:
        with pytest.raises(InvalidImage, match="data:image"):
            decode_base64_image(value, max_bytes=MAX_BYTES)

    def test_size_refused_before_decoding(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def refuse(*args: object, **kwargs: object) -> bytes:
            raise AssertionError("decoded an oversized payload")

        monkeypatch.setattr(base64, "b64decode", refuse)
        with pytest.raises(InvalidImage, match="larger than 1000 bytes"):
            decode_base64_image("A" * 1340, max_bytes=1000)

    def test_exact_limit_is_accepted(self) -> None:
        data = bytes(range(256)) * 4  # 1024 bytes
        assert decode_base64_image(base64.b64encode(data).decode(), max_bytes=1024) == data
        with pytest.raises(InvalidImage, match="larger than"):
            decode_base64_image(base64.b64encode(data).decode(), max_bytes=1023)

    def test_decoded_bytes_then_inspected(self) -> None:
        data = image_bytes("GIF")
        raw = decode_base64_image(
            "data:image/gif;base64," + base64.b64encode(data).decode(), max_bytes=MAX_BYTES
        )
        assert (
            inspect_image(raw, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS).content_type
            == "image/gif"
        )
