"""Request ids, access lines and HTTP metrics, through the real app."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from toutiao.kit.logs import request_id_var


class AccessLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[tuple[dict[str, object], str | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((dict(record.__dict__), request_id_var.get()))


@pytest.fixture
def access() -> Iterator[AccessLines]:
    handler = AccessLines()
    logger = logging.getLogger("toutiao.access")
    previous = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


def _count(route: str, status: str, method: str = "GET") -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("toutiao_http_responses_total", labels) or 0.0


def _observations(route: str, method: str = "GET") -> float:
    labels = {"method": method, "route": route}
    return REGISTRY.get_sample_value("toutiao_http_request_duration_seconds_count", labels) or 0.0


async def test_request_id_is_made_or_accepted(client, access: AccessLines) -> None:
    made = await client.get("/app/v1_0/channels")
    assert len(made.headers["x-request-id"]) == 32
    given = await client.get("/app/v1_0/channels", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    for bad in ("x" * 200, "has space"):
        replaced = await client.get("/app/v1_0/channels", headers={"X-Request-ID": bad})
        assert replaced.headers["x-request-id"] != bad
    ids = [request_id for _, request_id in access.lines]
    assert ids[0] == made.headers["x-request-id"] and ids[1] == "abc-123"


async def test_access_line_has_route_status_and_duration(client, access: AccessLines) -> None:
    response = await client.get("/app/v1_0/articles/123456789")
    [(line, request_id)] = access.lines
    assert line["msg"] == "http.request"
    assert line["method"] == "GET"
    assert line["path"] == "/app/v1_0/articles/123456789"
    assert line["route"] == "/app/v1_0/articles/{article_id}"
    assert line["status"] == response.status_code
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert request_id == response.headers["x-request-id"]


async def test_metrics_by_route_template(client) -> None:
    route = "/app/v1_0/articles/{article_id}"
    before_404, before_seen = _count(route, "404"), _observations(route)
    unmatched_before = _count("<unmatched>", "404")
    for article_id in (1, 2, 3):
        assert (await client.get(f"/app/v1_0/articles/{article_id}")).status_code == 404
    await client.get("/no/such/path")
    assert _count(route, "404") == before_404 + 3
    assert _observations(route) == before_seen + 3
    assert _count("<unmatched>", "404") == unmatched_before + 1
    scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    assert 'route="/app/v1_0/articles/{article_id}"' in scrape.text
    assert "/app/v1_0/articles/1" not in scrape.text  # raw paths never become labels


async def test_oversized_bodies_are_still_logged(client, access: AccessLines, runtime) -> None:
    limit = runtime.settings.BODY_MAX_BYTES
    response = await client.post("/app/v1_0/authorizations", content=b"x" * (limit + 1))
    assert response.status_code == 413
    [(line, _)] = access.lines
    assert line["status"] == 413


async def test_healthz_is_liveness_only(client) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def _lookups(cache: str, level: str, result: str) -> float:
    labels = {"cache": cache, "level": level, "result": result}
    return REGISTRY.get_sample_value("toutiao_cache_lookups_total", labels) or 0.0


async def test_in_process_caches_count_hits_and_misses(client, factory) -> None:
    """The L1 (in-process) levels of the channel list and the user status are counted too."""
    await factory.channels(["news", "tech"])
    user = await factory.user()
    headers = factory.headers(user.user_id)
    before = {
        (cache, result): _lookups(cache, "l1", result)
        for cache in ("channel:list", "user:status")
        for result in ("hit", "miss")
    }
    for _ in range(3):
        assert (await client.get("/app/v1_0/channels")).status_code == 200
        assert (await client.get("/app/v1_0/user", headers=headers)).status_code == 200
    for cache in ("channel:list", "user:status"):
        assert _lookups(cache, "l1", "miss") == before[(cache, "miss")] + 1, cache
        assert _lookups(cache, "l1", "hit") == before[(cache, "hit")] + 2, cache
