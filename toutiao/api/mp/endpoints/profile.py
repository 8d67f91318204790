"""The author's own profile and avatar (mp.md §3.2-3.4)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, UploadFile

from toutiao.api.deps import PrimaryReadSessionDep, RuntimeDep, SessionDep
from toutiao.api.limits import body_limit
from toutiao.api.mp.audit import audit
from toutiao.api.mp.deps import Author, WritingAuthor
from toutiao.api.mp.endpoints.image import read_upload
from toutiao.api.mp.schemas.account import (
    AuthorProfile,
    AuthorProfileChange,
    AuthorProfileUpdated,
    AvatarChanged,
)
from toutiao.api.openapi import rate_limited
from toutiao.api.responses import Envelope, ok
from toutiao.api.routing import GatedRouter
from toutiao.user import profile as profile_service

router = GatedRouter()


@router.get("/v1_0/user/profile", name="mp.profile", response_model=Envelope[AuthorProfile])
async def get_profile(
    author: Author, runtime: RuntimeDep, session: PrimaryReadSessionDep
) -> dict[str, Any]:
    """My profile: name, photo, mobile, intro, e-mail (missing strings are "")."""
    return ok(await profile_service.author_profile(runtime, session, author))


@router.patch(
    "/v1_0/user/profile",
    name="mp.profile_update",
    openapi_extra=rate_limited(),
    status_code=201,
    response_model=Envelope[AuthorProfileUpdated],
)
async def update_profile(
    body: AuthorProfileChange, author: WritingAuthor, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Edit name (unique), intro and e-mail; "" clears intro or e-mail."""
    changes = body.changes()
    updated = await profile_service.update_author_profile(runtime, session, author, changes)
    audit(session, author, "profile.update", fields=",".join(sorted(changes)))
    return ok(updated)


@router.patch(
    "/v1_0/user/photo",
    name="mp.photo",
    status_code=201,
    response_model=Envelope[AvatarChanged],
    openapi_extra={**body_limit("images", 1), **rate_limited()},
)
async def change_photo(
    author: WritingAuthor,
    runtime: RuntimeDep,
    session: SessionDep,
    photo: Annotated[UploadFile, File(description="the avatar (any name; type from the bytes)")],
) -> dict[str, Any]:
    """Replace my avatar: cropped to a centred square of at most 512 x 512."""
    data = await read_upload(photo, runtime.settings.MP_IMAGE_MAX_BYTES)
    changed = await profile_service.change_avatar(runtime, session, author, data)
    audit(session, author, "profile.photo")
    return ok(changed)
