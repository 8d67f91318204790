"""S3-compatible storage (MinIO, AWS S3, OSS, COS) through boto3.

boto3 is blocking, so every call runs in a worker thread; a boto3 client (unlike a session)
is safe to share between threads. Timeouts and retries are bounded so a dead endpoint turns
into a StorageError (507) within seconds instead of hanging the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from toutiao.engines.storage import InvalidStorageKey, StorageError, content_key

log = logging.getLogger("toutiao.storage")

T = TypeVar("T")

_MISSING = {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or "\x00" in key or ".." in key.split("/"):
        raise InvalidStorageKey(f"invalid storage key {key!r}")
    return key


class S3Storage:
    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        public_base_url: str | None = None,
        addressing_style: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
    ) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self._public_base_url = public_base_url.rstrip("/") if public_base_url else None
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": 3, "mode": "standard"},  # 3 retries after the first try
            s3={"addressing_style": addressing_style or ("path" if endpoint_url else "auto")},
            signature_version="s3v4",
            # Newer boto3 adds CRC checksums to every upload, which several S3-compatible
            # services reject; only send them where the API requires one.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=region or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            config=config,
        )
        self.region = self._client.meta.region_name or "us-east-1"

    async def _call(self, action: str, func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(func, *args, **kwargs)
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StorageError(f"s3 {action} failed: {exc}") from exc

    def url(self, key: str) -> str:
        path = quote(key, safe="/")
        if self._public_base_url:
            return f"{self._public_base_url}/{path}"
        if self.endpoint_url:
            return f"{self.endpoint_url}/{self.bucket}/{path}"
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com/{path}"

    def signed_url(self, key: str, expires_in: int) -> str:
        """A presigned GET (SigV4, computed locally, no request) valid ``expires_in`` seconds,
        on the endpoint itself: a public base URL (CDN) cannot check the signature."""
        url: str = self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": _check_key(key)},
            ExpiresIn=expires_in,
        )
        return url

    async def put(self, data: bytes, *, content_type: str, ext: str) -> str:
        key = content_key(data, ext)
        await self._call(
            "put",
            self._client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            # Content-addressed keys never change content, so caches may keep them forever.
            CacheControl="public, max-age=31536000, immutable",
        )
        return key

    async def get(self, key: str) -> bytes | None:
        return await self._call("get", self._get_sync, _check_key(key))

    def _get_sync(self, key: str) -> bytes | None:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return None
            raise
        with contextlib.closing(response["Body"]) as body:
            data: bytes = body.read()
        return data

    async def delete(self, key: str) -> None:
        await self._call(
            "delete", self._client.delete_object, Bucket=self.bucket, Key=_check_key(key)
        )

    async def ping(self) -> bool:
        try:
            await self._call("ping", self._client.head_bucket, Bucket=self.bucket)
        except StorageError as exc:
            log.warning("storage.ping_failed: %s", exc)
            return False
        return True

    async def ensure_bucket(self, *, public_read: bool = True) -> None:
        """Create the bucket if it does not exist (startup, tests, local MinIO).

        ``url()`` hands out plain object URLs, so a bucket created here gets a policy letting
        anyone read objects (not list them). An existing bucket is left as its owner set it.
        """
        await self._call("ensure_bucket", self._ensure_bucket_sync, public_read)

    def _ensure_bucket_sync(self, public_read: bool) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in _MISSING:
                raise
        options: dict[str, Any] = {}
        if self.region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._client.create_bucket(Bucket=self.bucket, **options)
        except ClientError as exc:
            if _error_code(exc) != "BucketAlreadyOwnedByYou":
                raise
            return
        if public_read:
            try:
                self._client.put_bucket_policy(
                    Bucket=self.bucket, Policy=self._public_read_policy()
                )
            except ClientError as exc:  # e.g. AWS "Block Public Access" is on
                log.warning(
                    "storage.public_read_refused: bucket %s is private (%s); serve it through "
                    "STORAGE_PUBLIC_URL or grant read access",
                    self.bucket,
                    _error_code(exc),
                )

    def _public_read_policy(self) -> str:
        statement = {
            "Sid": "PublicReadObjects",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{self.bucket}/*"],
        }
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    async def close(self) -> None:
        self._client.close()
