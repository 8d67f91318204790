"""Local-folder storage, the embedded default. The web app mounts ``root`` at ``media_prefix``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path
from urllib.parse import quote

from toutiao.engines.storage import InvalidStorageKey, StorageError, content_key


class LocalStorage:
    name = "file"

    def __init__(self, root: Path, *, public_url: str, media_prefix: str = "/media") -> None:
        self.root = root.expanduser().resolve()
        self.media_prefix = "/" + media_prefix.strip("/")
        self._base_url = public_url.rstrip("/") + self.media_prefix
        try:
            # Created up front: a static-files mount refuses a missing directory at startup.
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create media folder {self.root}: {exc}") from exc

    def _path(self, key: str) -> Path:
        if not key or "\\" in key or "\x00" in key or key.startswith("/"):
            raise InvalidStorageKey(f"invalid storage key {key!r}")
        path = (self.root / key).resolve()
        if path == self.root or not path.is_relative_to(self.root):
            raise InvalidStorageKey(f"storage key {key!r} escapes the media folder")
        return path

    def url(self, key: str) -> str:
        return f"{self._base_url}/{quote(key, safe='/')}"

    def signed_url(self, key: str, expires_in: int) -> str:
        """A local folder served as static files cannot enforce an expiry: the plain URL."""
        return self.url(key)

    async def put(self, data: bytes, *, content_type: str, ext: str) -> str:
        key = content_key(data, ext)
        path = self._path(key)
        try:
            await asyncio.to_thread(_write_once, path, data)
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc}") from exc
        return key

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    async def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {exc}") from exc

    async def ping(self) -> bool:
        return await asyncio.to_thread(_is_writable_dir, self.root)

    async def close(self) -> None:
        return None


def _write_once(path: Path, data: bytes) -> None:
    """Write via a temp file and os.replace, so a reader never sees a half-written file."""
    with contextlib.suppress(OSError):
        if path.stat().st_size == len(data):
            return  # content-addressed: same key and size means same bytes
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a front web server must be able to read it
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _is_writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)
