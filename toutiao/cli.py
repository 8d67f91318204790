"""The ``toutiao`` command: the all-in-one server and the operator's tools."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from toutiao.config import Settings, SettingsError, load_settings

app = typer.Typer(
    help="toutiao: a news platform backend.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
seed_app = typer.Typer(help="Demo data.", no_args_is_help=True)
stats_app = typer.Typer(help="Counters and site statistics.", no_args_is_help=True)
search_app = typer.Typer(help="Full-text search.", no_args_is_help=True)
reco_app = typer.Typer(
    help="The recommender: its similar-articles index, its offline evaluation.",
    no_args_is_help=True,
)
admin_app = typer.Typer(help="Operations staff accounts (/mis).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(seed_app, name="seed")
app.add_typer(stats_app, name="stats")
app.add_typer(search_app, name="search")
app.add_typer(reco_app, name="reco")
app.add_typer(admin_app, name="admin")

console = Console(stderr=True)
log = logging.getLogger("toutiao.cli")

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where embedded engines keep their files (default ./var)."),
]


def _settings(data_dir: Path | None = None, **overrides: Any) -> Settings:
    """Settings for a command, or one line on stderr and exit status 2 when they are unusable."""
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["DATA_DIR"] = data_dir
    try:
        return load_settings(**values)
    except SettingsError as exc:
        typer.echo(f"toutiao: {exc}", err=True)
        raise typer.Exit(2) from None


def _configure_logging(settings: Settings, process: str) -> None:
    from toutiao.kit.logs import configure_logging

    configure_logging(settings, process)


async def _prepare(settings: Settings, *, demo: bool) -> Any:
    """Migrate, build the engines and (with demo) load demo data on first start."""
    from toutiao.kit.migrate import upgrade
    from toutiao.runtime import build_runtime

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(settings.database_url)
    runtime = build_runtime(settings, name="serve")
    await runtime.start()
    if demo:
        await _seed(runtime, users=40, articles=1200, seed=20260101, progress=True)
        await _demo_admin(runtime)
    return runtime


async def _demo_admin(runtime: Any) -> None:
    """Demo mode only: the super-admin ``admin`` / ``admin246810`` (like the SMS code 246810)."""
    from toutiao.kit.db import commit
    from toutiao.staff.seed import DEMO_ACCOUNT, DEMO_PASSWORD, create_admin

    async with runtime.db.session() as session:
        report = await create_admin(session, DEMO_ACCOUNT, DEMO_PASSWORD, "Demo admin")
        await commit(session)
    if report.account_created:
        console.print(f"demo staff account: {DEMO_ACCOUNT} / {DEMO_PASSWORD} (/mis)")


async def _seed(runtime: Any, *, users: int, articles: int, seed: int, progress: bool) -> None:
    from toutiao.seed.demo import seed_demo
    from toutiao.stats.service import rebuild_counters

    report = await seed_demo(
        runtime.db,
        runtime.storage,
        runtime.ids,
        users=users,
        articles=articles,
        seed=seed,
        progress=progress,
    )
    if report.skipped:
        console.print("demo data already present; not loading it again")
        return
    # A read session: on SQLite a write session would hold the write lock for the whole rebuild.
    async with runtime.db.read_session() as session:
        await rebuild_counters(session, runtime.store)
    console.print(f"demo data loaded: {report}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDir = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Load demo data on first start; accept SMS code 246810.")
    ] = False,
) -> None:
    """Run the whole platform in one process on the embedded engines."""
    import uvicorn

    from toutiao.kit.graceful import GracefulServer, run_service
    from toutiao.main import create_app

    public = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    settings = _settings(data_dir, DEMO=demo or None)
    if "PUBLIC_URL" not in settings.model_fields_set:
        settings = _settings(data_dir, DEMO=demo or None, PUBLIC_URL=public)
    _configure_logging(settings, "serve")

    async def main() -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler

        from toutiao.chat.main import chatbot_in_process
        from toutiao.im import close_sio, create_im_asgi, create_sio, start_fanout
        from toutiao.rpc.main import serve_recommender
        from toutiao.runtime import connect_reco
        from toutiao.search.indexer import ensure_indexed
        from toutiao.stats.tasks import schedule_repair
        from toutiao.worker.main import worker_subprocess
        from toutiao.worker.schedule import schedule_tasks

        runtime = await _prepare(settings, demo=demo)
        jobs = AsyncIOScheduler() if settings.SCHEDULER_ENABLED else None
        # A fresh demo start gets its index.
        background = [asyncio.create_task(ensure_indexed(runtime))]
        try:
            async with (
                worker_subprocess(settings, runtime),  # the task tier, on the embedded broker
                serve_recommender(runtime, scheduler=jobs, run_jobs=jobs is not None) as reco_port,
            ):
                if runtime.reco is None:  # no external service named: use the in-process one
                    runtime.reco = connect_reco(settings, f"127.0.0.1:{reco_port}")
                if jobs is not None:
                    schedule_tasks(jobs, runtime)
                    schedule_repair(jobs, runtime.db, runtime.store)
                    jobs.start()
                async with chatbot_in_process(runtime):
                    sio = create_sio(settings, runtime)
                    start_fanout(sio)
                    config = uvicorn.Config(
                        create_im_asgi(sio, create_app(settings, runtime=runtime)),
                        host=host,
                        port=port,
                        log_level=settings.LOG_LEVEL.lower(),
                        log_config=None,
                        access_log=False,
                        proxy_headers=False,  # kit/clientip.py decides (TRUSTED_PROXIES)
                        timeout_graceful_shutdown=10,
                    )
                    console.print(
                        f"toutiao is up: {public}/app/  (docs: {public}/docs, health: {public}/healthz)"
                    )
                    try:
                        await GracefulServer(config).serve()
                    finally:
                        await close_sio(sio, runtime)
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            if jobs is not None and jobs.running:
                jobs.shutdown(wait=False)
            await runtime.close()

    run_service(main())


@app.command()
def rpc(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[
        int | None, typer.Option(help="Port (default TOUTIAO_RECO_PORT, 9999).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the recommendation gRPC service (and its scheduled jobs) alone."""
    from toutiao.kit.graceful import run_service
    from toutiao.rpc.main import run_rpc

    settings = _settings(data_dir)
    _configure_logging(settings, "rpc")
    run_service(run_rpc(settings, host, port or settings.RECO_PORT))


@app.command()
def im(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default TOUTIAO_IM_PORT, 8001).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the Socket.IO server alone; notifications arrive over TOUTIAO_MQ_URL."""
    from toutiao.im import ImConfigError, run_im
    from toutiao.kit.graceful import run_service

    settings = _settings(data_dir)
    _configure_logging(settings, "im")
    try:
        run_service(run_im(settings, host, port or settings.IM_PORT))
    except ImConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@app.command()
def scheduler(data_dir: DataDir = None) -> None:
    """Enqueue the platform's scheduled tasks (counters, similar articles, search upkeep) for
    `toutiao worker`; one leader among replicas via a Redis lock."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from toutiao.kit.graceful import run_service, until_signalled
    from toutiao.runtime import build_runtime
    from toutiao.worker.schedule import schedule_tasks

    settings = _settings(data_dir)
    _configure_logging(settings, "scheduler")

    async def main() -> None:
        runtime = build_runtime(settings, name="scheduler")
        jobs = AsyncIOScheduler()
        leader = schedule_tasks(jobs, runtime)
        jobs.start()
        try:
            await until_signalled()
        finally:
            jobs.shutdown(wait=False)
            await leader.stop()
            await runtime.close()

    run_service(main())


@app.command()
def worker(
    pool: Annotated[str, typer.Option(help="Celery pool: threads, prefork or solo.")] = "threads",
    concurrency: Annotated[
        int | None, typer.Option(help="Tasks at once (default TOUTIAO_WORKER_CONCURRENCY).")
    ] = None,
    queues: Annotated[
        str | None, typer.Option(help="Comma-separated queues (default: all of them).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the task tier (Celery): SMS, search indexing, counters, similar articles."""
    from toutiao.worker.main import run_worker

    settings = _settings(data_dir)
    _configure_logging(settings, "worker")
    run_worker(
        settings,
        pool=pool,
        concurrency=concurrency or settings.WORKER_CONCURRENCY,
        queues=[q.strip() for q in queues.split(",") if q.strip()] if queues else None,
    )


@app.command()
def api(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 2,
) -> None:
    """Run only the HTTP API (production: engines come from TOUTIAO_* settings)."""
    import uvicorn

    settings = _settings()  # refuse bad settings here, once, rather than in every worker
    _configure_logging(settings, "api")
    uvicorn.run(
        "toutiao.asgi:app",
        host=host,
        port=port,
        workers=workers,
        # X-Forwarded-For is read by kit/clientip.py, for trusted proxies only
        proxy_headers=False,
        log_config=None,
        access_log=False,
    )


Password = Annotated[
    str,
    typer.Option(
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="8-64 characters with a letter and a digit (prompted for when left out).",
    ),
]


def _check_password(password: str) -> None:
    from toutiao.kit.passwords import meets_policy

    if not meets_policy(password):
        console.print("password: 8-64 characters without spaces, with a letter and a digit")
        raise typer.Exit(2)


async def _staff_session(settings: Settings, work: Any) -> Any:
    from toutiao.kit.db import Database, commit
    from toutiao.kit.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade(settings.database_url)
    db = Database.from_urls(settings.database_url)
    try:
        async with db.session() as session:
            result = await work(session)
            await commit(session)
        return result
    finally:
        await db.dispose()


@admin_app.command("create")
def admin_create(
    account: Annotated[str, typer.Option(help="Login name (a letter, then 3-15 [A-Za-z0-9_]).")],
    password: Password,
    name: Annotated[str | None, typer.Option(help="Display name (default: the account).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Seed the permission tree and the super-admin group, and create a super-admin account.

    Running it again changes nothing that exists (an existing account keeps its password).
    """
    import re

    from toutiao.staff.seed import create_admin

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{3,15}", account):
        console.print("account: a letter, then 3-15 letters, digits or underscores")
        raise typer.Exit(2)
    _check_password(password)
    if name is not None and not 1 <= len(name) <= 20:
        console.print("name: 1-20 characters")
        raise typer.Exit(2)
    settings = _settings(data_dir)
    report = asyncio.run(
        _staff_session(settings, lambda session: create_admin(session, account, password, name))
    )
    state = "created" if report.account_created else "already exists (left unchanged)"
    console.print(
        f"account {account} (id {report.administrator_id}) {state}; "
        f"{report.permissions_created} permission entries created"
    )


@admin_app.command("reset-password")
def admin_reset_password(
    account: Annotated[str, typer.Option(help="Login name of the staff account.")],
    password: Password,
    data_dir: DataDir = None,
) -> None:
    """Set a new password; every token issued before stops working."""
    from toutiao.staff.seed import reset_password

    _check_password(password)
    settings = _settings(data_dir)
    done = asyncio.run(
        _staff_session(settings, lambda session: reset_password(session, account, password))
    )
    if not done:
        console.print(f"no staff account {account!r}")
        raise typer.Exit(1)
    console.print(f"password of {account} changed")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head", data_dir: DataDir = None) -> None:
    """Apply schema migrations."""
    from toutiao.kit.migrate import upgrade_sync

    settings = _settings(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_sync(settings.database_url, revision)
    console.print(f"database at {revision}")


@seed_app.command("demo")
def seed_demo_command(
    users: Annotated[int, typer.Option(min=2)] = 40,
    articles: Annotated[int, typer.Option(min=1)] = 1200,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 20260101,
    data_dir: DataDir = None,
) -> None:
    """Load demo channels, users and articles (skipped when channels already exist)."""
    settings = _settings(data_dir)
    _configure_logging(settings, "cli")

    async def main() -> None:
        runtime = await _prepare(settings, demo=False)
        try:
            await _seed(runtime, users=users, articles=articles, seed=seed, progress=True)
        finally:
            await runtime.close()

    asyncio.run(main())


@search_app.command("reindex")
def search_reindex(
    batch: Annotated[int, typer.Option(min=1, help="Articles per batch.")] = 500,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the last checkpoint.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Rebuild the search index from the database (progress bar, resumable)."""
    from toutiao.search.cli import reindex_command

    settings = _settings(data_dir)
    _configure_logging(settings, "cli")
    reindex_command(settings, batch=batch, resume=resume)


@reco_app.command("rebuild")
def reco_rebuild(
    workers: Annotated[
        int | None,
        typer.Option(min=0, help="Tokenising processes (default: by corpus size, up to 4)."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Rebuild the similar-articles index from the database (progress bar; the services keep
    answering from the current lists meanwhile)."""
    from toutiao.recommend.cli import rebuild_command

    settings = _settings(data_dir)
    _configure_logging(settings, "cli")
    rebuild_command(settings, workers=workers)


@reco_app.command("evaluate")
def reco_evaluate(data_dir: DataDir = None) -> None:
    """Offline evaluation on the behaviour log (each reader's latest likes and collections
    held out): recall@10, NDCG@10 and coverage against popularity and recency baselines."""
    from toutiao.recommend.cli import evaluate_command

    settings = _settings(data_dir)
    _configure_logging(settings, "cli")
    raise typer.Exit(evaluate_command(settings))


@reco_app.command("migrate-keys")
def reco_migrate_keys(data_dir: DataDir = None) -> None:
    """Move readers' recommender keys to their Redis Cluster hash-tagged names (values and
    TTLs kept, newer keys never overwritten); safe to run again, and while serving."""
    from toutiao.recommend.cli import migrate_keys_command

    settings = _settings(data_dir)
    _configure_logging(settings, "cli")
    raise typer.Exit(migrate_keys_command(settings))


@search_app.command("evaluate")
def search_evaluate(
    queries: Annotated[int, typer.Option(min=1, help="Judged queries of each kind.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the query sample.")] = 20260101,
    data_dir: DataDir = None,
) -> None:
    """Relevance on queries judged from the corpus (title fragments, word pairs, typos):
    MRR@10 and recall@10 as a table."""
    from toutiao.search.cli import evaluate_command

    settings = _settings(data_dir)
    _configure_logging(settings, "cli")
    raise typer.Exit(evaluate_command(settings, per_kind=queries, seed=seed))


@stats_app.command("fix")
def stats_fix(data_dir: DataDir = None) -> None:
    """Rebuild the counter sorted sets from the database."""
    from toutiao.runtime import build_runtime
    from toutiao.stats.service import rebuild_counters

    settings = _settings(data_dir)

    async def main() -> None:
        runtime = build_runtime(settings, name="cli")
        try:
            async with runtime.db.read_session() as session:
                written = await rebuild_counters(session, runtime.store)
            for key, members in written.items():
                console.print(f"{key}: {members}", markup=False, emoji=False)
        finally:
            await runtime.close()

    asyncio.run(main())


def _day(value: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter("expected YYYY-MM-DD") from exc


@stats_app.command("rollup")
def stats_rollup(
    begin: Annotated[str, typer.Option(help="First day, YYYY-MM-DD (default: today).")] = "",
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD (default: begin).")] = "",
    data_dir: DataDir = None,
) -> None:
    """Write the site statistics (statistics_* tables) of every hour of a range of days."""
    from toutiao.models.base import local_now
    from toutiao.runtime import build_runtime
    from toutiao.stats.rollup import backfill

    first = _day(begin) if begin else local_now().date()
    last = _day(end) if end else first
    if last < first:
        raise typer.BadParameter("--end is before --begin")
    settings = _settings(data_dir)

    async def main() -> None:
        runtime = build_runtime(settings, name="cli")
        try:
            report = await backfill(runtime.db, runtime.store, first, last)
            console.print(
                f"{report.hours} hours rolled up: {report.basic_rows} metric rows, "
                f"{report.keyword_rows} keyword rows",
                markup=False,
            )
        finally:
            await runtime.close()

    asyncio.run(main())


if __name__ == "__main__":
    app()
