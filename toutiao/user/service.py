"""Sign-in, tokens and profiles of app users."""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.cache import invalidate
from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest, Forbidden, Unavailable
from toutiao.kit.images import ImageRules, InvalidImage, decode_base64_image
from toutiao.models import User, UserProfile
from toutiao.models.enums import UserStatus
from toutiao.runtime import Runtime
from toutiao.stats import counters
from toutiao.user import cache as user_cache
from toutiao.user.names import default_name
from toutiao.user.tokens import issue_token

log = logging.getLogger("toutiao.user")

USER_COUNTERS = (
    counters.USER_ARTICLES,
    counters.USER_FOLLOWINGS,
    counters.USER_FANS,
    counters.USER_LIKED,
)
IMAGE_FIELDS = ("photo", "id_card_front", "id_card_back", "id_card_handheld")


# -- sign-in ----------------------------------------------------------------------------


async def send_sms_code(runtime: Runtime, mobile: str, client_ip: str) -> None:
    settings = runtime.settings
    await runtime.limiter.hit(settings.SMS_RATE_PER_MOBILE, "sms:mobile", mobile)
    await runtime.limiter.hit(settings.SMS_RATE_PER_IP, "sms:ip", client_ip)
    code = f"{secrets.randbelow(1_000_000):06d}"
    key = user_cache.sms_code_key(mobile)
    await runtime.store.set(key, code, ex=settings.SMS_CODE_TTL)
    try:
        # Delivered by the task tier (retried with backoff), never inside this request.
        await runtime.tasks.send("sms.send_code", mobile, code)
    except Exception as exc:
        # Neither the broker nor the outbox took it: the code must not stay valid.
        await runtime.store.delete(key)
        log.exception("sms.enqueue_failed mobile=%s", mobile)
        raise Unavailable("SMS service unavailable, please try again later.") from exc


async def deliver_sms_code(runtime: Runtime, mobile: str, code: str) -> None:
    """The ``sms.send_code`` task: hand the code to the provider (raises to be retried)."""
    await runtime.sms.send_code(mobile, code)


async def _check_code(runtime: Runtime, mobile: str, code: str) -> bool:
    universal = runtime.settings.sms_universal_code
    # GETDEL: one attempt per code, and two parallel logins cannot both use it (§14.28).
    stored = await runtime.store.getdel(user_cache.sms_code_key(mobile))
    if universal and secrets.compare_digest(code, universal):
        return True
    return stored is not None and secrets.compare_digest(stored, code)


async def _find_or_register(runtime: Runtime, session: AsyncSession, mobile: str) -> User:
    user = await session.scalar(select(User).where(User.mobile == mobile))
    if user is not None:
        return user
    now = datetime.now()  # noqa: DTZ005 - the schema stores server-local naive times
    user_id = runtime.ids.next_id()
    user = User(user_id=user_id, mobile=mobile, user_name=default_name(user_id), last_login=now)
    session.add(user)
    session.add(UserProfile(user_id=user.user_id))
    try:
        await session.flush()
    except IntegrityError:
        # The same mobile registered in parallel, and the winner has committed (InnoDB makes a
        # duplicate INSERT wait for it). Start a new transaction: its snapshot sees the winner's
        # row, and it drops the shared lock the failed INSERT took on that row, which would
        # deadlock against the other losers when this login updates ``last_login``. Nothing else
        # was written in this transaction yet.
        await session.rollback()
        user = await session.scalar(select(User).where(User.mobile == mobile))
        if user is None:
            raise
    return user


async def login(
    runtime: Runtime,
    session: AsyncSession,
    mobile: str,
    code: str,
    client_ip: str,
    *,
    media: bool = False,
) -> dict[str, str]:
    """Sign in (registering the mobile on first use). ``media``: the self-media platform's
    login, which also marks the user as an author and is limited per mobile as well."""
    settings = runtime.settings
    await runtime.limiter.hit(settings.LOGIN_RATE_PER_IP, "login:ip", client_ip)
    if media:
        await runtime.limiter.hit(settings.MP_LOGIN_RATE_PER_MOBILE, "mp-login:mobile", mobile)
    if not await _check_code(runtime, mobile, code):
        raise BadRequest("Invalid code.")
    user = await _find_or_register(runtime, session, mobile)
    if user.status != UserStatus.ENABLED:
        await user_cache.set_status(runtime.cache, user.user_id, False)
        raise Forbidden("Invalid user.")
    user.last_login = datetime.now()  # noqa: DTZ005
    user_id = user.user_id
    if media and not user.is_media:
        await _become_author(runtime, session, user)
    on_commit(session, lambda: user_cache.set_status(runtime.cache, user_id, True))
    return {
        "token": issue_token(runtime.settings, user_id),
        "refresh_token": issue_token(runtime.settings, user_id, refresh=True),
    }


async def _become_author(runtime: Runtime, session: AsyncSession, user: User) -> None:
    """``is_media`` set, ``register_media_time`` stamped the first time (mp.md §3.1)."""
    user.is_media = True
    profile = await _profile_row(session, user.user_id)
    if profile.register_media_time is None:
        profile.register_media_time = datetime.now()  # noqa: DTZ005
    user_id = user.user_id
    on_commit(session, lambda: invalidate(runtime.cache, user_cache.profile_key(user_id)))


async def is_enabled(runtime: Runtime, user_id: int) -> bool:
    return await user_cache.is_enabled(runtime.cache, runtime.db.read_session, user_id)


async def exists(runtime: Runtime, user_id: int) -> bool:
    """Whether the account exists at all (disabled or not): tells 401 from 403."""
    status = await user_cache.status_of(runtime.cache, runtime.db.read_session, user_id)
    return status is not None


# -- reading users ----------------------------------------------------------------------


def photo_url(runtime: Runtime, key: str | None) -> str | None:
    return runtime.storage.url(key) if key else None


async def user_counts(
    runtime: Runtime, session: AsyncSession, user_ids: list[int]
) -> dict[int, dict[str, int]]:
    """Live counters from Redis (one round trip); from SQL when Redis is down."""
    try:
        return await counters.read_many(runtime.store, USER_COUNTERS, user_ids)
    except RedisError:
        log.warning("user.counts_degraded: reading counters from the database")
        from toutiao.stats.service import user_counts_from_db

        return await user_counts_from_db(session, user_ids)


async def user_card(runtime: Runtime, session: AsyncSession, user_id: int) -> dict[str, Any] | None:
    """Public info plus counters (E12, E17), or None when the user does not exist."""
    profile = await user_cache.get_profile(runtime.cache, session, user_id)
    if profile is None:
        return None
    counts = (await user_counts(runtime, session, [user_id]))[user_id]
    return {
        "id": user_id,
        "name": profile["name"],
        "photo": photo_url(runtime, profile["photo"]),
        "is_media": profile["is_media"],
        "intro": profile["intro"],
        "certi": profile["certi"],
        "art_count": counts[counters.USER_ARTICLES.key],
        "follow_count": counts[counters.USER_FOLLOWINGS.key],
        "fans_count": counts[counters.USER_FANS.key],
        "like_count": counts[counters.USER_LIKED.key],
    }


async def figure(runtime: Runtime, session: AsyncSession, user_id: int) -> dict[str, int]:
    try:
        scores = await counters.read_many(
            runtime.store, (counters.USER_FANS, counters.USER_READS), [user_id]
        )
    except RedisError:
        from toutiao.stats.service import user_counts_from_db

        fans = (await user_counts_from_db(session, [user_id]))[user_id][counters.USER_FANS.key]
        return {"fans_count": fans, "read_count": 0}
    mine = scores[user_id]
    return {"fans_count": mine[counters.USER_FANS.key], "read_count": mine[counters.USER_READS.key]}


async def my_profile(
    runtime: Runtime, session: AsyncSession, user_id: int
) -> dict[str, Any] | None:
    profile = await user_cache.get_profile(runtime.cache, session, user_id)
    if profile is None:
        return None
    extra = await user_cache.get_profilex(runtime.cache, session, user_id)
    return {
        "id": user_id,
        "name": profile["name"],
        "photo": photo_url(runtime, profile["photo"]),
        "mobile": profile["mobile"],
        "gender": extra["gender"],
        "birthday": extra["birthday"],
        "intro": profile["intro"],
    }


# -- writing profiles -------------------------------------------------------------------


async def store_image(runtime: Runtime, data: bytes) -> str:
    """Checked (fully decoded) on the image pool, never on the event loop, then stored."""
    settings = runtime.settings
    rules = ImageRules(settings.UPLOAD_MAX_BYTES, settings.IMAGE_MAX_PIXELS)
    try:
        info = await runtime.images.check(data, rules)
    except InvalidImage as exc:
        raise BadRequest(str(exc)) from exc
    return await runtime.storage.put(data, content_type=info.content_type, ext=info.ext)


async def _profile_row(session: AsyncSession, user_id: int) -> UserProfile:
    row = await session.get(UserProfile, user_id)
    if row is None:  # users imported without a profile row (§14.13) get one on first edit
        row = UserProfile(user_id=user_id)
        session.add(row)
    return row


async def update_profile(
    runtime: Runtime,
    session: AsyncSession,
    user_id: int,
    changes: dict[str, Any],
    images: dict[str, bytes],
) -> dict[str, Any]:
    """Apply the sent fields only; images are validated and stored before anything is written.

    Returns ``id`` plus exactly the updated fields, images as URLs (app.md E14, E15).
    """
    keys = {name: await store_image(runtime, data) for name, data in images.items()}
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise BadRequest("Invalid user.")
    result: dict[str, Any] = {"id": user_id}
    basic = {"name": "user_name", "intro": "introduction"}
    for field, column in basic.items():
        if field in changes:
            setattr(user, column, changes[field])
            result[field] = changes[field]
    if "photo" in keys:
        user.profile_photo = keys["photo"]
    extended = {k: v for k, v in changes.items() if k not in basic}
    card_keys = {k: v for k, v in keys.items() if k != "photo"}
    if extended or card_keys:
        row = await _profile_row(session, user_id)
        for field, value in {**extended, **card_keys}.items():
            setattr(row, field, value)
            result[field] = value.isoformat() if isinstance(value, date) else value
    for field, key in keys.items():
        result[field] = runtime.storage.url(key)
    stale = [user_cache.profile_key(user_id), user_cache.profilex_key(user_id)]
    on_commit(session, lambda: invalidate(runtime.cache, *stale))
    return result


def decode_image_fields(body: dict[str, Any], max_bytes: int) -> dict[str, bytes]:
    images = {}
    for name in IMAGE_FIELDS:
        value = body.pop(name, None)
        if value is None:
            continue
        try:
            images[name] = decode_base64_image(value, max_bytes=max_bytes)
        except InvalidImage as exc:
            raise BadRequest(f"{name}: {exc}") from exc
    return images
