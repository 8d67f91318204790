"""App users seen by staff (mis.md M24-M27)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import AfterValidator

from toutiao.api.deps import RuntimeDep, SessionDep
from toutiao.api.mis.deps import AuditDep
from toutiao.api.mis.params import Flag, IdList, PagingDep, check_order, check_range
from toutiao.api.mis.routing import StaffRoute, requires
from toutiao.api.mis.schemas import Account, Body, NonEmpty
from toutiao.api.responses import ok
from toutiao.api.routing import GatedRouter
from toutiao.api.types import MOBILE_RE
from toutiao.kit import passwords
from toutiao.kit.errors import BadRequest
from toutiao.kit.images import InvalidImage, decode_base64_image
from toutiao.models.enums import UserStatus
from toutiao.staff.audit import ids_text
from toutiao.user import directory, freeze

router = GatedRouter(route_class=StaffRoute)


@router.get("/v1_0/users", name="mis.users")
@requires("userlist-get")
async def list_users(
    session: SessionDep,
    paging: PagingDep,
    keyword: Annotated[str | None, Query(max_length=50)] = None,
    begin: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
    status: Annotated[Flag | None, Query()] = None,
    order_by: Annotated[str | None, Query()] = None,
    is_media: Annotated[Flag | None, Query()] = None,
    is_verified: Annotated[Flag | None, Query()] = None,
) -> dict[str, Any]:
    """M24: list app users (most recently active first; never logged in last)."""
    low, high = check_range(begin, end)
    order = check_order(order_by, {"id", "last_login"})
    query = directory.UserQuery(keyword, low, high, status, is_media, is_verified, order)
    items, total = await directory.list_users(session, query, paging.offset, paging.per_page)
    return ok(paging.body("users", items, total))


def _limit(size: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > size:
            raise ValueError(f"at most {size} characters")
        return value

    return AfterValidator(check)


def _user_name(value: str) -> str:
    if not 1 <= len(value) <= 7 or not value.strip():
        raise ValueError("1-7 characters")
    return value


def _mobile(value: str) -> str:
    if not MOBILE_RE.match(value):
        raise ValueError("a mainland mobile number")
    return value


def _user_email(value: str) -> str:
    if len(value) > 20 or "@" not in value.strip("@"):
        raise ValueError("an email address of at most 20 characters")
    return value


class NewUser(Body):
    account: Account
    password: NonEmpty
    name: Annotated[str, AfterValidator(_user_name)]
    mobile: Annotated[str, AfterValidator(_mobile)]
    gender: Flag
    profile_photo: str | None = None
    introduction: Annotated[str, _limit(50)] | None = None
    email: Annotated[str, AfterValidator(_user_email)] | None = None
    area: Annotated[str, _limit(20)] | None = None
    company: Annotated[str, _limit(20)] | None = None
    career: Annotated[str, _limit(20)] | None = None


@router.post("/v1_0/users", name="mis.user_create", status_code=201)
@requires("userlist-post")
async def create_user(
    body: NewUser, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M25: create an app user who can sign in to the app at once with the mobile."""
    if not passwords.meets_policy(body.password):
        raise BadRequest(
            "password: 8-64 characters without spaces, with at least one letter and one digit"
        )
    photo = None
    if body.profile_photo:
        try:
            photo = decode_base64_image(
                body.profile_photo, max_bytes=runtime.settings.UPLOAD_MAX_BYTES
            )
        except InvalidImage as exc:
            raise BadRequest(f"profile_photo: {exc}") from exc
    fields = body.model_dump(exclude={"profile_photo"})
    created = await directory.create(runtime, session, fields, photo)
    log.log("user.create", f"create user {created['user_id']} mobile {created['mobile']}")
    return ok(created)


class StatusChange(Body):
    user_ids: IdList
    status: Flag


@router.put("/v1_0/users", name="mis.users_status", status_code=201)
@requires("userlist-put")
async def change_status(
    body: StatusChange, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M26: freeze (0) or unfreeze (1) users; a frozen user is refused at once everywhere."""
    status = UserStatus(body.status)
    count = await freeze.set_users_status(runtime, session, body.user_ids, status)
    operation = "user.unfreeze" if status == UserStatus.ENABLED else "user.freeze"
    verb = operation.removeprefix("user.")
    log.log(operation, f"{verb} users {ids_text(body.user_ids)}")
    return ok({"count": count})


@router.get("/v1_0/users/{target:id}", name="mis.user")
@requires("user-get")
async def get_user(target: int, runtime: RuntimeDep, session: SessionDep) -> dict[str, Any]:
    """M27: one app user with profile fields and live counters."""
    return ok(await directory.one(runtime, session, target))
