"""Integer enumerations stored in the database (values are the original's, reference-facts §13)."""

from __future__ import annotations

from enum import IntEnum


class ArticleStatus(IntEnum):
    DRAFT = 0
    PENDING = 1
    APPROVED = 2
    REJECTED = 3
    DELETED = 4
    BANNED = 5


class ArticleReviewAction(IntEnum):
    """The ``status`` values mis accepts in a review batch; 6 (unban) is never stored."""

    APPROVE = 2
    REJECT = 3
    DELETE = 4
    BAN = 5
    UNBAN = 6


class CommentStatus(IntEnum):
    PENDING = 0
    APPROVED = 1
    REJECTED = 2
    DELETED = 3


class Relation(IntEnum):
    NONE = 0  # unfollowed / un-blacklisted; the row is kept
    FOLLOW = 1
    BLACKLIST = 2


class Attitude(IntEnum):
    """``news_attitude.attitude``; NULL means no attitude (the API shows it as -1)."""

    DISLIKE = 0
    LIKE = 1


class AnnouncementStatus(IntEnum):
    UNPUBLISHED = 0
    PUBLISHED = 1
    WITHDRAWN = 2


class ReportType(IntEnum):
    OTHER = 0
    EXAGGERATED_TITLE = 1
    VULGAR = 2
    TYPOS = 3
    STALE_NEWS = 4
    ADVERTORIAL = 5
    FALSE_CONTENT = 6
    ILLEGAL = 7
    INFRINGEMENT = 8


class ReportStatus(IntEnum):
    PENDING = 0
    HANDLED = 1
    DISMISSED = 2


class CoverType(IntEnum):
    """``cover.type`` inside the article's JSON cover."""

    AUTO = -1  # request-only (mp): resolved from the content before storing, never stored
    NONE = 0
    ONE = 1
    THREE = 3


class Gender(IntEnum):
    MALE = 0
    FEMALE = 1


class UserStatus(IntEnum):
    DISABLED = 0  # "frozen" in mis
    ENABLED = 1


class StaffStatus(IntEnum):
    """Status of a staff account (``mis_administrator``) or group."""

    DISABLED = 0
    ENABLED = 1


class PermissionType(IntEnum):
    MENU = 0
    POINT = 1  # a permission code an endpoint checks


class LegalizeType(IntEnum):
    REAL_NAME = 1
    QUALIFICATION = 2


class LegalizeStatus(IntEnum):
    PROCESSING = 1
    APPROVED = 2
    REJECTED = 3


class MaterialType(IntEnum):
    IMAGE = 0
    VIDEO = 1
    AUDIO = 2


class MaterialStatus(IntEnum):
    PENDING = 0
    APPROVED = 1
    REJECTED = 2
    DELETED = 3


class StatisticsType(IntEnum):
    """``statistics_basic.type``; lower-cased names are mis's ``type`` query keys."""

    DAY_ACTIVATE = 1
    ACCESS = 2
    ACCESS_IP = 3
    NEW_USER = 4
    SEARCH_USER = 5
    SEARCH = 6
    ARTICLE = 7
    COMMENT = 8
    READ = 9
    FORWARD = 10


class ReadSource(IntEnum):
    OTHER = 0
    RECOMMEND = 1
    CHANNEL = 2
    RELATED = 3
    OUTSIDE = 4


class SalesArea(IntEnum):
    OTHER = 0
    BEIJING = 1
    SHANGHAI = 2
    SHENZHEN = 3
    GUANGZHOU = 4
    HANGZHOU = 5
