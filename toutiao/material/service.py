"""The image library: upload (checked, cleaned, de-duplicated), list, star, delete.

Images are checked and re-encoded on the image pool (never on the event loop), stored under
their content hash, and recorded once per user and hash: the same bytes uploaded again give
the existing item back, revived if it had been deleted.
"""

from __future__ import annotations

import logging
from typing import TypedDict

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.errors import BadRequest, NotFound
from toutiao.kit.images import WEB_FORMATS, CleanImage, ImageRules, InvalidImage
from toutiao.material import policy
from toutiao.material.repository import MaterialRepository
from toutiao.models import Material
from toutiao.models.base import local_now
from toutiao.models.enums import MaterialStatus, MaterialType
from toutiao.runtime import Runtime

log = logging.getLogger("toutiao.material")

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class MaterialNotFound(NotFound):
    message = "Image not found."


class UploadedImage(TypedDict):
    id: int
    url: str


class LibraryImage(TypedDict):
    id: int
    url: str
    is_collected: bool
    create_time: str


class LibraryPage(TypedDict):
    total_count: int
    results: list[LibraryImage]


def media_url(runtime: Runtime, stored: str) -> str:
    """Absolute URL of a stored key (rows imported from the original hold full URLs)."""
    return stored if "://" in stored else runtime.storage.url(stored)


def image_rules(runtime: Runtime) -> ImageRules:
    settings = runtime.settings
    side = settings.MP_IMAGE_MAX_SIDE
    return ImageRules(settings.MP_IMAGE_MAX_BYTES, side * side, side, WEB_FORMATS)


def _item(runtime: Runtime, row: Material) -> LibraryImage:
    return {
        "id": row.material_id,
        "url": media_url(runtime, row.url),
        "is_collected": bool(row.is_collected),
        "create_time": row.create_time.strftime(TIME_FORMAT),
    }


async def _prepare(runtime: Runtime, data: bytes) -> CleanImage:
    try:
        return await runtime.images.clean(data, image_rules(runtime))
    except InvalidImage as exc:
        raise BadRequest(exc.message) from exc


async def _record(
    runtime: Runtime, session: AsyncSession, user_id: int, image: CleanImage, key: str
) -> Material:
    repo = MaterialRepository.from_session(session)
    existing = await repo.by_hash(user_id, image.digest)
    if existing is None:
        row = Material(
            user_id=user_id,
            type=MaterialType.IMAGE,
            hash=image.digest,
            url=key,
            status=MaterialStatus.APPROVED,
            is_collected=False,
        )
        try:
            async with session.begin_nested():
                repo.add(row)
            return row
        except IntegrityError:  # the same bytes uploaded twice at once: use the winner
            existing = await repo.by_hash(user_id, image.digest)
            if existing is None:
                raise
    if not policy.is_listed(existing):
        existing.status = MaterialStatus.APPROVED
        existing.create_time = local_now()  # back at the top of the library
    existing.url = key
    return existing


async def upload(
    runtime: Runtime, session: AsyncSession, user_id: int, data: bytes
) -> UploadedImage:
    """Check the bytes, strip metadata, store under the content hash, record in the library."""
    await runtime.limiter.hit(runtime.settings.MP_IMAGE_UPLOAD_RATE, "mp:image", str(user_id))
    image = await _prepare(runtime, data)
    key = await runtime.storage.put(image.data, content_type=image.content_type, ext=image.ext)
    row = await _record(runtime, session, user_id, image, key)
    await session.flush()
    log.info("material.uploaded user_id=%s material_id=%s", user_id, row.material_id)
    return {"id": row.material_id, "url": media_url(runtime, key)}


async def list_images(
    runtime: Runtime,
    session: AsyncSession,
    user_id: int,
    *,
    starred_only: bool,
    offset: int,
    limit: int,
) -> LibraryPage:
    page = await MaterialRepository.from_session(session).page_of_images(
        user_id, starred_only=starred_only, offset=offset, limit=limit
    )
    return {"total_count": page.total, "results": [_item(runtime, row) for row in page.rows]}


async def _owned(session: AsyncSession, user_id: int, material_id: int) -> Material:
    row = await MaterialRepository.from_session(session).get(material_id, for_update=True)
    if row is None or not policy.can_manage(user_id, row):
        raise MaterialNotFound()
    return row


async def set_starred(
    session: AsyncSession, user_id: int, material_id: int, starred: bool
) -> Material:
    row = await _owned(session, user_id, material_id)
    row.is_collected = starred
    return row


async def delete(session: AsyncSession, user_id: int, material_id: int) -> None:
    """Soft delete: the file stays, articles may still show its URL. The star goes too, so a
    re-upload of the same bytes comes back unstarred."""
    row = await _owned(session, user_id, material_id)
    row.status = MaterialStatus.DELETED
    row.is_collected = False
    log.info("material.deleted user_id=%s material_id=%s", user_id, material_id)
