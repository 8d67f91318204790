"""The image library (mp.md §3.12-3.15): list, upload, star, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Query, Response, UploadFile

from toutiao.api.deps import PrimaryReadSessionDep, RuntimeDep, SessionDep
from toutiao.api.limits import body_limit
from toutiao.api.mp.audit import audit
from toutiao.api.mp.deps import Author, WritingAuthor
from toutiao.api.mp.paging import ImagePaging
from toutiao.api.mp.schemas.image import LibraryPage, StarBody, Starred, UploadedImage
from toutiao.api.openapi import rate_limited
from toutiao.api.responses import Envelope, no_content, ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import QueryBool
from toutiao.kit.errors import BadRequest
from toutiao.material import service as material_service

router = GatedRouter()


@router.get("/v1_0/user/images", name="mp.images", response_model=Envelope[LibraryPage])
async def list_images(
    author: Author,
    runtime: RuntimeDep,
    session: PrimaryReadSessionDep,  # my own list, reloaded right after my own writes
    paging: ImagePaging,
    collect: Annotated[QueryBool, Query(description="true: starred only; false: all")] = False,
) -> dict[str, Any]:
    """My images, newest first; ``collect=true`` lists the starred ones only."""
    page = await material_service.list_images(
        runtime, session, author, starred_only=collect, offset=paging.offset, limit=paging.per_page
    )
    return ok(paging.body(list(page["results"]), page["total_count"]))


async def read_upload(upload: UploadFile, limit: int) -> bytes:
    """At most ``limit`` bytes are read: a larger file is refused without buffering it all."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise BadRequest(f"The image is larger than {limit} bytes.")
    return data


@router.post(
    "/v1_0/user/images",
    name="mp.image_upload",
    status_code=201,
    response_model=Envelope[UploadedImage],
    openapi_extra={**body_limit("images", 1), **rate_limited()},
)
async def upload_image(
    author: WritingAuthor,
    runtime: RuntimeDep,
    session: SessionDep,
    image: Annotated[UploadFile, File(description="JPEG, PNG, GIF or WebP")],
) -> dict[str, Any]:
    """Add an image to my library (the same bytes again give the same item)."""
    data = await read_upload(image, runtime.settings.MP_IMAGE_MAX_BYTES)
    uploaded = await material_service.upload(runtime, session, author, data)
    audit(session, author, "image.upload", image_id=uploaded["id"])
    return ok(uploaded)


@router.put(
    "/v1_0/user/images/{image_id:id}",
    name="mp.image_star",
    openapi_extra=rate_limited(),
    status_code=201,
    response_model=Envelope[Starred],
)
async def star_image(
    image_id: int, body: StarBody, author: WritingAuthor, session: SessionDep
) -> dict[str, Any]:
    """Star (``collect: true``) or unstar one of my images."""
    await material_service.set_starred(session, author, image_id, body.collect)
    audit(session, author, "image.star", image_id=image_id, collect=body.collect)
    return ok({"id": image_id, "collect": body.collect})


@router.delete(
    "/v1_0/user/images/{image_id:id}",
    name="mp.image_delete",
    openapi_extra=rate_limited(),
    status_code=204,
    response_class=Response,
)
async def delete_image(image_id: int, author: WritingAuthor, session: SessionDep) -> Response:
    """Remove one of my images from the library (its URL keeps working)."""
    await material_service.delete(session, author, image_id)
    audit(session, author, "image.delete", image_id=image_id)
    return no_content()
