"""The built-in permission tree (mis.md §1.7): console menus and the codes endpoints check.

``toutiao admin create`` (and demo start-up) seeds it; menus are matched by name and
permission points by code, so seeding twice changes nothing and a renamed point keeps its
identity. Permission points are named after their code, which is unique.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Menu:
    name: str
    sequence: int
    code: str | None = None
    points: tuple[str, ...] = ()
    children: tuple[Menu, ...] = field(default=())


def _crud(prefix: str, *, list_name: str | None = None) -> tuple[str, ...]:
    base = list_name or f"{prefix}-list"
    return (f"{base}-get", f"{base}-post", f"{prefix}-get", f"{prefix}-put", f"{prefix}-delete")


TREE: tuple[Menu, ...] = (
    Menu("首页", 1, "/home", ("statistics-dashboard-get",)),
    Menu(
        "用户管理",
        2,
        children=(
            Menu(
                "用户列表",
                1,
                "/home/user",
                ("userlist-get", "userlist-post", "userlist-put", "user-get"),
            ),
            Menu(
                "用户审核",
                2,
                "/home/userAudit",
                ("legalize-list-get", "legalize-list-put", "legalize-get"),
            ),
        ),
    ),
    Menu(
        "信息管理",
        3,
        children=(
            Menu(
                "频道管理",
                1,
                "/home/channels",
                (
                    "channel-list-get",
                    "channel-list-post",
                    "channel-list-put",
                    "channel-list-delete",
                    "channel-top-get",
                    "channel-top-put",
                ),
            ),
            Menu("内容管理", 2, "/home/contents", ("article-list-get", "article-get")),
            Menu("内容审核", 3, "/home/contentAudit", ("article-list-put",)),
            Menu("评论管理", 4, "/home/comments", ("comment-list-get", "comment-list-put")),
            Menu("举报处理", 5, "/home/reports", ("report-list-get", "report-list-put")),
            Menu(
                "公告管理",
                6,
                "/home/announcements",
                (*_crud("announcement"), "announcement-status-put"),
            ),
        ),
    ),
    Menu(
        "数据统计",
        4,
        children=(
            Menu(
                "网站统计",
                1,
                "/home/websiteStatistics",
                (
                    "statistics-basic-get",
                    "statistics-search-get",
                    "statistics-search-total-get",
                    "statistics-sales-total-get",
                    "statistics-read-source-total-get",
                ),
            ),
            Menu("内容统计", 2, "/home/contentStatistics"),
        ),
    ),
    Menu(
        "系统管理",
        5,
        children=(
            Menu("管理员管理", 1, "/home/admins", _crud("administrator")),
            Menu("角色管理", 2, "/home/role", _crud("group")),
            Menu("权限管理", 3, "/home/power", _crud("permission")),
            Menu("运营日志", 4, "/home/operationLog", ("operationlog-get",)),
            Menu("个人信息", 5, "/home/perInfo"),
            Menu("修改密码", 6, "/home/reSetPWD"),
        ),
    ),
    Menu(
        "推荐系统",
        6,
        children=(Menu("敏感词设置", 1, "/home/sensitiveSet", _crud("sensitive-word")),),
    ),
)

SUPER_GROUP = "超级管理员"


def all_codes(menus: tuple[Menu, ...] = TREE) -> list[str]:
    codes: list[str] = []
    for menu in menus:
        codes.extend(menu.points)
        codes.extend(all_codes(menu.children))
    return codes


ALL_CODES: frozenset[str] = frozenset(all_codes())
