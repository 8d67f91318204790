"""ASGI entry point for production servers: ``uvicorn toutiao.asgi:app`` / gunicorn.

Unusable settings stop the worker with one line on stderr rather than a traceback.
"""

import sys

from toutiao.config import SettingsError, get_settings
from toutiao.kit.logs import configure_logging
from toutiao.main import create_app

try:
    _settings = get_settings()
except SettingsError as exc:
    print(f"toutiao: {exc}", file=sys.stderr)  # noqa: T201 - logging needs the settings
    raise SystemExit(2) from None
configure_logging(_settings, "api")
app = create_app(_settings)
