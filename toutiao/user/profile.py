"""An author's own profile on the self-media platform (mp.md §3.2-3.4, §6.3).

Names are unique among users here (the app does not require it); the avatar is re-encoded to
a centred square of at most ``MP_AVATAR_SIDE`` pixels, on the image pool.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.cache import invalidate
from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest, Unauthorized
from toutiao.kit.images import WEB_FORMATS, ImageRules, InvalidImage
from toutiao.models import User, UserProfile
from toutiao.runtime import Runtime
from toutiao.user import cache as user_cache

log = logging.getLogger("toutiao.user")


class AuthorProfile(TypedDict):
    id: int
    name: str
    photo: str
    mobile: str
    intro: str
    email: str
    gender: int
    birthday: str | None


class AuthorProfileChanges(TypedDict, total=False):
    name: str
    intro: str
    email: str


class AuthorProfileUpdated(TypedDict):
    id: int
    name: str
    intro: str
    email: str


class AvatarChanged(TypedDict):
    id: int
    photo: str


class NameTaken(BadRequest):
    message = "User name has existed."


def _url(runtime: Runtime, key: str | None) -> str:
    if not key:
        return ""
    return key if "://" in key else runtime.storage.url(key)


async def _user(session: AsyncSession, user_id: int, *, for_update: bool = False) -> User:
    user = await session.get(User, user_id, with_for_update=for_update)
    if user is None:  # deleted since the token was issued
        raise Unauthorized("User must be authorized.")
    return user


async def author_profile(runtime: Runtime, session: AsyncSession, user_id: int) -> AuthorProfile:
    """Read from the database: the author's own screen, after their own edits."""
    user = await _user(session, user_id)
    extra = await session.get(UserProfile, user_id)
    birthday: date | None = extra.birthday if extra else None
    return {
        "id": user_id,
        "name": user.user_name,
        "photo": _url(runtime, user.profile_photo),
        "mobile": user.mobile,
        "intro": user.introduction or "",
        "email": user.email or "",
        "gender": int(extra.gender) if extra else 0,
        "birthday": birthday.isoformat() if birthday else None,
    }


async def _refuse_taken_name(session: AsyncSession, user_id: int, name: str) -> None:
    taken = await session.scalar(
        select(User.user_id).where(User.user_name == name, User.user_id != user_id).limit(1)
    )
    if taken is not None:
        raise NameTaken()


def _forget(runtime: Runtime, session: AsyncSession, user_id: int) -> None:
    """The cached profile feeds the app's author cards and comment authors too."""
    stale = [user_cache.profile_key(user_id), user_cache.profilex_key(user_id)]
    on_commit(session, lambda: invalidate(runtime.cache, *stale))


async def update_author_profile(
    runtime: Runtime, session: AsyncSession, user_id: int, changes: AuthorProfileChanges
) -> AuthorProfileUpdated:
    """Fields absent from ``changes`` stay; ``""`` clears the intro or the e-mail."""
    user = await _user(session, user_id, for_update=True)
    if "name" in changes and changes["name"] != user.user_name:
        await _refuse_taken_name(session, user_id, changes["name"])
        user.user_name = changes["name"]
    if "intro" in changes:
        user.introduction = changes["intro"] or None
    if "email" in changes:
        user.email = changes["email"] or None
    _forget(runtime, session, user_id)
    return {
        "id": user_id,
        "name": user.user_name,
        "intro": user.introduction or "",
        "email": user.email or "",
    }


async def change_avatar(
    runtime: Runtime, session: AsyncSession, user_id: int, data: bytes
) -> AvatarChanged:
    settings = runtime.settings
    side = settings.MP_IMAGE_MAX_SIDE
    rules = ImageRules(settings.MP_IMAGE_MAX_BYTES, side * side, side, WEB_FORMATS)
    try:
        avatar = await runtime.images.avatar(data, rules, settings.MP_AVATAR_SIDE)
    except InvalidImage as exc:
        raise BadRequest(exc.message) from exc
    key = await runtime.storage.put(avatar.data, content_type=avatar.content_type, ext=avatar.ext)
    user = await _user(session, user_id, for_update=True)
    user.profile_photo = key
    _forget(runtime, session, user_id)
    return {"id": user_id, "photo": _url(runtime, key)}
