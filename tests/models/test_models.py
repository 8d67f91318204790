"""Static checks of the models and enums (no database needed)."""

from __future__ import annotations

from enum import IntEnum

import pytest
from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import configure_mappers

from toutiao.models import Base
from toutiao.models import enums as e
from toutiao.models.base import MYSQL_TABLE_OPTIONS, IntEnumType

TABLES = {
    "user_basic", "user_profile", "user_relation", "user_search", "user_material",
    "user_legalize_log", "user_qualification", "news_channel", "news_user_channel",
    "news_article_basic", "news_article_content", "news_article_statistic", "news_collection",
    "news_attitude", "news_report", "news_comment", "news_comment_liking",
    "global_announcement", "mis_administrator", "mis_administrator_group", "mis_permission",
    "mis_group_permission", "mis_operation_log", "statistics_basic", "statistics_search",
    "statistics_search_total", "statistics_sales_total", "statistics_read_source_total",
    "recommend_sensitive_word",
    "news_article_outbox",
}  # fmt: skip


def _values(enum: type[IntEnum]) -> dict[str, int]:
    return {member.name: member.value for member in enum}


class TestEnums:
    @pytest.mark.parametrize(
        ("enum", "values"),
        [
            (e.ArticleStatus, [0, 1, 2, 3, 4, 5]),
            (e.CommentStatus, [0, 1, 2, 3]),
            (e.Relation, [0, 1, 2]),
            (e.Attitude, [0, 1]),
            (e.AnnouncementStatus, [0, 1, 2]),
            (e.ReportType, list(range(9))),
            (e.ReportStatus, [0, 1, 2]),
            (e.CoverType, [-1, 0, 1, 3]),
            (e.Gender, [0, 1]),
            (e.UserStatus, [0, 1]),
            (e.StaffStatus, [0, 1]),
            (e.PermissionType, [0, 1]),
            (e.LegalizeType, [1, 2]),
            (e.LegalizeStatus, [1, 2, 3]),
            (e.MaterialType, [0, 1, 2]),
            (e.MaterialStatus, [0, 1, 2, 3]),
            (e.StatisticsType, list(range(1, 11))),
            (e.ReadSource, [0, 1, 2, 3, 4]),
            (e.SalesArea, [0, 1, 2, 3, 4, 5]),
        ],
    )
    def test_values_are_the_originals(self, enum: type[IntEnum], values: list[int]) -> None:
        assert sorted(member.value for member in enum) == values

    def test_meanings(self) -> None:
        assert _values(e.ArticleStatus) == {
            "DRAFT": 0, "PENDING": 1, "APPROVED": 2, "REJECTED": 3, "DELETED": 4, "BANNED": 5,
        }  # fmt: skip
        assert _values(e.CommentStatus) == {
            "PENDING": 0,
            "APPROVED": 1,
            "REJECTED": 2,
            "DELETED": 3,
        }
        assert _values(e.Relation) == {"NONE": 0, "FOLLOW": 1, "BLACKLIST": 2}
        assert _values(e.Attitude) == {"DISLIKE": 0, "LIKE": 1}
        assert e.UserStatus.ENABLED == 1
        assert e.Gender.FEMALE == 1
        assert e.ReportType.INFRINGEMENT == 8
        assert e.MaterialStatus.DELETED == 3

    def test_unban_is_an_action_not_a_status(self) -> None:
        assert e.ArticleReviewAction.UNBAN == 6
        assert 6 not in {status.value for status in e.ArticleStatus}

    def test_statistics_types_match_the_mis_query_keys(self) -> None:
        keys = ["day_activate", "access", "access_ip", "new_user", "search_user", "search",
                "article", "comment", "read", "forward"]  # fmt: skip
        assert [e.StatisticsType[key.upper()].value for key in keys] == list(range(1, 11))


class TestModels:
    def test_every_table_is_declared_and_mappers_configure(self) -> None:
        configure_mappers()
        assert set(Base.metadata.tables) == TABLES

    @pytest.mark.parametrize("table_name", sorted(TABLES))
    def test_table_conventions(self, table_name: str) -> None:
        table = Base.metadata.tables[table_name]
        assert {"create_time", "update_time"} <= set(table.columns.keys())
        assert not table.c.create_time.nullable
        assert table.c.update_time.onupdate is not None
        for option, value in MYSQL_TABLE_OPTIONS.items():
            assert table.kwargs[option] == value
        for constraint in [*table.constraints, *table.indexes]:
            assert constraint.name, constraint
            assert len(constraint.name) <= 64, constraint.name  # MySQL's identifier limit

    @pytest.mark.parametrize("table_name", sorted(TABLES))
    def test_foreign_keys_lead_an_index(self, table_name: str) -> None:
        """Else MySQL silently adds its own index, which the migration does not know about."""
        table = Base.metadata.tables[table_name]
        leading = {
            next(iter(item.columns)).name
            for item in [*table.indexes, *table.constraints]
            if isinstance(item, Index | UniqueConstraint) or item is table.primary_key
        }
        for fk in table.foreign_keys:
            assert fk.parent.name in leading, f"{table_name}.{fk.parent.name}"

    def test_enum_columns_fit_smallint(self) -> None:
        for table in Base.metadata.tables.values():
            for column in table.columns:
                if isinstance(column.type, IntEnumType):
                    assert all(-32768 <= m.value <= 32767 for m in column.type.enum_class)

    def test_snowflake_keys_are_not_autoincrement(self) -> None:
        tables = Base.metadata.tables
        for name, key in [
            ("user_basic", "user_id"),
            ("news_article_basic", "article_id"),
            ("news_comment", "comment_id"),
        ]:
            column = tables[name].c[key]
            assert column.primary_key
            assert column.autoincrement is False
