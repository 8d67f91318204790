"""The staff's view of app users (mis.md M24, M25, M27): list, create, one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit import passwords
from toutiao.kit.errors import Conflict, NotFound
from toutiao.kit.like import any_contains
from toutiao.models import User, UserProfile
from toutiao.models.base import local_now
from toutiao.models.enums import Gender, UserStatus
from toutiao.runtime import Runtime
from toutiao.stats import counters
from toutiao.user import repository
from toutiao.user.service import photo_url, store_image, user_counts


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


class UserOut(TypedDict):
    user_id: int
    account: str | None
    name: str
    email: str | None
    mobile: str
    last_login: str | None
    is_verified: int
    is_media: int
    status: int


def user_out(user: User) -> UserOut:
    return {
        "user_id": user.user_id,
        "account": user.account,
        "name": user.user_name,
        "email": user.email,
        "mobile": user.mobile,
        "last_login": iso(user.last_login),
        "is_verified": int(bool(user.is_verified)),
        "is_media": int(bool(user.is_media)),
        "status": int(user.status),
    }


@dataclass(frozen=True)
class UserQuery:
    keyword: str | None = None
    begin: datetime | None = None
    end: datetime | None = None
    status: int | None = None
    is_media: int | None = None
    is_verified: int | None = None
    order_by: str | None = None  # "id"; "last_login" or None: most recently active first


async def list_users(
    session: AsyncSession, query: UserQuery, offset: int, limit: int
) -> tuple[list[UserOut], int]:
    where: list[ColumnElement[bool]] = []
    if query.keyword:
        where.append(any_contains([User.mobile, User.account, User.user_name], query.keyword))
    if query.begin is not None:
        where.append(User.last_login >= query.begin)
    if query.end is not None:
        where.append(User.last_login <= query.end)
    if query.status is not None:
        where.append(User.status == UserStatus(query.status))
    if query.is_media is not None:
        where.append(User.is_media == bool(query.is_media))
    if query.is_verified is not None:
        where.append(User.is_verified == bool(query.is_verified))
    if query.order_by == "id":
        order = [User.user_id]
    else:  # never logged in last, on SQLite and MariaDB alike
        order = [User.last_login.is_(None), User.last_login.desc(), User.user_id.desc()]
    rows, total = await repository.paged(
        session, repository.users_query(where), order, offset, limit
    )
    return [user_out(row[0]) for row in rows], total


async def create(
    runtime: Runtime, session: AsyncSession, fields: dict[str, Any], photo: bytes | None
) -> UserOut:
    """M25: ``user_basic`` and ``user_profile`` in one transaction; 409 when the account,
    mobile or name is taken. The avatar is stored first (507 when storage fails)."""
    for column, field, label in (
        (User.account, "account", "Account"),
        (User.mobile, "mobile", "Mobile"),
        (User.user_name, "name", "Name"),
    ):
        if await repository.taken(session, column, fields[field]):
            raise Conflict(f"{label} already exists.")
    key = await store_image(runtime, photo) if photo is not None else None
    user = User(
        user_id=runtime.ids.next_id(),
        account=fields["account"],
        password=passwords.hash_password(fields["password"]),
        user_name=fields["name"],
        mobile=fields["mobile"],
        email=fields.get("email"),
        introduction=fields.get("introduction"),
        profile_photo=key,
        last_login=local_now(),
        status=UserStatus.ENABLED,
    )
    profile = UserProfile(
        user_id=user.user_id,
        gender=Gender(fields["gender"]),
        area=fields.get("area"),
        company=fields.get("company"),
        career=fields.get("career"),
    )
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
            session.add(profile)
    except IntegrityError as exc:  # a parallel request took the mobile or account
        raise Conflict("Account or mobile already exists.") from exc
    return user_out(user)


async def one(runtime: Runtime, session: AsyncSession, user_id: int) -> dict[str, Any]:
    """M27: the User object, profile fields and the live counters of E12."""
    found = await repository.user_with_profile(session, user_id)
    if found is None:
        raise NotFound("User not found.")
    user, profile = found
    counts = (await user_counts(runtime, session, [user_id]))[user_id]
    return {
        **user_out(user),
        "photo": photo_url(runtime, user.profile_photo),
        "intro": user.introduction,
        "certificate": user.certificate,
        "gender": int(profile.gender) if profile else 0,
        "birthday": profile.birthday.isoformat() if profile and profile.birthday else None,
        "real_name": profile.real_name if profile else None,
        "area": profile.area if profile else None,
        "company": profile.company if profile else None,
        "career": profile.career if profile else None,
        "create_time": iso(profile.create_time if profile else None),
        "art_count": counts[counters.USER_ARTICLES.key],
        "follow_count": counts[counters.USER_FOLLOWINGS.key],
        "fans_count": counts[counters.USER_FANS.key],
        "like_count": counts[counters.USER_LIKED.key],
    }
