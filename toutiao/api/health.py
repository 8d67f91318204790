"""``/healthz`` (liveness) and ``/readyz`` (readiness) of an API process.

Readiness asks every engine the process depends on, concurrently, each within
``CHECK_SECONDS``: the database, both Redis roles, object storage, the search engine (and
that its index holds the approved articles), the recommender (its gRPC health service and
its similar-articles index), the chat assistant, the message queue and the task broker. A dependency that
is not configured (no recommender or assistant named) is reported as such and does not make
the process unready. Answers are reused for ``REUSE_SECONDS`` so probes cannot overload the
engines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from toutiao.engines.mq import ping_mq
from toutiao.kit.grpc_ops import check_health
from toutiao.recommend.similar import index_built
from toutiao.runtime import Runtime
from toutiao.search.indexer import index_state

CHECK_SECONDS = 2.0
REUSE_SECONDS = 1.0
RECO_SERVICE = "reco.UserRecommend"
CHAT_SERVICE = "chatbot.ChatBotService"

Check = dict[str, Any]


async def _bounded(name: str, work: Awaitable[Check]) -> tuple[str, Check]:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            return name, await work
    except TimeoutError:
        return name, {"up": False, "error": f"no answer in {CHECK_SECONDS:.0f}s"}
    except Exception as exc:  # noqa: BLE001 - a failing check is an answer, not a crash
        return name, {"up": False, "error": type(exc).__name__}


async def _search(runtime: Runtime) -> Check:
    state = await index_state(runtime)
    return {
        "engine": runtime.search.name,
        "up": state.up and state.built,
        "documents": state.documents,
        "approved": state.approved,
        "index_built": state.built,
    }


async def _recommender(runtime: Runtime) -> Check:
    built = await index_built(runtime.db, runtime.store)
    check: Check = {"similar_index_built": built}
    if runtime.reco is None:
        check.update(service="local recall", up=built)
        return check
    serving = await check_health(runtime.reco.target, RECO_SERVICE, deadline=CHECK_SECONDS)
    check.update(service=runtime.reco.target, serving=serving, up=serving and built)
    return check


async def _chat(runtime: Runtime) -> Check:
    if runtime.chat is None:
        return {"configured": False, "up": True}
    serving = await check_health(runtime.chat.target, CHAT_SERVICE, deadline=CHECK_SECONDS)
    return {"service": runtime.chat.target, "up": serving}


async def _mq(runtime: Runtime) -> Check:
    return {
        "engine": runtime.settings.MQ_URL.split(":", 1)[0],
        "up": await ping_mq(runtime.settings),
    }


async def _tasks(runtime: Runtime) -> Check:
    if runtime.tasks is None:
        return {"configured": False, "up": True}
    return {"engine": runtime.tasks.name, "up": await runtime.tasks.ping()}


async def _engines(runtime: Runtime) -> Check:
    return await runtime.health()


@dataclass
class Readiness:
    checked_at: float = -REUSE_SECONDS
    answer: dict[str, Check] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def check(self, runtime: Runtime) -> tuple[bool, dict[str, Check]]:
        async with self.lock:
            if time.monotonic() - self.checked_at >= REUSE_SECONDS:
                self.answer = await readiness(runtime)
                self.checked_at = time.monotonic()
        return all(part.get("up") for part in self.answer.values()), self.answer


async def readiness(runtime: Runtime) -> dict[str, Check]:
    """Every check by name; each has ``up``."""
    results = await asyncio.gather(
        _bounded("engines", _engines(runtime)),
        _bounded("search", _search(runtime)),
        _bounded("recommender", _recommender(runtime)),
        _bounded("chat", _chat(runtime)),
        _bounded("mq", _mq(runtime)),
        _bounded("tasks", _tasks(runtime)),
    )
    checks: dict[str, Check] = {}
    for name, check in results:
        if name == "engines" and "up" not in check:
            checks.update(check)  # database, redis_cache, redis_storage, storage, sms
        elif name == "engines":
            checks["database"] = check  # the whole engines check failed
        else:
            checks[name] = check
    return checks
