"""A fresh ``toutiao serve --demo`` says ready only once it can answer: search finds the demo
articles and an article shows similar articles (both indexes are built in the background)."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.ops.helpers import clean_env, free_port, popen_toutiao


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _an_approved_article(database: Path) -> tuple[int, str]:
    with sqlite3.connect(database) as db:
        row = db.execute(
            "SELECT article_id, title FROM news_article_basic WHERE status = 2 "
            "ORDER BY article_id LIMIT 1"
        ).fetchone()
    return int(row[0]), str(row[1])


def test_fresh_demo_is_ready_only_when_search_and_similar_answer(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = popen_toutiao(
        "serve", "--demo", "--port", str(port), "--data-dir", str(tmp_path / "var"),
        env=clean_env(TOUTIAO_LOG_LEVEL="WARNING"), cwd=tmp_path,
    )  # fmt: skip
    seen: list[int] = []
    try:
        deadline = time.monotonic() + 600
        while True:
            assert process.poll() is None, process.communicate()[1].decode()[-3000:]
            try:
                status, body = _get(base + "/readyz")
                seen.append(status)
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"never ready: {body}"
            time.sleep(0.5)
        article_id, title = _an_approved_article(tmp_path / "var" / "toutiao.db")
        query = urllib.parse.quote(title)
        status, found = _get(f"{base}/app/v1_0/search?q={query}&page=1&per_page=10")
        assert status == 200 and found["data"]["total_count"] > 0, found
        status, detail = _get(f"{base}/app/v1_0/articles/{article_id}")
        assert status == 200 and detail["data"]["recomments"], detail
        checks = body["checks"]
        assert checks["search"]["index_built"] and checks["search"]["documents"] > 0
        assert checks["recommender"]["similar_index_built"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
