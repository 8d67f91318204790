"""Who may do what to staff accounts and groups (mis.md M09, M11, M12, M16)."""

from __future__ import annotations

from collections.abc import Collection

from toutiao.kit.errors import BadRequest
from toutiao.models.enums import StaffStatus


def check_may_delete(caller_id: int, target_ids: Collection[int]) -> None:
    """Nobody deletes their own account (that would lock them out mid-session)."""
    if caller_id in target_ids:
        raise BadRequest("You can not delete your own account.")


def check_may_update(caller_id: int, target_id: int, fields: Collection[str]) -> None:
    """One's own status and group are changed by someone else, never by oneself."""
    if caller_id == target_id and ({"status", "group_id"} & set(fields)):
        raise BadRequest("You can not change your own status or group.")


def needs_current_password(caller_id: int, target_id: int, fields: Collection[str]) -> bool:
    return caller_id == target_id and "password" in fields


def check_group_change(caller_group_id: int, group_id: int, new_status: int | None) -> None:
    """Nobody disables the group they belong to."""
    if caller_group_id == group_id and new_status == StaffStatus.DISABLED:
        raise BadRequest("You can not disable your own group.")
