"""Staff sign-in and the order of checks every /mis request goes through (mis.md §1.6).

The checks, first failure wins: no or bad token 401; refresh token used as access token
403; account gone 401; token older than the last password change 401; account disabled
403; group disabled (or gone) 403; permission code not granted 403.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit import passwords
from toutiao.kit.errors import Forbidden, TooManyRequests, Unauthorized
from toutiao.models.base import local_now
from toutiao.models.enums import StaffStatus
from toutiao.runtime import Runtime
from toutiao.staff import captcha, repository
from toutiao.staff.tokens import StaffClaims, issue_pair, verify_token
from toutiao.staff.tree import TreeNode, build_tree

BAD_CREDENTIALS = "Wrong account or password."
# Compared against when the account does not exist, so both failures cost the same time.
_DUMMY_HASH = passwords.hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Staff:
    """The authenticated staff member of a request."""

    administrator_id: int
    account: str
    name: str
    group_id: int
    password_version: int


def password_version(changed_at: datetime | None) -> int:
    return int(changed_at.timestamp()) if changed_at else 0


def next_password_change(previous: datetime | None) -> datetime:
    """Whole seconds (MariaDB DATETIME), strictly later than the last change, so that the
    version of every token issued before this change differs from the new one."""
    now = local_now()
    if previous is not None and now <= previous:
        return previous + timedelta(seconds=1)
    return now


async def authorize(
    session: AsyncSession, claims: StaffClaims | None, code: str | None, *, refresh: bool = False
) -> Staff:
    """Apply the order of checks; ``code`` None means "any valid login".

    With ``refresh`` (M03) the token must be a refresh token and every failure is a 403.
    """
    if refresh:
        if claims is None or not claims.refresh:
            raise Forbidden("Wrong refresh token.")
    elif claims is None:
        raise Unauthorized("Staff must be authorized.")
    elif claims.refresh:
        raise Forbidden("Refresh token can not be used here.")
    caller = await repository.load_caller(session, claims.administrator_id, code)
    if caller is None:
        raise Forbidden("Wrong refresh token.") if refresh else Unauthorized("Account not found.")
    if password_version(caller.password_changed_at) != claims.password_version:
        if refresh:
            raise Forbidden("Wrong refresh token.")
        raise Unauthorized("Token expired by a password change.")
    if caller.status != StaffStatus.ENABLED:
        raise Forbidden("Account disabled.")
    if caller.group_status != StaffStatus.ENABLED:
        raise Forbidden("Group disabled.")
    if not caller.granted:
        raise Forbidden("Permission denied.")
    return Staff(
        caller.administrator_id,
        caller.account,
        caller.name,
        caller.group_id,
        claims.password_version,
    )


def claims_of(runtime: Runtime, token: str | None) -> StaffClaims | None:
    return verify_token(runtime.settings, token) if token else None


# -- login ----------------------------------------------------------------------------------


def _failures_key(account: str) -> str:
    # one hash tag for both keys: _count_failure sets one and deletes the other in a MULTI
    return f"mis:login:{{{account.lower()}}}:fail"


def _lock_key(account: str) -> str:
    return f"mis:login:{{{account.lower()}}}:lock"


async def _check_throttle(runtime: Runtime, account: str, client_ip: str) -> None:
    await runtime.limiter.hit(runtime.settings.MIS_LOGIN_RATE_PER_IP, "mis:login:ip", client_ip)
    if await runtime.store.exists(_lock_key(account)):
        raise TooManyRequests()


async def _count_failure(runtime: Runtime, account: str) -> None:
    settings = runtime.settings
    async with runtime.store.pipeline(transaction=True) as pipe:
        # the window starts at the first failure (SET NX EX; INCR keeps the TTL)
        pipe.set(_failures_key(account), 0, ex=settings.MIS_LOGIN_LOCK_SECONDS, nx=True)
        pipe.incr(_failures_key(account))
        _, failures = await pipe.execute()
    if int(failures) >= settings.MIS_LOGIN_MAX_FAILURES:
        async with runtime.store.pipeline(transaction=True) as pipe:
            pipe.set(_lock_key(account), "1", ex=settings.MIS_LOGIN_LOCK_SECONDS)
            pipe.delete(_failures_key(account))
            await pipe.execute()


@dataclass(frozen=True)
class LoginResult:
    token: str
    refresh_token: str
    administrator_id: int
    group_id: int
    name: str
    permission_tree: list[TreeNode]


async def login(
    runtime: Runtime,
    session: AsyncSession,
    account: str,
    password: str,
    client_ip: str,
    captcha_answer: tuple[str | None, str | None, str | None] = (None, None, None),
) -> LoginResult:
    """Check throttles, credentials, account and group; count the login. The caller writes
    the operation-log row into the same session."""
    await _check_throttle(runtime, account, client_ip)
    await captcha.check(runtime, account, *captcha_answer)
    admin = await repository.account_by_name(session, account, for_update=True)
    if admin is None:
        passwords.verify_password(_DUMMY_HASH, password)
        await _count_failure(runtime, account)
        raise Forbidden(BAD_CREDENTIALS)
    if not passwords.verify_password(admin.password, password):
        await _count_failure(runtime, account)
        raise Forbidden(BAD_CREDENTIALS)
    await runtime.store.delete(_failures_key(account))
    if admin.status != StaffStatus.ENABLED:
        raise Forbidden("Account disabled.")
    if await repository.group_status(session, admin.group_id) != StaffStatus.ENABLED:
        raise Forbidden("Group disabled.")
    if passwords.needs_upgrade(admin.password):
        admin.password = passwords.hash_password(password)
    await repository.record_login(session, admin.administrator_id, local_now())
    tokens = issue_pair(
        runtime.settings, admin.administrator_id, password_version(admin.password_changed_at)
    )
    return LoginResult(
        token=tokens["token"],
        refresh_token=tokens["refresh_token"],
        administrator_id=admin.administrator_id,
        group_id=admin.group_id,
        name=admin.name,
        permission_tree=await permission_tree(session, admin.group_id),
    )


async def permission_tree(session: AsyncSession, group_id: int) -> list[TreeNode]:
    rows = await repository.all_permissions(session)
    return build_tree(rows, await repository.granted_ids(session, group_id))
