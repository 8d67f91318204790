"""Who may touch a library image. Every surface asks here (mp today, mis later)."""

from __future__ import annotations

from toutiao.models import Material
from toutiao.models.enums import MaterialStatus


def is_listed(material: Material) -> bool:
    """Deleted images leave the library; the file stays, articles may still show it."""
    return material.status != MaterialStatus.DELETED


def can_manage(user_id: int, material: Material) -> bool:
    """Only the owner stars or deletes an image; anyone else is told it does not exist."""
    return material.user_id == user_id and is_listed(material)
