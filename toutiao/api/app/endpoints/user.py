"""Users: my info, profile, photos, statistics, another user's card (app.md E12-E17)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, UploadFile

from toutiao.api.app.deps import CurrentUser, OptionalUser
from toutiao.api.app.schemas.user import (
    Figure,
    MyProfile,
    OtherUserCard,
    ProfileUpdate,
    ProfileUpdated,
    UserCard,
)
from toutiao.api.deps import ReadSessionDep, RuntimeDep, SessionDep
from toutiao.api.limits import body_limit
from toutiao.api.responses import Envelope, ok
from toutiao.api.routing import GatedRouter
from toutiao.kit.errors import BadRequest, Unauthorized
from toutiao.models.enums import Relation
from toutiao.relation.service import relations_of
from toutiao.user import service as user_service

router = GatedRouter()

PhotoFile = Annotated[UploadFile | None, File(description="image file")]


@router.get("/v1_0/user", name="user.currentuser", response_model=Envelope[UserCard])
async def get_me(
    user_id: CurrentUser, runtime: RuntimeDep, session: ReadSessionDep
) -> dict[str, Any]:
    """My own info and counters."""
    card = await user_service.user_card(runtime, session, user_id)
    if card is None:
        raise Unauthorized("User must be authorized.")
    return ok(card)


@router.get("/v1_0/user/profile", name="user.profile", response_model=Envelope[MyProfile])
async def get_my_profile(
    user_id: CurrentUser, runtime: RuntimeDep, session: ReadSessionDep
) -> dict[str, Any]:
    """My personal profile (mobile, gender, birthday)."""
    profile = await user_service.my_profile(runtime, session, user_id)
    if profile is None:
        raise Unauthorized("User must be authorized.")
    return ok(profile)


@router.patch(
    "/v1_0/user/profile",
    name="user.profile_update",
    response_model=Envelope[ProfileUpdated],
    openapi_extra=body_limit("images", len(user_service.IMAGE_FIELDS)),
)
async def update_my_profile(
    body: ProfileUpdate, user_id: CurrentUser, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Edit the fields sent (images as base64); returns id plus the updated fields."""
    changes = body.changes()
    images = user_service.decode_image_fields(changes, runtime.settings.UPLOAD_MAX_BYTES)
    return ok(await user_service.update_profile(runtime, session, user_id, changes, images))


async def _read_upload(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise BadRequest(
            f"{upload.filename or 'file'}: image is larger than {limit // (1024 * 1024)} MiB"
        )
    return data


@router.patch(
    "/v1_0/user/photo",
    name="user.photo",
    response_model=Envelope[ProfileUpdated],
    openapi_extra=body_limit("images", len(user_service.IMAGE_FIELDS)),
)
async def upload_photos(
    user_id: CurrentUser,
    runtime: RuntimeDep,
    session: SessionDep,
    photo: PhotoFile = None,
    id_card_front: PhotoFile = None,
    id_card_back: PhotoFile = None,
    id_card_handheld: PhotoFile = None,
) -> dict[str, Any]:
    """Upload avatar or ID-card photos (multipart files)."""
    files = {
        "photo": photo,
        "id_card_front": id_card_front,
        "id_card_back": id_card_back,
        "id_card_handheld": id_card_handheld,
    }
    limit = runtime.settings.UPLOAD_MAX_BYTES
    images = {name: await _read_upload(f, limit) for name, f in files.items() if f is not None}
    return ok(await user_service.update_profile(runtime, session, user_id, {}, images))


@router.get("/v1_0/user/figure", name="user.figure", response_model=Envelope[Figure])
async def get_figure(
    user_id: CurrentUser, runtime: RuntimeDep, session: ReadSessionDep
) -> dict[str, Any]:
    """My statistics: fans and reads of my articles."""
    return ok(await user_service.figure(runtime, session, user_id))


@router.get("/v1_0/users/{target:id}", name="user.user", response_model=Envelope[OtherUserCard])
async def get_user(
    target: int, user_id: OptionalUser, runtime: RuntimeDep, session: ReadSessionDep
) -> dict[str, Any]:
    """Another user's public info, with my follow / blacklist status."""
    card: dict[str, Any] | None = await user_service.user_card(runtime, session, target)
    if card is None:
        raise BadRequest("Invalid target user.")
    relation = (
        (await relations_of(runtime, session, user_id, [target]))[target]
        if user_id
        else Relation.NONE
    )
    card["is_following"] = relation == Relation.FOLLOW
    card["is_blacklist"] = relation == Relation.BLACKLIST
    return ok(card)
