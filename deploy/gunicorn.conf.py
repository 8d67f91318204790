"""gunicorn settings for ``toutiao.asgi:app`` (uvicorn workers). Every value can be
overridden from the environment (``TOUTIAO_API_BIND``, ``TOUTIAO_API_WORKERS``, ...)."""

import multiprocessing
import os
import shutil
import sys
import tempfile

from gunicorn.glogging import Logger

bind = os.environ.get("TOUTIAO_API_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("TOUTIAO_API_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "uvicorn_worker.UvicornWorker"
# SIGTERM: stop accepting, let requests in flight finish within graceful_timeout.
graceful_timeout = int(os.environ.get("TOUTIAO_API_GRACEFUL_TIMEOUT", 30))
timeout = int(os.environ.get("TOUTIAO_API_TIMEOUT", 60))
keepalive = 5
# Restart workers now and then so a slow leak never grows without bound.
max_requests = int(os.environ.get("TOUTIAO_API_MAX_REQUESTS", 20000))
max_requests_jitter = max_requests // 10
# The app writes its own access line (with request id and duration); gunicorn's own lines
# (the master's start, worker boots and exits, timeouts) go to stderr in the platform's log
# format, which the process manager collects.
accesslog = None
errorlog = "-"


class PlatformLogger(Logger):
    """gunicorn's own logger, rendered like every other toutiao process (structlog: JSON in
    production). Unusable settings stop the master with one line, as they stop a worker."""

    def setup(self, cfg):
        super().setup(cfg)
        from toutiao.config import SettingsError, get_settings
        from toutiao.kit.logs import configure_logging

        try:
            settings = get_settings()
        except SettingsError as exc:
            print(f"toutiao: {exc}", file=sys.stderr)  # noqa: T201 - no logging without settings
            raise SystemExit(2) from None
        configure_logging(settings, "api-master")
        self.error_log.handlers.clear()  # through the root handler configure_logging set
        self.error_log.propagate = True


logger_class = PlatformLogger
loglevel = os.environ.get("TOUTIAO_LOG_LEVEL", "info").lower()
# X-Forwarded-For is believed only from TOUTIAO_TRUSTED_PROXIES (the app decides).
forwarded_allow_ips = ""
proc_name = "toutiao-api"

# Prometheus multiprocess mode: each worker writes its values under this directory and any
# worker answers /metrics for all of them. The directory is emptied when the server starts
# (stale values of an earlier run must not count) and an exited worker's live gauges are
# dropped. Two servers on one host need two directories.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"{proc_name}-prometheus")
)


def on_starting(server):
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    from toutiao.kit.metrics import mark_process_dead

    mark_process_dead(worker.pid)
