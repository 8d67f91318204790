"""``.env.example``, rendered from :class:`toutiao.config.Settings` so it lists every setting,
with its default and the comments written beside it in ``config.py``.

``python -m toutiao.envexample > .env.example`` rewrites it; a test fails when it drifts.
"""

from __future__ import annotations

import ast
import inspect
import tokenize
from enum import Enum
from io import StringIO
from pathlib import Path

from pydantic_core import PydanticUndefined

from toutiao import config
from toutiao.config import Settings

HEADER = """\
# Every toutiao setting, with its default (generated from toutiao/config.py by
# `python -m toutiao.envexample`; do not edit by hand). Copy to .env (read from the working
# directory) or put the variables in the process environment, and uncomment what you change.
# Production needs at least: TOUTIAO_ENV=production, TOUTIAO_JWT_SECRET, TOUTIAO_DATABASE_URL,
# TOUTIAO_REDIS_URL (+ TOUTIAO_REDIS_STORAGE_URL), TOUTIAO_MQ_URL, TOUTIAO_TASK_BROKER_URL,
# TOUTIAO_SMS_PROVIDER (aliyun) with its TOUTIAO_SMS_ALIYUN_* values, TOUTIAO_CORS_ORIGINS.
"""


def _default(name: str) -> str:
    field = Settings.model_fields[name]
    value = field.default
    if value is PydanticUndefined and field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _comments(source: str) -> dict[int, str]:
    return {
        tok.start[0]: tok.string.lstrip("#").strip()
        for tok in tokenize.generate_tokens(StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    }


def render() -> str:
    source = Path(inspect.getfile(config)).read_text(encoding="utf-8")
    lines = source.splitlines()
    comments = _comments(source)
    (cls,) = [
        n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "Settings"
    ]
    out = [HEADER]
    previous_end = cls.body[0].end_lineno or cls.lineno
    for node in cls.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            previous_end = node.end_lineno or previous_end
            continue
        name = node.target.id
        if name not in Settings.model_fields:
            continue
        above = [
            comments[n]
            for n in range(previous_end + 1, node.lineno)
            if lines[n - 1].strip().startswith("#")
        ]
        for text in above:
            if text.startswith("--"):
                out.append(f"\n# {text.strip('- ').strip()}")
            else:
                out.append(f"# {text}")
        inline = comments.get(node.lineno)
        if inline and not lines[node.lineno - 1].strip().startswith("#"):
            out.append(f"# {inline}")
        out.append(f"# TOUTIAO_{name}={_default(name)}")
        previous_end = node.end_lineno or node.lineno
    missing = set(Settings.model_fields) - {
        n.target.id
        for n in cls.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }
    assert not missing, f"settings declared outside the class body: {missing}"
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")  # noqa: T201 - the command's output
