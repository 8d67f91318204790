"""Logging for every process (api, serve, im, rpc, worker, scheduler): one structlog format.

- JSON lines in production (``TOUTIAO_LOG_FORMAT=auto``), coloured key=value in a terminal;
  ``json`` or ``console`` force one. stdlib ``logging`` records (ours, uvicorn, SQLAlchemy,
  APScheduler, Celery) go through the same processors, so every line has a time, a level,
  the logger, the process role and, inside a request or a task, its request id.
- A failing dependency logs one line per failure; the traceback is kept for the first
  failure of each kind and then at most once per ``TRACEBACK_EVERY`` seconds, so an outage
  does not bury the log under identical stacks.
- APScheduler's per-run lines ("Running job", "executed successfully") are silenced.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import uuid
from contextvars import ContextVar
from typing import Any

import structlog
import structlog.tracebacks

# The id of the request (or task) being served; gRPC calls and task enqueues read it.
request_id_var: ContextVar[str | None] = ContextVar("toutiao_request_id", default=None)

TRACEBACK_EVERY = 60.0
REQUEST_ID_MAX = 128
QUIET_LOGGERS = {
    "apscheduler.executors.default": logging.WARNING,
    "apscheduler.scheduler": logging.WARNING,
    "uvicorn.access": logging.WARNING,  # replaced by our access line
    "httpx": logging.WARNING,
    "aio_pika": logging.WARNING,
    "aiormq": logging.WARNING,
    "jieba": logging.WARNING,
    "alembic.runtime.plugins": logging.WARNING,  # a line per plugin at every start
}


def new_request_id() -> str:
    return uuid.uuid4().hex


def clean_request_id(value: str | None) -> str | None:
    """A client's ``X-Request-ID`` if it is short printable ASCII, else None."""
    if not value or len(value) > REQUEST_ID_MAX:
        return None
    if not all(33 <= ord(ch) < 127 for ch in value):
        return None
    return value


class TracebackLimiter:
    """Keep one traceback per (logger, message, exception type) per ``every`` seconds."""

    def __init__(self, every: float = TRACEBACK_EVERY) -> None:
        self.every = every
        self._last: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()

    def allow(self, key: tuple[str, str, str]) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -self.every) < self.every:
                return False
            self._last[key] = now
            if len(self._last) > 4096:
                self._last.clear()
            return True


tracebacks = TracebackLimiter()


class _Sampler(logging.Filter):
    """Drop a record's traceback when the same failure printed one recently."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = record.exc_info
        if info and info[0] is not None:
            key = (record.name, str(record.msg), info[0].__name__)
            if not tracebacks.allow(key):
                record.exc_info = None
                record.exc_text = None
                record.__dict__["error"] = f"{info[0].__name__}: {str(info[1])[:300]}"
                record.__dict__["traceback"] = "suppressed (repeated)"
        return True


def _add_context(process: str) -> Any:
    def add(_logger: Any, _method: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("process", process)
        request_id = request_id_var.get()
        if request_id is not None:
            event.setdefault("request_id", request_id)
        event.pop("color_message", None)  # uvicorn's duplicate of the message
        return event

    return add


def _use_json(settings: Any) -> bool:
    chosen = str(getattr(settings, "LOG_FORMAT", "auto")).lower()
    if chosen in ("json", "console"):
        return chosen == "json"
    return str(getattr(settings, "ENV", "")) == "production" or not sys.stderr.isatty()


def configure_logging(settings: Any, process: str) -> None:
    """Route every logger of this process through structlog at ``LOG_LEVEL``."""
    level = logging.getLevelNamesMapping().get(str(settings.LOG_LEVEL).upper(), logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),  # ``extra={...}`` fields of stdlib records
        _add_context(process),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    json = _use_json(settings)
    # Tracebacks never carry the frames' local variables: they hold settings, tokens and
    # request data (structlog's defaults print them).
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(),
            exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False)
            if structlog.dev.rich is not None
            else structlog.dev.plain_traceback,
        )
    )
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        final.append(
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            )
        )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_Sampler())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[*final, renderer])
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "celery"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quiet, level))
    logging.captureWarnings(True)


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
