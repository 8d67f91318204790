"""The permission tree of mis.md §1.7, with ``checked`` for one group's grants."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TypedDict

from toutiao.models import Permission


class PermissionOut(TypedDict):
    permission_id: int
    name: str
    type: int
    parent_id: int
    code: str | None
    sequence: int


class TreeNode(PermissionOut):
    checked: int
    children: list[TreeNode]


def permission_out(row: Permission) -> PermissionOut:
    return {
        "permission_id": row.permission_id,
        "name": row.name,
        "type": int(row.type),
        "parent_id": int(row.parent_id),
        "code": row.code,
        "sequence": int(row.sequence),
    }


def build_tree(rows: Iterable[Permission], granted: set[int]) -> list[TreeNode]:
    """Every entry under its parent; siblings by sequence then id; orphans left out."""
    children: dict[int, list[Permission]] = defaultdict(list)
    for row in rows:
        children[int(row.parent_id)].append(row)
    for siblings in children.values():
        siblings.sort(key=lambda r: (r.sequence, r.permission_id))

    def nodes(parent_id: int, seen: frozenset[int]) -> list[TreeNode]:
        out: list[TreeNode] = []
        for row in children.get(parent_id, []):
            if row.permission_id in seen:  # a cycle written behind the API's back
                continue
            node: TreeNode = {
                **permission_out(row),
                "checked": int(row.permission_id in granted),
                "children": nodes(row.permission_id, seen | {row.permission_id}),
            }
            out.append(node)
        return out

    return nodes(0, frozenset())
