"""Verification requests (mis.md M28-M30): real name (type 1) and qualification (type 2).

Only pending requests (status 1) are decided. Approving a real-name request verifies the
user; approving a qualification makes them a self-media author with a certification text.
Rejecting stores the reason and changes no user flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from toutiao.kit.cache import invalidate
from toutiao.kit.db import on_commit
from toutiao.kit.errors import BadRequest, Conflict, NotFound
from toutiao.models import User, UserLegalizeLog, UserProfile, UserQualification
from toutiao.models.base import local_now
from toutiao.models.enums import LegalizeStatus, LegalizeType
from toutiao.runtime import Runtime
from toutiao.user import cache as user_cache
from toutiao.user import repository
from toutiao.user.directory import iso

DEFAULT_REJECT_REASON = "资料不通过，驳回"
CERTIFICATE_MAX = 30


class LegalizeOut(TypedDict):
    legalize_id: int
    user_id: int
    account: str | None
    name: str
    create_time: str | None
    update_time: str | None
    type: int
    status: int
    reject_reason: str | None


def legalize_out(row: UserLegalizeLog, account: str | None, name: str) -> LegalizeOut:
    return {
        "legalize_id": row.legalize_id,
        "user_id": row.user_id,
        "account": account,
        "name": name,
        "create_time": iso(row.create_time),
        "update_time": iso(row.update_time),
        "type": int(row.type),
        "status": int(row.status),
        "reject_reason": row.reject_reason,
    }


@dataclass(frozen=True)
class LegalizeQuery:
    status: int | None = None
    type: int | None = None
    user_id: int | None = None
    order_by: str | None = None  # "id": id ascending; None: last update first


async def list_legalizes(
    session: AsyncSession, query: LegalizeQuery, offset: int, limit: int
) -> tuple[list[LegalizeOut], int]:
    where: list[ColumnElement[bool]] = []
    if query.status is not None:
        where.append(UserLegalizeLog.status == LegalizeStatus(query.status))
    if query.type is not None:
        where.append(UserLegalizeLog.type == LegalizeType(query.type))
    if query.user_id is not None:
        where.append(UserLegalizeLog.user_id == query.user_id)
    order = (
        [UserLegalizeLog.legalize_id]
        if query.order_by == "id"
        else [UserLegalizeLog.update_time.desc(), UserLegalizeLog.legalize_id.desc()]
    )
    rows, total = await repository.paged(
        session, repository.legalizes_query(where), order, offset, limit
    )
    return [legalize_out(row[0], row[1], row[2]) for row in rows], total


def check_decidable(ids: list[int], rows: list[UserLegalizeLog]) -> None:
    found = {row.legalize_id for row in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise BadRequest(f"legalize_ids: unknown requests {', '.join(map(str, missing))}")
    for row in rows:
        if row.status != LegalizeStatus.PROCESSING:
            raise Conflict(f"Request {row.legalize_id} is not pending.")


async def _approve(session: AsyncSession, row: UserLegalizeLog) -> None:
    user = await session.get(User, row.user_id, with_for_update=True)
    if user is None:
        return
    if row.type == LegalizeType.REAL_NAME:
        user.is_verified = True
        return
    user.is_media = True
    profile = await session.get(UserProfile, row.user_id)
    if profile is not None and profile.register_media_time is None:
        profile.register_media_time = local_now()
    qualification = await repository.qualification(session, row.qualification_id)
    if qualification is not None:
        text = " ".join(p for p in (qualification.company, qualification.position) if p)
        user.certificate = text[:CERTIFICATE_MAX].strip() or user.certificate


async def decide(
    runtime: Runtime, session: AsyncSession, ids: list[int], approve: bool, reason: str | None
) -> int:
    """M29: all listed requests pending, or nothing changes (400 unknown, 409 not pending)."""
    rows = await repository.legalizes_for_update(session, ids)
    check_decidable(ids, rows)
    status = LegalizeStatus.APPROVED if approve else LegalizeStatus.REJECTED
    stored_reason = None if approve else (reason or DEFAULT_REJECT_REASON)
    changed = await repository.decide_legalizes(session, ids, status, stored_reason)
    if changed != len(ids):  # decided by someone else meanwhile
        raise Conflict("A listed request was decided meanwhile.")
    if approve:
        for row in rows:
            await _approve(session, row)
    stale = [user_cache.profile_key(user_id) for user_id in {row.user_id for row in rows}]
    on_commit(session, lambda: invalidate(runtime.cache, *stale))
    return changed


# Identity documents are shown through URLs that expire (signed where the storage can sign).
DOCUMENT_URL_SECONDS = 600


def _url(runtime: Runtime, key: str | None) -> str | None:
    return runtime.storage.signed_url(key, DOCUMENT_URL_SECONDS) if key else None


def _profile_part(runtime: Runtime, profile: UserProfile | None) -> dict[str, Any] | None:
    if profile is None:
        return None
    return {
        "user_id": profile.user_id,
        "gender": int(profile.gender),
        "birthday": profile.birthday.isoformat() if profile.birthday else "",
        "real_name": profile.real_name,
        "id_number": profile.id_number,
        "id_card_front": _url(runtime, profile.id_card_front),
        "id_card_back": _url(runtime, profile.id_card_back),
        "id_card_handheld": _url(runtime, profile.id_card_handheld),
        "area": profile.area,
        "company": profile.company,
        "career": profile.career,
    }


def _qualification_part(runtime: Runtime, row: UserQualification | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "qualification_id": row.qualification_id,
        "user_id": row.user_id,
        "name": row.name,
        "id_number": row.id_number,
        "industry": row.industry,
        "company": row.company,
        "position": row.position,
        "add_info": row.add_info,
        "id_card_front": _url(runtime, row.id_card_front),
        "id_card_back": _url(runtime, row.id_card_back),
        "id_card_handheld": _url(runtime, row.id_card_handheld),
        "qualification_img": _url(runtime, row.qualification_img),
    }


async def one(runtime: Runtime, session: AsyncSession, legalize_id: int) -> dict[str, Any]:
    """M30: the request with its documents (absolute URLs)."""
    rows, _ = await repository.paged(
        session,
        repository.legalizes_query([UserLegalizeLog.legalize_id == legalize_id]),
        [UserLegalizeLog.legalize_id],
        0,
        1,
    )
    if not rows:
        raise NotFound("Request not found.")
    row, account, name = rows[0]
    data: dict[str, Any] = dict(legalize_out(row, account, name))
    if row.type == LegalizeType.REAL_NAME:
        data["user_profile"] = _profile_part(runtime, await session.get(UserProfile, row.user_id))
    else:
        qualification = await repository.qualification(session, row.qualification_id)
        data["qualification"] = _qualification_part(runtime, qualification)
    return data
