from __future__ import annotations

import asyncio
import socket
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from moto.server import ThreadedMotoServer

from toutiao.engines.storage import (
    InvalidStorageKey,
    Storage,
    StorageError,
    content_key,
    create_storage,
)
from toutiao.engines.storage.local import LocalStorage
from toutiao.engines.storage.s3 import S3Storage

PNG = b"\x89PNG\r\n\x1a\n" + b"pretend pixels" * 10
CREDENTIALS = "access_key=testing&secret_key=testing&region=us-east-1"


class TestContentKey:
    def test_sharded_sha256(self) -> None:
        key = content_key(PNG, ".PNG")
        digest = key.split("/")[1].removesuffix(".png")
        assert key == f"{digest[:2]}/{digest}.png"
        assert len(digest) == 64

    @pytest.mark.parametrize("ext", ["", "../png", "p/ng", "a" * 11])
    def test_bad_extension(self, ext: str) -> None:
        with pytest.raises(InvalidStorageKey):
            content_key(PNG, ext)


class TestCreateStorage:
    def test_file_url(self, tmp_path: Path) -> None:
        storage = create_storage(f"file://{tmp_path}/media", public_url="http://h:8000/")
        assert isinstance(storage, LocalStorage)
        assert storage.root == (tmp_path / "media").resolve()
        assert storage.root.is_dir()
        assert storage.name == "file"
        assert isinstance(storage, Storage)

    @pytest.mark.parametrize("url", ["file://relative/path", "ftp://x/y", "s3://", "media"])
    def test_bad_urls(self, url: str) -> None:
        with pytest.raises(ValueError, match="storage"):
            create_storage(url, public_url="http://h")

    def test_s3_url(self) -> None:
        storage = create_storage(
            f"s3://pics?endpoint=http://127.0.0.1:9/&{CREDENTIALS}", public_url="http://h"
        )
        assert isinstance(storage, S3Storage)
        assert storage.bucket == "pics"
        assert storage.url("ab/abc.png") == "http://127.0.0.1:9/pics/ab/abc.png"

    def test_s3_public_url(self) -> None:
        storage = create_storage(
            f"s3://pics?endpoint=http://127.0.0.1:9&{CREDENTIALS}",
            public_url="http://h",
            storage_public_url="https://cdn.example.com/",
        )
        assert storage.url("ab/abc.png") == "https://cdn.example.com/ab/abc.png"


class TestLocalStorage:
    @pytest.fixture
    def storage(self, tmp_path: Path) -> LocalStorage:
        return LocalStorage(
            tmp_path / "media", public_url="http://testserver:8000/", media_prefix="media/"
        )

    async def test_put_get_url_delete(self, storage: LocalStorage) -> None:
        key = await storage.put(PNG, content_type="image/png", ext="png")
        assert key == content_key(PNG, "png")
        assert (storage.root / key).read_bytes() == PNG
        assert await storage.get(key) == PNG
        assert storage.url(key) == f"http://testserver:8000/media/{key}"
        # static files cannot check a signature or an expiry: the plain URL
        assert storage.signed_url(key, 600) == storage.url(key)
        await storage.delete(key)
        assert await storage.get(key) is None
        await storage.delete(key)  # deleting twice is fine

    async def test_same_bytes_same_key(self, storage: LocalStorage) -> None:
        first = await storage.put(PNG, content_type="image/png", ext="png")
        second = await storage.put(PNG, content_type="image/png", ext="png")
        other = await storage.put(PNG + b"!", content_type="image/png", ext="png")
        assert first == second != other
        files = [p for p in storage.root.rglob("*") if p.is_file()]
        assert len(files) == 2  # and no temp files left behind

    async def test_concurrent_puts(self, storage: LocalStorage) -> None:
        blobs = [PNG + bytes([i]) for i in range(20)] * 2
        keys = await asyncio.gather(
            *(storage.put(b, content_type="image/png", ext="png") for b in blobs)
        )
        assert len(set(keys)) == 20
        for key, blob in zip(keys, blobs, strict=True):
            assert await storage.get(key) == blob

    @pytest.mark.parametrize(
        "key",
        [
            "../outside.png",
            "ab/../../outside.png",
            "/etc/passwd",
            "",
            ".",
            "ab/..",
            "a\\b",
            "a\x00b",
        ],
    )
    async def test_traversal_refused(self, storage: LocalStorage, key: str) -> None:
        (storage.root.parent / "outside.png").write_bytes(b"secret")
        with pytest.raises(InvalidStorageKey):
            await storage.get(key)
        with pytest.raises(InvalidStorageKey):
            await storage.delete(key)
        assert (storage.root.parent / "outside.png").exists()

    async def test_symlink_escape_refused(self, storage: LocalStorage, tmp_path: Path) -> None:
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / "x.png").write_bytes(b"secret")
        (storage.root / "ln").symlink_to(tmp_path / "elsewhere")
        with pytest.raises(InvalidStorageKey):
            await storage.get("ln/x.png")

    async def test_ping(self, storage: LocalStorage) -> None:
        assert await storage.ping() is True
        storage.root.rmdir()
        assert await storage.ping() is False

    async def test_write_failure_is_storage_error(self, storage: LocalStorage) -> None:
        key = content_key(PNG, "png")
        (storage.root / key.split("/")[0]).write_bytes(b"a file where the shard folder goes")
        with pytest.raises(StorageError):
            await storage.put(PNG, content_type="image/png", ext="png")


# -- S3 against a real S3-compatible HTTP server (moto in server mode) ---------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
async def s3(s3_endpoint: str) -> AsyncIterator[S3Storage]:
    storage = create_storage(
        f"s3://toutiao-media?endpoint={s3_endpoint}&{CREDENTIALS}", public_url="http://h"
    )
    assert isinstance(storage, S3Storage)
    await storage.ensure_bucket()
    yield storage
    await storage.close()


def fetch(url: str) -> tuple[bytes, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read(), response.headers["Content-Type"]


class TestS3Storage:
    async def test_put_get_url_delete(self, s3: S3Storage) -> None:
        key = await s3.put(PNG, content_type="image/png", ext="png")
        assert key == content_key(PNG, "png")
        assert await s3.get(key) == PNG
        body, content_type = await asyncio.to_thread(fetch, s3.url(key))
        assert body == PNG
        assert content_type == "image/png"
        await s3.delete(key)
        assert await s3.get(key) is None

    async def test_signed_url_is_a_presigned_get_with_its_expiry(self, s3: S3Storage) -> None:
        """moto serves objects without checking signatures, so what is checked here is the
        URL's form (SigV4 query, the asked expiry, issued now) and that it reads the object;
        S3 and MinIO refuse such a URL once ``X-Amz-Date + X-Amz-Expires`` has passed."""
        key = await s3.put(PNG + b"signed", content_type="image/png", ext="png")
        url = s3.signed_url(key, 600)
        query = parse_qs(urlsplit(url).query)
        assert urlsplit(url).path == f"/toutiao-media/{key}"
        assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
        assert query["X-Amz-Expires"] == ["600"] and len(query["X-Amz-Signature"][0]) == 64
        issued = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        assert abs((datetime.now(UTC) - issued).total_seconds()) < 60
        body, _ = await asyncio.to_thread(fetch, url)
        assert body == PNG + b"signed"
        assert parse_qs(urlsplit(s3.signed_url(key, 30)).query)["X-Amz-Expires"] == ["30"]

    async def test_same_bytes_same_key(self, s3: S3Storage) -> None:
        first = await s3.put(PNG + b"1", content_type="image/png", ext="png")
        second = await s3.put(PNG + b"1", content_type="image/png", ext="png")
        assert first == second
        assert await s3.get(first) == PNG + b"1"

    async def test_missing_key(self, s3: S3Storage) -> None:
        assert await s3.get("00/" + "0" * 64 + ".png") is None

    async def test_ensure_bucket_is_idempotent(self, s3: S3Storage) -> None:
        await s3.ensure_bucket()
        assert await s3.ping() is True

    async def test_ping_missing_bucket(self, s3_endpoint: str) -> None:
        storage = S3Storage(
            "no-such-bucket",
            endpoint_url=s3_endpoint,
            access_key="t",
            secret_key="t",
            region="us-east-1",
        )
        assert await storage.ping() is False
        with pytest.raises(StorageError):
            await storage.put(PNG, content_type="image/png", ext="png")
        await storage.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections and never answers: exercises the read timeout."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield int(sock.getsockname()[1])
    sock.close()


def dead_storage(port: int) -> S3Storage:
    return S3Storage(
        "pics",
        endpoint_url=f"http://127.0.0.1:{port}",
        access_key="t",
        secret_key="t",
        region="us-east-1",
        connect_timeout=0.3,
        read_timeout=0.3,
    )


class TestS3DeadEndpoint:
    """Not a speed test: the bound only proves the calls cannot hang."""

    async def test_connection_refused(self) -> None:
        storage = dead_storage(_closed_port())
        started = time.monotonic()
        with pytest.raises(StorageError):
            await storage.put(PNG, content_type="image/png", ext="png")
        with pytest.raises(StorageError):
            await storage.get("ab/abc.png")
        with pytest.raises(StorageError):
            await storage.delete("ab/abc.png")
        assert await storage.ping() is False
        assert time.monotonic() - started < 30  # 4 calls x 4 attempts, each refused at once
        await storage.close()

    async def test_no_answer(self, silent_server: int) -> None:
        storage = dead_storage(silent_server)
        started = time.monotonic()
        with pytest.raises(StorageError, match="timeout"):
            await storage.get("ab/abc.png")
        # 4 attempts x 0.3 s plus at most 7 s of jittered backoff
        assert time.monotonic() - started < 15
        await storage.close()
