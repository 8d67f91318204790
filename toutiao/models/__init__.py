"""All ORM models. Importing this package registers every table on ``Base.metadata``
(Alembic's autogenerate and the tests rely on that).

Where the tables live:

- ``user``: user_basic (User), user_profile, user_search, user_qualification, user_legalize_log
- ``relation``: user_relation          ``material``: user_material
- ``channel``: news_channel, news_user_channel
- ``article``: news_article_basic (Article), news_article_content, news_article_statistic,
  news_article_outbox (not in the original: changes waiting to reach search, caches, feeds)
- ``interaction``: news_collection, news_attitude (ArticleAttitude), news_report
- ``comment``: news_comment, news_comment_liking
- ``announcement``: global_announcement
- ``staff``: mis_administrator, mis_administrator_group, mis_permission, mis_group_permission,
  mis_operation_log
- ``statistics``: statistics_basic, statistics_search, statistics_search_total,
  statistics_sales_total, statistics_read_source_total
- ``recommend``: recommend_sensitive_word
- ``enums``: the integer enumerations; ``base``: Base, naming convention, column helpers.

Table and column names are the original's, and attributes are named after their columns
(``Article.article_id``); every model also has an ``id`` synonym for its primary key.

Deliberate deviations from the original schema (all additive or widening, so an original
deployment's rows load unchanged unless noted):

- Every table has ``create_time`` and ``update_time``; the original lacked one or both on
  user_basic, news_article_content, news_article_statistic, news_comment, news_report,
  mis_group_permission, mis_operation_log and the statistics tables. Both are naive
  server-local times set by the application (a server default covers hand-written SQL).
- Every table is InnoDB, utf8mb4 / utf8mb4_unicode_ci (the original mixed MyISAM and utf8).
- Integer columns are signed (the original used UNSIGNED); Snowflake ids fit in 63 bits.
  Status and type columns are SMALLINT (tinyint in the original).
- user_basic: user_name is indexed, **not unique** (the original had a unique key);
  ``account`` gets a unique key; ``email`` is 100 chars (was 20, mp.md §7 item 14);
  ``password`` 255 (was 93); ``profile_photo`` 255 (was 128).
- user_profile: id-card photo keys are 255 chars (were 128).
- user_material: ``url`` is 255 chars (was 128).
- user_legalize_log: ``qualification_id`` is nullable (real-name requests have none) and a
  foreign key with ON DELETE SET NULL.
- news_article_basic: new ``pubdate`` column (when the article became approved; NULL before).
- news_report: ``type`` is NOT NULL (default 0, was nullable); new ``status``,
  ``handler_id``, ``handle_time`` (mis.md §6).
- news_comment: ``status`` defaults to PENDING in the ORM too (the original ORM used
  APPROVED); the comment service chooses the status explicitly.
- global_announcement: ``content`` is MEDIUMTEXT on MySQL (was TEXT, too small for 20,000
  characters of utf8mb4).
- mis_administrator: ``password`` 255 (was 93), new ``password_changed_at``.
- mis_group_permission: unique (group_id, permission_id). mis_operation_log: ``ip`` 45
  chars (was 16), ``operation`` NOT NULL, indexes on time and administrator (mis.md §6).
- statistics_search_total.keyword, statistics_sales_total.area and
  statistics_read_source_total.source are unique (one row each).
- Foreign keys (the original declared none) on every user, article, comment, channel,
  group and permission reference, each backed by an index. Not on reviewer/handler ids,
  mis_permission.parent_id (0 = top) or mis_operation_log.administrator_id (log rows
  outlive deleted staff accounts).
- The obsolete ``news_read`` table is not recreated.
"""

from toutiao.models.announcement import Announcement
from toutiao.models.article import Article, ArticleContent, ArticleOutbox, ArticleStatistic
from toutiao.models.base import Base
from toutiao.models.channel import Channel, UserChannel
from toutiao.models.comment import Comment, CommentLiking
from toutiao.models.interaction import ArticleAttitude, Collection, Report
from toutiao.models.material import Material
from toutiao.models.recommend import SensitiveWord
from toutiao.models.relation import UserRelation
from toutiao.models.staff import (
    Administrator,
    AdministratorGroup,
    GroupPermission,
    OperationLog,
    Permission,
)
from toutiao.models.statistics import (
    StatisticsBasic,
    StatisticsReadSourceTotal,
    StatisticsSalesTotal,
    StatisticsSearch,
    StatisticsSearchTotal,
)
from toutiao.models.user import (
    User,
    UserLegalizeLog,
    UserProfile,
    UserQualification,
    UserSearch,
)

__all__ = [
    "Administrator",
    "AdministratorGroup",
    "Announcement",
    "Article",
    "ArticleAttitude",
    "ArticleContent",
    "ArticleOutbox",
    "ArticleStatistic",
    "Base",
    "Channel",
    "Collection",
    "Comment",
    "CommentLiking",
    "GroupPermission",
    "Material",
    "OperationLog",
    "Permission",
    "Report",
    "SensitiveWord",
    "StatisticsBasic",
    "StatisticsReadSourceTotal",
    "StatisticsSalesTotal",
    "StatisticsSearch",
    "StatisticsSearchTotal",
    "User",
    "UserChannel",
    "UserLegalizeLog",
    "UserProfile",
    "UserQualification",
    "UserRelation",
    "UserSearch",
]
