"""Initial schema: every table of toutiao.models.

Table and column names are the original Toutiao backend's; the deviations (added
timestamps, widened columns, new columns and keys) are listed in toutiao/models/__init__.py.
Written by hand, with the naming convention of toutiao.models.base spelled out, so the
script stays valid whatever the models become later.

Revision ID: 0001_initial_schema
Revises:
Create Date: 2026-11-21 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001_initial_schema"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MYSQL_OPTIONS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}
# Surrogate keys: INTEGER on SQLite so the column aliases the rowid and autoincrements.
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LONGTEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
MEDIUMTEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

USER = "user_basic.user_id"
ARTICLE = "news_article_basic.article_id"
COMMENT = "news_comment.comment_id"
CHANNEL = "news_channel.channel_id"
GROUP = "mis_administrator_group.group_id"

# Every table, in creation order (parents before children).
# fmt: off
TABLES = [
    "user_basic", "user_profile", "user_search", "user_qualification", "user_legalize_log",
    "user_relation", "user_material",
    "news_channel", "news_user_channel", "news_article_basic", "news_article_content",
    "news_article_statistic", "global_announcement",
    "news_collection", "news_attitude", "news_report", "news_comment", "news_comment_liking",
    "mis_administrator_group", "mis_permission", "mis_administrator", "mis_group_permission",
    "mis_operation_log",
    "statistics_basic", "statistics_search", "statistics_search_total", "statistics_sales_total",
    "statistics_read_source_total", "recommend_sensitive_word",
]
# fmt: on


def auto_pk(name: str) -> sa.Column:
    return sa.Column(name, AUTO_ID, autoincrement=True, nullable=False)


def snowflake_pk(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger(), autoincrement=False, nullable=False)


def ref(
    name: str, type_: sa.types.TypeEngine = sa.BigInteger(), nullable: bool = False
) -> sa.Column:
    return sa.Column(name, type_, nullable=nullable)


def string(name: str, length: int, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable)


def when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(), nullable=True)


def flag(name: str, default: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.Boolean(), server_default=sa.text("1" if default else "0"), nullable=False
    )


def count(name: str, type_: sa.types.TypeEngine = sa.Integer()) -> sa.Column:
    return sa.Column(name, type_, server_default=sa.text("0"), nullable=False)


def enum(name: str, default: int | None = None, nullable: bool = False) -> sa.Column:
    """An IntEnum column (SMALLINT)."""
    server_default = None if default is None else sa.text(str(default))
    return sa.Column(name, sa.SmallInteger(), server_default=server_default, nullable=nullable)


def create(
    table: str,
    *columns: sa.Column,
    pk: str = "id",
    unique: Sequence[tuple[str, ...]] = (),
    fks: Sequence[tuple[str, str, str | None]] = (),
    indexes: Sequence[tuple[str, ...]] = (),
) -> None:
    """Create ``table`` with timestamps, named constraints and the MySQL table options.

    ``fks`` holds (column, "table.column", ON DELETE action or None).
    """
    op.create_table(
        table,
        *columns,
        sa.Column(
            "create_time",
            sa.DateTime(),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "update_time",
            sa.DateTime(),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint(pk, name=op.f(f"pk_{table}")),
        *(sa.UniqueConstraint(*cols, name=op.f(f"uq_{table}_{'_'.join(cols)}")) for cols in unique),
        *(
            sa.ForeignKeyConstraint(
                [column],
                [target],
                name=op.f(f"fk_{table}_{column}_{target.split('.')[0]}"),
                ondelete=ondelete,
            )
            for column, target, ondelete in fks
        ),
        **MYSQL_OPTIONS,
    )
    for cols in indexes:
        op.create_index(op.f(f"ix_{table}_{'_'.join(cols)}"), table, list(cols), unique=False)


def upgrade() -> None:
    _users()
    _content()
    _interactions()
    _staff()
    _statistics()


def downgrade() -> None:
    # Reverse creation order, so no foreign key points at a dropped table.
    for table in reversed(TABLES):
        op.drop_table(table)


def _users() -> None:
    create(
        "user_basic",
        snowflake_pk("user_id"),
        string("mobile", 11, nullable=False),
        string("user_name", 32, nullable=False),
        string("account", 20),
        string("password", 255),
        string("email", 100),
        enum("status", default=1),
        string("profile_photo", 255),
        when("last_login"),
        flag("is_media"),
        flag("is_verified"),
        string("introduction", 60),
        string("certificate", 30),
        count("article_count"),
        count("following_count"),
        count("fans_count"),
        count("like_count"),
        count("read_count"),
        pk="user_id",
        # user_name: indexed, deliberately not unique.
        unique=[("mobile",), ("account",)],
        indexes=[("user_name",)],
    )
    create(
        "user_profile",
        snowflake_pk("user_id"),
        enum("gender", default=0),
        sa.Column("birthday", sa.Date(), nullable=True),
        string("real_name", 32),
        string("id_number", 20),
        string("id_card_front", 255),
        string("id_card_back", 255),
        string("id_card_handheld", 255),
        when("register_media_time"),
        string("area", 20),
        string("company", 20),
        string("career", 20),
        pk="user_id",
        fks=[("user_id", USER, "CASCADE")],
    )
    create(
        "user_search",
        auto_pk("search_id"),
        ref("user_id"),
        string("keyword", 100, nullable=False),
        flag("is_deleted"),
        pk="search_id",
        fks=[("user_id", USER, "CASCADE")],
        indexes=[("user_id",)],
    )
    create(
        "user_qualification",
        auto_pk("qualification_id"),
        ref("user_id"),
        string("name", 20, nullable=False),
        string("id_number", 20),
        string("industry", 200, nullable=False),
        string("company", 200, nullable=False),
        string("position", 200, nullable=False),
        string("add_info", 200),
        string("id_card_front", 200),
        string("id_card_back", 200),
        string("id_card_handheld", 200),
        string("qualification_img", 200),
        pk="qualification_id",
        fks=[("user_id", USER, "CASCADE")],
        indexes=[("user_id",)],
    )
    create(
        "user_legalize_log",
        auto_pk("legalize_id"),
        ref("user_id"),
        enum("type"),
        enum("status", default=1),
        string("reject_reason", 200),
        ref("qualification_id", AUTO_ID, nullable=True),
        pk="legalize_id",
        fks=[
            ("user_id", USER, "CASCADE"),
            ("qualification_id", "user_qualification.qualification_id", "SET NULL"),
        ],
        indexes=[("user_id", "status"), ("status", "update_time"), ("qualification_id",)],
    )
    create(
        "user_relation",
        auto_pk("relation_id"),
        ref("user_id"),
        ref("target_user_id"),
        enum("relation", default=0),
        pk="relation_id",
        unique=[("user_id", "target_user_id")],
        fks=[("user_id", USER, "CASCADE"), ("target_user_id", USER, "CASCADE")],
        indexes=[("target_user_id", "relation", "update_time")],
    )
    create(
        "user_material",
        auto_pk("material_id"),
        ref("user_id"),
        enum("type", default=0),
        string("hash", 128),
        string("url", 255, nullable=False),
        enum("status", default=0),
        ref("reviewer_id", nullable=True),
        when("review_time"),
        flag("is_collected"),
        pk="material_id",
        unique=[("user_id", "hash")],
        fks=[("user_id", USER, "CASCADE")],
        indexes=[("user_id", "type", "status", "is_collected")],
    )


def _content() -> None:
    create(
        "news_channel",
        auto_pk("channel_id"),
        string("channel_name", 32, nullable=False),
        count("sequence"),
        flag("is_visible"),
        flag("is_default"),
        pk="channel_id",
        unique=[("channel_name",)],
    )
    create(
        "news_user_channel",
        auto_pk("user_channel_id"),
        ref("user_id"),
        ref("channel_id", AUTO_ID),
        flag("is_deleted"),
        count("sequence"),
        pk="user_channel_id",
        unique=[("user_id", "channel_id")],
        fks=[("user_id", USER, "CASCADE"), ("channel_id", CHANNEL, "CASCADE")],
        indexes=[("channel_id",)],
    )
    create(
        "news_article_basic",
        snowflake_pk("article_id"),
        ref("user_id"),
        ref("channel_id", AUTO_ID),
        string("title", 128, nullable=False),
        sa.Column("cover", sa.JSON(), nullable=False),
        flag("is_advertising"),
        enum("status", default=0),
        when("pubdate"),  # new: when the article became approved
        ref("reviewer_id", nullable=True),  # staff id, no foreign key
        when("review_time"),
        when("delete_time"),
        string("reject_reason", 200),
        count("comment_count"),
        flag("allow_comment", default=True),
        pk="article_id",
        # No ON DELETE on the channel: a channel with articles cannot be deleted.
        fks=[("user_id", USER, None), ("channel_id", CHANNEL, None)],
        indexes=[
            ("channel_id", "status", "pubdate"),
            ("user_id", "status", "create_time"),
            ("status", "create_time"),
        ],
    )
    create(
        "news_article_content",
        snowflake_pk("article_id"),
        sa.Column("content", LONGTEXT, nullable=False),
        pk="article_id",
        fks=[("article_id", ARTICLE, "CASCADE")],
    )
    create(
        "news_article_statistic",
        snowflake_pk("article_id"),
        count("read_count"),
        count("like_count"),
        count("dislike_count"),
        count("repost_count"),
        count("collect_count"),
        count("fans_comment_count"),
        pk="article_id",
        fks=[("article_id", ARTICLE, "CASCADE")],
    )
    create(
        "global_announcement",
        auto_pk("announcement_id"),
        string("title", 32, nullable=False),
        sa.Column("content", MEDIUMTEXT, nullable=False),
        enum("status", default=0),
        when("publish_time"),
        pk="announcement_id",
        indexes=[("status", "publish_time")],
    )


def _interactions() -> None:
    create(
        "news_collection",
        auto_pk("collection_id"),
        ref("user_id"),
        ref("article_id"),
        flag("is_deleted"),
        pk="collection_id",
        unique=[("user_id", "article_id")],
        fks=[("user_id", USER, "CASCADE"), ("article_id", ARTICLE, "CASCADE")],
        indexes=[("user_id", "is_deleted", "update_time"), ("article_id", "is_deleted")],
    )
    create(
        "news_attitude",
        auto_pk("attitude_id"),
        ref("user_id"),
        ref("article_id"),
        enum("attitude", nullable=True),  # NULL = no attitude
        pk="attitude_id",
        unique=[("user_id", "article_id")],
        fks=[("user_id", USER, "CASCADE"), ("article_id", ARTICLE, "CASCADE")],
        indexes=[("article_id", "attitude")],
    )
    create(
        "news_report",
        auto_pk("report_id"),
        ref("user_id"),
        ref("article_id"),
        enum("type", default=0),
        string("remark", 200),
        enum("status", default=0),  # new (mis.md §6), with handler_id and handle_time
        ref("handler_id", nullable=True),
        when("handle_time"),
        pk="report_id",
        unique=[("user_id", "article_id")],
        fks=[("user_id", USER, "CASCADE"), ("article_id", ARTICLE, "CASCADE")],
        indexes=[("status", "article_id"), ("article_id",)],
    )
    create(
        "news_comment",
        snowflake_pk("comment_id"),
        ref("user_id"),
        ref("article_id"),
        ref("parent_id", nullable=True),
        count("like_count"),
        count("reply_count"),
        string("content", 200, nullable=False),
        flag("is_top"),
        enum("status", default=0),
        pk="comment_id",
        fks=[
            ("user_id", USER, None),
            ("article_id", ARTICLE, None),
            ("parent_id", COMMENT, "CASCADE"),
        ],
        indexes=[
            ("article_id", "parent_id", "status"),
            ("parent_id", "status"),
            ("user_id",),
            ("status", "create_time"),
        ],
    )
    create(
        "news_comment_liking",
        auto_pk("liking_id"),
        ref("user_id"),
        ref("comment_id"),
        flag("is_deleted"),
        pk="liking_id",
        unique=[("user_id", "comment_id")],
        fks=[("user_id", USER, "CASCADE"), ("comment_id", COMMENT, "CASCADE")],
        indexes=[("comment_id", "is_deleted")],
    )


def _staff() -> None:
    create(
        "mis_administrator_group",
        auto_pk("group_id"),
        string("name", 20, nullable=False),
        enum("status", default=1),
        string("remark", 100),
        pk="group_id",
        unique=[("name",)],
    )
    create(
        "mis_permission",
        auto_pk("permission_id"),
        string("name", 50, nullable=False),
        enum("type", default=1),
        count("parent_id", sa.BigInteger()),  # 0 = top level, so not a foreign key
        string("code", 50),
        count("sequence"),
        pk="permission_id",
        unique=[("name",)],
        indexes=[("parent_id", "sequence"), ("code",)],
    )
    create(
        "mis_administrator",
        auto_pk("administrator_id"),
        string("account", 20, nullable=False),
        string("password", 255, nullable=False),
        when("password_changed_at"),
        string("name", 20, nullable=False),
        string("email", 30),
        string("mobile", 20),
        ref("group_id", AUTO_ID),
        count("access_count", sa.BigInteger()),
        enum("status", default=1),
        when("last_login"),
        pk="administrator_id",
        unique=[("account",)],
        fks=[("group_id", GROUP, None)],
        indexes=[("group_id",)],
    )
    create(
        "mis_group_permission",
        auto_pk("group_permission_id"),
        ref("group_id", AUTO_ID),
        ref("permission_id", AUTO_ID),
        pk="group_permission_id",
        unique=[("group_id", "permission_id")],
        fks=[
            ("group_id", GROUP, "CASCADE"),
            ("permission_id", "mis_permission.permission_id", "CASCADE"),
        ],
        indexes=[("permission_id",)],
    )
    create(
        "mis_operation_log",
        auto_pk("operation_log_id"),
        ref("administrator_id"),  # not a foreign key: log rows outlive staff accounts
        string("ip", 45, nullable=False),
        string("operation", 50, nullable=False),
        string("description", 200, nullable=False),
        pk="operation_log_id",
        indexes=[("create_time",), ("administrator_id", "create_time"), ("operation",)],
    )


def _hour_bucket() -> list[sa.Column]:
    return [
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("month", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.SmallInteger(), nullable=False),
        sa.Column("hour", sa.SmallInteger(), nullable=False),
        sa.Column("date_time", sa.DateTime(), nullable=False),
    ]


def _statistics() -> None:
    create(
        "statistics_basic",
        auto_pk("id"),
        *_hour_bucket(),
        enum("type"),
        count("count", sa.BigInteger()),
        unique=[("year", "month", "day", "hour", "type")],
        indexes=[("type", "date_time")],
    )
    create(
        "statistics_search",
        auto_pk("id"),
        *_hour_bucket(),
        string("keyword", 100, nullable=False),
        count("user_count", sa.BigInteger()),
        count("count", sa.BigInteger()),
        unique=[("year", "month", "day", "hour", "keyword")],
        indexes=[("keyword", "date_time"), ("date_time",)],
    )
    create(
        "statistics_search_total",
        auto_pk("id"),
        string("keyword", 100, nullable=False),
        count("user_count", sa.BigInteger()),
        count("count", sa.BigInteger()),
        unique=[("keyword",)],
    )
    create(
        "statistics_sales_total",
        auto_pk("id"),
        sa.Column("area", sa.Integer(), nullable=False),
        count("money", sa.BigInteger()),
        unique=[("area",)],
    )
    create(
        "statistics_read_source_total",
        auto_pk("id"),
        sa.Column("source", sa.Integer(), nullable=False),
        count("count", sa.BigInteger()),
        count("count_20_down", sa.BigInteger()),
        count("count_20_80", sa.BigInteger()),
        count("count_80_up", sa.BigInteger()),
        unique=[("source",)],
    )
    create(
        "recommend_sensitive_word",
        auto_pk("id"),
        string("word", 50, nullable=False),
        sa.Column("weights", sa.Integer(), nullable=False),
        count("hold_count"),
        unique=[("word",)],
    )
