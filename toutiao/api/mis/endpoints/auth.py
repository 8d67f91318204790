"""Sign-in and one's own account (mis.md M01-M06)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import Field

from toutiao.api.deps import ClientIpDep, RuntimeDep, SessionDep
from toutiao.api.mis.deps import Audit, AuditDep, CurrentStaff
from toutiao.api.mis.routing import LOGIN_ONLY, PUBLIC, REFRESH, StaffRoute, requires
from toutiao.api.mis.schemas import Body, Email, Mobile, NonEmpty, StaffName
from toutiao.api.openapi import rate_limited
from toutiao.api.responses import ok
from toutiao.api.routing import GatedRouter
from toutiao.staff import accounts, audit, captcha
from toutiao.staff import auth as staff_auth
from toutiao.staff.tokens import issue_token

router = GatedRouter(route_class=StaffRoute)


@router.get("/v1_0/captchas/{account}", name="mis.captcha", openapi_extra=rate_limited())
@requires(PUBLIC)
async def start_captcha(
    account: str, runtime: RuntimeDep, client_ip: ClientIpDep
) -> dict[str, Any]:
    """M01: start a login captcha; with captchas off (the default) it says so."""
    await runtime.limiter.hit(runtime.settings.MIS_CAPTCHA_RATE_PER_IP, "mis:captcha", client_ip)
    return ok(await captcha.start(runtime, account, client_ip))


class LoginBody(Body):
    account: NonEmpty
    password: NonEmpty
    # GeeTest answer fields, read only when captchas are on
    challenge: str | None = None
    validate_: str | None = Field(None, alias="validate")
    seccode: str | None = None


@router.post(
    "/v1_0/authorizations", name="mis.login", status_code=201, openapi_extra=rate_limited()
)
@requires(PUBLIC)
async def login(
    body: LoginBody,
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    client_ip: ClientIpDep,
) -> dict[str, Any]:
    """M02: account + password; tokens and the group's permission tree."""
    answer = (body.challenge, body.validate_, body.seccode)
    result = await staff_auth.login(
        runtime, session, body.account, body.password, client_ip, answer
    )
    actor = audit.Actor(result.administrator_id, client_ip)
    Audit(request, session, actor).log("login", f"login of account {body.account}")
    return ok(
        {
            "token": result.token,
            "refresh_token": result.refresh_token,
            "administrator_id": result.administrator_id,
            "group_id": result.group_id,
            "name": result.name,
            "permission_tree": result.permission_tree,
        }
    )


@router.put("/v1_0/authorizations", name="mis.refresh", status_code=201)
@requires(REFRESH, audited=False)
async def refresh(staff: CurrentStaff, runtime: RuntimeDep) -> dict[str, Any]:
    """M03: a new access token for a valid refresh token."""
    token = issue_token(runtime.settings, staff.administrator_id, staff.password_version)
    return ok({"token": token})


class PasswordBody(Body):
    old_password: NonEmpty
    password: NonEmpty


@router.put("/v1_0/password", name="mis.password", status_code=201)
@requires(LOGIN_ONLY)
async def change_password(
    body: PasswordBody, staff: CurrentStaff, runtime: RuntimeDep, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M04: change one's own password; older tokens stop working, a fresh pair comes back."""
    tokens = await accounts.change_own_password(
        runtime, session, staff.administrator_id, body.old_password, body.password
    )
    log.log("password.change", f"password change of administrator {staff.administrator_id}")
    return ok(tokens)


@router.get("/v1_0/profile", name="mis.profile")
@requires(LOGIN_ONLY)
async def get_profile(staff: CurrentStaff, session: SessionDep) -> dict[str, Any]:
    """M05: one's own account and permission tree."""
    data: dict[str, Any] = dict(await accounts.one(session, staff.administrator_id))
    data["permission_tree"] = await staff_auth.permission_tree(session, staff.group_id)
    return ok(data)


class ProfileBody(Body):
    name: StaffName | None = None
    email: Email | None = None
    mobile: Mobile | None = None


@router.patch("/v1_0/profile", name="mis.profile_update", status_code=201)
@requires(LOGIN_ONLY)
async def update_profile(
    body: ProfileBody, staff: CurrentStaff, session: SessionDep, log: AuditDep
) -> dict[str, Any]:
    """M06: edit one's own name, email, mobile (only the fields sent)."""
    changes = body.sent()
    if "name" in changes and changes["name"] is None:
        changes.pop("name")
    updated = await accounts.update_profile(session, staff.administrator_id, changes)
    fields = ", ".join(sorted(changes)) or "nothing"
    log.log("profile.update", f"profile of administrator {staff.administrator_id}: {fields}")
    return ok(updated)
