"""The engines one process needs, built from settings and closed together.

The web app builds a ``Runtime`` in its lifespan; the CLI, workers and tests build their own
with the same function, so every entry point talks to the engines the same way.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from toutiao.config import Settings
from toutiao.engines.mq import create_notifier
from toutiao.engines.mq.base import MemoryNotifier, Notifier
from toutiao.engines.sms import SmsProvider, create_sms_provider
from toutiao.engines.storage import Storage, storage_from_settings
from toutiao.kit.broadcast import Broadcast
from toutiao.kit.db import Database
from toutiao.kit.ids import Snowflake, snowflake_from_settings
from toutiao.kit.images import ImagePool
from toutiao.kit.ratelimit import RateLimiter
from toutiao.kit.redis import RedisRoles, RoleWatch

log = logging.getLogger("toutiao.runtime")

# A closer that has not finished by then is abandoned (and logged), so a stuck connection
# never keeps a stopping process alive.
CLOSE_TIMEOUT_SECONDS = 10.0


@dataclass
class Runtime:
    settings: Settings
    db: Database
    redis: RedisRoles
    storage: Storage
    sms: SmsProvider
    ids: Snowflake
    limiter: RateLimiter
    notifier: Notifier = field(default_factory=MemoryNotifier)
    images: ImagePool = field(default_factory=ImagePool)  # image work, off the event loop
    reco: Any = None  # toutiao.rpc.client.RecoClient when a recommendation service is reachable
    search: Any = None  # toutiao.engines.search.SearchEngine
    chat: Any = None  # toutiao.chat.client.ChatClient when an assistant is reachable
    id_lease: Any = None  # toutiao.kit.idlease.WorkerIdLease once started
    broadcast: Broadcast | None = None  # drops in-process cache entries in every process
    tasks: Any = None  # toutiao.engines.tasks.TaskQueue: hands work to the task tier
    # One per Redis server role (one when cache and storage share it): repairs after a switch.
    role_watches: list[RoleWatch] = field(default_factory=list)

    @property
    def cache(self) -> Any:
        return self.redis.cache.client

    @property
    def store(self) -> Any:
        return self.redis.storage.client

    async def start(self) -> None:
        """Work that needs the event loop: lease a Snowflake worker id unless one is pinned,
        create the S3 bucket on first use."""
        if self.settings.SNOWFLAKE_WORKER_ID is None and self.id_lease is None:
            from toutiao.kit.idlease import WorkerIdLease

            self.id_lease = WorkerIdLease(self.store, self.ids)
            await self.id_lease.start()
        if self.broadcast is None:
            self.broadcast = Broadcast(self.cache)
        self.broadcast.start()
        if not self.role_watches:
            self.role_watches = watch_roles(self)
        for watch in self.role_watches:
            watch.start()
        ensure_bucket = getattr(self.storage, "ensure_bucket", None)
        if ensure_bucket is not None:
            await ensure_bucket()

    async def health(self) -> dict[str, Any]:
        redis_cache = {"engine": self.redis.cache.kind, "up": await self.redis.cache.ping()}
        if self.redis.storage is self.redis.cache:
            redis_storage = dict(redis_cache, shared_with="redis_cache")
        else:
            redis_storage = {
                "engine": self.redis.storage.kind,
                "up": await self.redis.storage.ping(),
            }
        return {
            "database": await self.db.ping(),
            "redis_cache": redis_cache,
            "redis_storage": redis_storage,
            "storage": {"engine": self.storage.name, "up": await self.storage.ping()},
            "sms": {"engine": self.sms.name, "up": True},
        }

    async def close(self) -> None:
        closers = [self.redis.close, self.db.dispose, self.storage.close]
        sms_close = getattr(self.sms, "close", None)
        if sms_close is not None:
            closers.insert(0, sms_close)
        if self.id_lease is not None:
            closers.insert(0, self.id_lease.close)
        if self.broadcast is not None:
            closers.insert(0, self.broadcast.close)
        for watch in self.role_watches:
            closers.insert(0, watch.close)
        if self.reco is not None:
            closers.insert(0, self.reco.close)
        if self.chat is not None:
            closers.insert(0, self.chat.close)
        if self.search is not None:
            closers.insert(0, self.search.close)
        if self.tasks is not None:
            closers.insert(0, self.tasks.close)
        notifier_close = getattr(self.notifier, "close", None)
        if notifier_close is not None:
            closers.insert(0, notifier_close)
        self.images.close()
        for closer in closers:
            name = getattr(closer, "__qualname__", repr(closer))
            log.debug("runtime.closing %s", name)
            step = asyncio.ensure_future(closer())
            # asyncio.wait, not wait_for: a closer that swallows its cancellation must not hang us
            done, _ = await asyncio.wait({step}, timeout=CLOSE_TIMEOUT_SECONDS)
            if not done:
                step.cancel()
                log.error("runtime.close_timeout %s after %.0fs", name, CLOSE_TIMEOUT_SECONDS)
            elif not step.cancelled() and step.exception() is not None:
                log.error("runtime.close_failed %s", name, exc_info=step.exception())


def build_runtime(settings: Settings, *, name: str = "api") -> Runtime:
    db = Database.from_urls(
        settings.database_url,
        settings.DATABASE_REPLICA_URLS,
        replica_retry_seconds=settings.DATABASE_REPLICA_RETRY_SECONDS,
        echo=settings.DATABASE_ECHO,
        pool_size=settings.DATABASE_POOL_SIZE,
        max_overflow=settings.DATABASE_POOL_MAX_OVERFLOW,
        pool_recycle=settings.DATABASE_POOL_RECYCLE,
    )
    redis = RedisRoles.from_urls(
        settings.redis_url,
        settings.redis_storage_url,
        name=f"toutiao-{name}",
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
    )
    runtime = Runtime(
        settings=settings,
        db=db,
        redis=redis,
        storage=storage_from_settings(settings),
        sms=create_sms_provider(settings.SMS_PROVIDER, settings),
        ids=snowflake_from_settings(settings),
        limiter=RateLimiter(redis.storage),
        images=ImagePool(settings.image_workers, settings.IMAGE_MAX_WAITING),
    )
    if settings.RECO_TARGET:
        runtime.reco = connect_reco(settings, settings.RECO_TARGET)
    from toutiao.engines.search import create_search_engine  # engines load on first use

    runtime.search = create_search_engine(settings)
    runtime.notifier = create_notifier(settings)
    from toutiao.engines.tasks import create_task_queue
    from toutiao.worker.jobs import JOBS  # the task table (run in-process by local:// only)

    runtime.tasks = create_task_queue(settings, redis.storage, JOBS, runtime)
    if settings.CHATBOT_TARGET:  # grpc loads only where it is used
        from toutiao.chat.client import ChatClient

        runtime.chat = ChatClient(settings.CHATBOT_TARGET, timeout=settings.CHATBOT_TIMEOUT)
    return runtime


def watch_roles(runtime: Runtime) -> list[RoleWatch]:
    """What a switch of each Redis role repairs: the cache writes its recent invalidations
    again (and retries failed ones as soon as it answers); the storage recounts the counters
    this process wrote lately."""
    from toutiao.kit.cache import replay_invalidations, retry_invalidations
    from toutiao.stats.tasks import reconcile_recent

    interval = runtime.settings.REDIS_ROLE_CHECK_SECONDS
    cache = RoleWatch(runtime.redis.cache, interval=interval)
    cache.on_change.append(lambda reason: replay_invalidations(runtime.cache, reason))
    cache.on_up.append(lambda: retry_invalidations(runtime.cache))
    if runtime.redis.storage is runtime.redis.cache:
        storage = cache
    else:
        storage = RoleWatch(runtime.redis.storage, interval=interval)
    storage.on_change.append(lambda reason: reconcile_recent(runtime.db, runtime.store, reason))
    return [cache] if storage is cache else [cache, storage]


def connect_reco(settings: Settings, target: str) -> Any:
    from toutiao.rpc.client import RecoClient  # grpc loads only where it is used

    return RecoClient(
        target, timeout=settings.RECO_TIMEOUT, similar_timeout=settings.RECO_SIMILAR_TIMEOUT
    )
