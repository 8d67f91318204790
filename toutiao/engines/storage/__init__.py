"""Object storage for uploaded media, chosen by URL.

- ``file:///abs/path`` — a local folder; the web app serves it at ``media_prefix``.
- ``s3://bucket?endpoint=http://host:9000&region=...&access_key=...&secret_key=...`` — any
  S3-compatible service (MinIO, AWS, OSS, COS). Without ``access_key``/``secret_key`` boto3's
  usual chain applies (``AWS_ACCESS_KEY_ID``..., profiles, instance roles). Optional:
  ``addressing_style`` (path|virtual; default path when an endpoint is given),
  ``connect_timeout`` and ``read_timeout`` in seconds.

Keys are content-addressed (``sha256[:2]/sha256.ext``): storing the same bytes twice yields
one key and one object, so a retried upload is harmless.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from toutiao.config import Settings


class StorageError(Exception):
    """The backend failed (I/O, network, permissions); the API answers 507."""


class InvalidStorageKey(StorageError, ValueError):
    """A key that is malformed or would escape the storage root."""


@runtime_checkable
class Storage(Protocol):
    name: str

    async def put(self, data: bytes, *, content_type: str, ext: str) -> str: ...

    def url(self, key: str) -> str: ...

    def signed_url(self, key: str, expires_in: int) -> str:
        """A URL that stops working ``expires_in`` seconds from now where the backend can
        sign one (S3 presigned GET); the plain :meth:`url` where it cannot (a local folder
        served as static files)."""
        ...

    async def get(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


_EXT = re.compile(r"[a-z0-9]{1,10}")


def content_key(data: bytes, ext: str) -> str:
    ext = ext.lower().lstrip(".")
    if not _EXT.fullmatch(ext):
        raise InvalidStorageKey(f"invalid file extension {ext!r}")
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest}.{ext}"


def create_storage(
    url: str,
    *,
    public_url: str,
    media_prefix: str = "/media",
    storage_public_url: str = "",
) -> Storage:
    """``public_url`` is this server's base (local storage); ``storage_public_url`` the bucket's
    public base, e.g. a CDN (S3; default ``endpoint/bucket``)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        from toutiao.engines.storage.local import LocalStorage

        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ValueError(f"file storage needs an absolute path (file:///...), got {url!r}")
        return LocalStorage(
            Path(unquote(parts.path)), public_url=public_url, media_prefix=media_prefix
        )
    if parts.scheme == "s3":
        from toutiao.engines.storage.s3 import S3Storage

        if not parts.netloc:
            raise ValueError(f"s3 storage needs a bucket (s3://bucket?...), got {url!r}")
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        return S3Storage(
            parts.netloc,
            endpoint_url=query.get("endpoint"),
            region=query.get("region"),
            access_key=query.get("access_key"),
            secret_key=query.get("secret_key"),
            public_base_url=storage_public_url or None,
            addressing_style=query.get("addressing_style"),
            connect_timeout=float(query.get("connect_timeout", 3.0)),
            read_timeout=float(query.get("read_timeout", 10.0)),
        )
    raise ValueError(f"unsupported storage URL scheme {parts.scheme!r} (use file:// or s3://)")


def storage_from_settings(settings: Settings) -> Storage:
    return create_storage(
        settings.storage_url,
        public_url=settings.PUBLIC_URL,
        storage_public_url=settings.STORAGE_PUBLIC_URL,
    )


__all__ = [
    "InvalidStorageKey",
    "Storage",
    "StorageError",
    "content_key",
    "create_storage",
    "storage_from_settings",
]
