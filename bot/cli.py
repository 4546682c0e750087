"""The `agentpm` command line (also `python -m bot`)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from bot.backup_cli import export_command, import_command
from bot.digest_cli import digest
from core.config import ConfigError, Settings, load_settings
from core.logging import configure_logging

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"agentpm: {message}", err=True)
    sys.exit(code)


def settings_or_exit(**overrides: Any) -> Settings:
    """Load settings; production with missing or weak secrets stops here with one line and exit code 2."""
    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        fail(str(exc), 2)
    except ValueError as exc:  # pydantic's validation error: name the first bad variable only
        first = str(exc).splitlines()
        fail("invalid configuration: " + " ".join(first[1:3]).strip(), 2)
    configure_logging(settings.log_format)
    if settings.generated:
        from core.logging import get_logger

        get_logger("agentpm").warning(
            "development: generated throwaway secrets; set them for anything that must survive a restart",
            generated=settings.generated,
        )
    return settings


def require_schema(settings: Settings) -> None:
    """`serve`, `socket`, `worker` and `beat` never migrate: they refuse to start on an old schema."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.db.schema import SchemaBehind, require_head
    from core.db.session import make_engine

    engine = make_engine(settings)
    try:
        require_head(engine)
    except SchemaBehind as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"cannot reach the database: {type(getattr(exc, 'orig', None) or exc).__name__}")
    finally:
        engine.dispose()


def require_vector_dimension(settings: Settings) -> None:
    """`serve`, `socket` and `worker` refuse to start when the vector index and the model differ in size."""
    from core.db.session import Database, make_engine
    from core.errors import AgentPMError
    from core.search.engine import SearchEngine

    db = Database(make_engine(settings))
    try:
        SearchEngine(settings, db).check_dimension()
    except ConfigError as exc:
        fail(str(exc), 2)
    except AgentPMError as exc:  # e.g. Pinecone refusing the key or not knowing the host
        fail(f"the vector index cannot be used: {str(exc) or exc.user_message}", 2)
    finally:
        db.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Agent PM: Jira, search, TODOs and digests in Slack."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """HTTP server: Slack events, health, readiness and metrics."""
    from aiohttp import web

    from bot.app import build_app
    from bot.server import build_web_app
    from bot.wiring import build_services

    settings = settings_or_exit()
    require_schema(settings)
    require_vector_dimension(settings)
    bot = build_app(build_services(settings))
    click.echo(f"agentpm: serving on http://{host}:{port} (Slack: POST /slack/events)", err=True)
    web.run_app(build_web_app(bot), host=host, port=port, print=None, access_log=None)


@main.command()
def socket() -> None:
    """The same Bolt app over Socket Mode (needs SLACK_APP_TOKEN)."""
    import asyncio

    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    from bot.app import build_app
    from bot.app import warm as warm_bot
    from bot.wiring import build_services

    settings = settings_or_exit()
    if not settings.slack_app_token:
        fail("SLACK_APP_TOKEN is required for Socket Mode", 2)
    require_schema(settings)
    require_vector_dimension(settings)
    bot = build_app(build_services(settings))

    async def run() -> None:
        await warm_bot(bot)
        try:
            await AsyncSocketModeHandler(bot.bolt, settings.slack_app_token).start_async()  # type: ignore[no-untyped-call]
        finally:
            await bot.services.aclose()  # publishes queued after the last ack still go out

    asyncio.run(run())


def _celery(args: list[str]) -> NoReturn:
    """Hand the process to Celery with the worker/beat app; `bot` itself never imports `tasks`."""
    os.execvp(sys.executable, [sys.executable, "-m", "celery", "-A", "tasks.celery_app:app", *args])  # noqa: S606


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes (default: CPU count).")
@click.pass_context
def worker(ctx: click.Context, concurrency: int | None) -> None:
    """Celery worker for every queue. Extra options are passed to Celery."""
    from core.jobs.catalog import QUEUES

    settings = settings_or_exit()
    if not settings.broker_url:
        fail("REDIS_URL (or CELERY_BROKER_URL) is required for a worker", 2)
    require_schema(settings)
    require_vector_dimension(settings)
    args = ["worker", "-Q", ",".join(QUEUES), "--loglevel", "INFO", "-n", "agentpm@%h"]
    if concurrency:
        args += ["--concurrency", str(concurrency)]
    _celery(args + list(ctx.args))


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def beat(ctx: click.Context) -> None:
    """Celery beat: the schedule."""
    settings = settings_or_exit()
    if not settings.broker_url:
        fail("REDIS_URL (or CELERY_BROKER_URL) is required for beat", 2)
    require_schema(settings)
    schedule = os.path.join(tempfile.gettempdir(), "agentpm-beat-schedule")
    _celery(["beat", "--loglevel", "INFO", "--schedule", schedule, *ctx.args])


@main.command()
@click.argument("action", type=click.Choice(["upgrade", "downgrade", "current", "check"]), default="upgrade")
@click.argument("revision", required=False)
def migrate(action: str, revision: str | None) -> None:
    """Alembic: upgrade [REV], downgrade REV, current, check (non-zero when not at head)."""
    from sqlalchemy.exc import SQLAlchemyError

    from core.db import schema
    from core.db.session import make_engine

    settings = settings_or_exit()
    url = settings.database_url
    try:
        if action == "upgrade":
            schema.upgrade(url, revision or "head")
            click.echo(f"database at {revision or schema.head_revision(url)}")
        elif action == "downgrade":
            if not revision:
                fail("downgrade needs a revision (for example `base` or `-1`)", 2)
            schema.downgrade(url, revision)
            click.echo(f"database downgraded to {revision}")
        else:
            engine = make_engine(settings)
            try:
                current, head = schema.current_revision(engine), schema.head_revision(url)
            finally:
                engine.dispose()
            click.echo(f"current: {current or 'none'}  head: {head}")
            if action == "check" and current != head:
                fail("database is not at head: run `agentpm migrate upgrade`")
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        fail(f"database error: {type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def doctor(as_json: bool) -> None:
    """Deep health check: one line per dependency; exit 1 if any is down."""
    import asyncio

    from bot.wiring import build_services
    from core.health import run_checks

    settings = settings_or_exit()
    services = build_services(settings)
    try:
        report = run_checks(services.health_checks())
    finally:
        asyncio.run(services.aclose())
    if as_json:
        click.echo(json.dumps(report.model_dump()))
    else:
        for name, check in report.checks.items():
            mark = "ok  " if check.ok else "DOWN"
            click.echo(f"{mark} {name:<9} {check.latency_ms:8.1f} ms  {check.detail}")
        click.echo(f"status: {report.status}")
    sys.exit(0 if report.status == "ok" else 1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def status(as_json: bool) -> None:
    """What is synced and indexed, and pending jobs."""
    import asyncio

    from bot.wiring import build_services
    from core.status import build_status, external_vectors, status_json

    settings = settings_or_exit()
    require_schema(settings)
    services = build_services(settings)
    try:
        try:
            pending = services.queue.pending()
        except Exception:  # a dead broker must not hide what is synced
            pending = None
        with services.db.session() as session:
            report = build_status(
                session,
                index_backend="pinecone" if settings.pinecone_api_key else "local",
                pending_jobs=pending,
                vectors=external_vectors(services.jobs.search),
            )
    finally:
        asyncio.run(services.aclose())
    if as_json:
        click.echo(json.dumps(status_json(report)))
        return
    from bot.textrender import render_message
    from bot.views.status import status_message

    click.echo(render_message(status_message(report)))


@main.command()
@click.argument("query", required=False)
@click.option("--top", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--as", "as_email", default=None, help="Search with this user's permissions (default: ADMIN view)."
)
@click.option(
    "--json", "as_json", is_flag=True, help='{"results": [{"id", "source", "key", "title", "url", "score"}]}'
)
@click.option(
    "--batch", type=click.File("r"), default=None, help='JSON lines {"id", "query"}; one line out each.'
)
def search(query: str | None, top: int, as_email: str | None, as_json: bool, batch: Any) -> None:
    """The search `/pm search` runs, from the shell."""
    from sqlalchemy import select

    from core.config import Role
    from core.db.models import User
    from core.db.session import Database, make_engine
    from core.search.engine import SearchEngine
    from core.search.jobs import has_vectors
    from core.search.service import Viewer
    from core.search.service import search as run_search

    if (query is None) == (batch is None):
        fail("give a QUERY or --batch FILE", 2)
    settings = settings_or_exit()
    require_schema(settings)
    db = Database(make_engine(settings))
    try:
        viewer = Viewer()
        if as_email:
            with db.session() as session:
                user = session.scalar(select(User).where(User.email == as_email.strip().lower()))
            if user is None:
                fail(f"no user with email {as_email}", 2)
            viewer = Viewer(user_id=user.id, role=Role(user.role), channels=frozenset())
            if viewer.role is Role.NO_ACCESS:
                fail(f"{as_email} has no access", 2)

        engine_holder: list[Any] = []

        def results(text: str) -> list[dict[str, Any]]:
            with db.session() as session:
                if not engine_holder:  # the model is loaded once, and only when something is embedded
                    engine_holder.append(SearchEngine(settings, db) if has_vectors(session) else None)
                found = run_search(session, text, viewer, limit=top, engine=engine_holder[0])
            return [
                {"id": r.document_id, "source": r.source, "key": r.key, "title": r.title, "url": r.url,
                 "score": r.score}
                for r in found
            ]  # fmt: skip

        if batch is not None:
            for number, line in enumerate(batch, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    click.echo(json.dumps({"id": item["id"], "results": results(str(item["query"]))}))
                except (ValueError, KeyError, TypeError):
                    fail(f"line {number} of the batch is not a JSON object with id and query", 2)
            return
        found = results(query or "")
        if as_json:
            click.echo(json.dumps({"results": found}))
            return
        if not found:
            click.echo("no results")
        for rank, r in enumerate(found, 1):
            click.echo(f"{rank:>2}. {r['title']}  ({r['score']:.3f})\n    {r['url'] or ''}")
    finally:
        db.dispose()


@main.command()
@click.option(
    "--re-embed", is_flag=True, help="Embed every document anew (default: push the stored vectors again)."
)
def reindex(re_embed: bool) -> None:
    """Rebuild the vector index from the database (idempotent; the database is the source of truth)."""
    from core.db.session import Database, make_engine
    from core.errors import AgentPMError
    from core.locks import single_flight
    from core.search.engine import SearchEngine
    from core.search.indexer import IndexProgress
    from core.search.indexer import reindex as rebuild

    settings = settings_or_exit()
    require_schema(settings)
    require_vector_dimension(settings)
    db = Database(make_engine(settings))
    tty = sys.stderr.isatty()

    def show(state: IndexProgress) -> None:
        rate = state.documents / state.seconds if state.seconds else 0.0
        line = f"{state.documents:,}/{state.pending:,} documents, {state.chunks:,} chunks, {rate:,.0f} docs/s"
        click.echo(("\r" + line + "\x1b[K") if tty else line, err=True, nl=not tty)

    try:
        engine = SearchEngine(settings, db)
        with single_flight(db, "search-index") as held:
            if not held:
                fail("another indexer is running (the index job or a reindex); try again when it is done")
            done = rebuild(db, engine.embedder, index=engine.index, re_embed=re_embed, progress=show)
    except AgentPMError as exc:
        fail(f"reindex stopped: {exc}; run it again")
    finally:
        db.dispose()
    if tty:
        click.echo("", err=True)
    removed = f"; removed {done.removed} stale vectors" if done.removed else ""
    click.echo(
        f"indexed {done.documents} documents as {done.chunks} chunks in {done.seconds:.1f} s "
        f"({done.embedded} embedded, {engine.index.backend} index{removed})"
    )


@main.group()
def sync() -> None:
    """Run a sync in the foreground."""


@sync.command(name="jira")
@click.option(
    "--project", "projects", multiple=True, help="Project key (repeatable); default: every project."
)
@click.option("--full", is_flag=True, help="Re-read every issue instead of what changed since the last run.")
def sync_jira(projects: tuple[str, ...], full: bool) -> None:
    """Sync Jira now, with a progress bar; exit 1 if a project failed."""
    import asyncio

    from core.db.session import Database, make_engine
    from core.errors import AgentPMError
    from core.jira.client import JiraClient, JiraConfig
    from core.jira.jql import valid_project_key
    from core.jira.meta import sync_metadata
    from core.jira.sync import ProjectSync, SyncResult
    from core.locks import single_flight

    settings = settings_or_exit()
    require_schema(settings)
    try:
        config = JiraConfig.from_settings(settings)
        keys = [valid_project_key(p) for p in projects]
    except AgentPMError as exc:
        fail(exc.user_message, 2)
    db = Database(make_engine(settings))
    bar = ProgressLine(sys.stderr)

    async def run() -> list[SyncResult]:
        results: list[SyncResult] = []
        async with JiraClient(config) as client:
            wanted = (
                keys or list(settings.jira_projects) or sorted(str(p["key"]) for p in await client.projects())
            )
            for key in wanted:
                with single_flight(db, f"jira-sync:{key}") as held:
                    if not held:
                        click.echo(f"{key}: another sync of this project is running; skipped", err=True)
                        continue
                    try:
                        result = await ProjectSync(db, client, config.base_url).run(
                            key, full=full, progress=bar.show
                        )
                    except AgentPMError as exc:
                        result = SyncResult(project=key, outcome="error", error=str(exc) or exc.user_message)
                    bar.done(result)
                    results.append(result)
            synced = [r.project for r in results if r.outcome != "error"]
            if synced:  # issue types and priorities for the create-issue form; the issues matter more
                try:
                    await sync_metadata(db, client, synced)
                except AgentPMError as exc:
                    click.echo(
                        f"Jira metadata (issue types, priorities) not synced: {exc.user_message}", err=True
                    )
        return results

    try:
        results = asyncio.run(run())
    except AgentPMError as exc:
        fail(str(exc) or exc.user_message)
    finally:
        db.dispose()
    if any(r.outcome == "error" for r in results):
        sys.exit(1)


class ProgressLine:
    """One line per project, redrawn in place on a terminal; the final counts on their own line."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())

    def _text(self, result: Any) -> str:
        total = result.total
        if total:
            filled = min(30, int(30 * result.fetched / max(total, 1)))
            bar = "[" + "#" * filled + "." * (30 - filled) + f"] {result.fetched:,}/{total:,}"
        else:
            bar = f"{result.fetched:,} fetched"
        return f"{result.project:<10} {bar}  {result.changed:,} changed, {result.deleted:,} deleted"

    def show(self, result: Any) -> None:
        if self.tty:
            self.stream.write("\r" + self._text(result) + "\x1b[K")
            self.stream.flush()

    def done(self, result: Any) -> None:
        line = self._text(result) + f"  {result.seconds:.1f} s  {result.outcome}"
        if result.error:
            line += f": {result.error}"
        self.stream.write(("\r" if self.tty else "") + line + "\x1b[K\n" if self.tty else line + "\n")
        self.stream.flush()


@main.group()
def admin() -> None:
    """Administration from the shell (bootstrap, break-glass)."""


@admin.command(name="grant")
@click.argument("email")
@click.argument("role", type=click.Choice(["ADMIN", "USER", "NO_ACCESS"], case_sensitive=False))
def admin_grant(email: str, role: str) -> None:
    """Set EMAIL's role (creating the user ahead of their first visit)."""
    from core.config import Role
    from core.db.session import Database, make_engine
    from core.errors import AgentPMError
    from core.users.service import grant

    settings = settings_or_exit()
    require_schema(settings)
    db = Database(make_engine(settings))
    try:
        with db.session() as session:
            previous, new = grant(session, email, Role(role.upper()), settings.agentpm_allowed_domains)
    except AgentPMError as exc:
        fail(exc.user_message, 2)
    finally:
        db.dispose()
    was = previous.value if previous else "new user"
    click.echo(f"{email.lower()} is now {new.value} (was {was}); it applies within 2 minutes")


@main.command(name="rotate-key")
def rotate_key() -> None:
    """Re-encrypt stored credentials under the newest key (the first of AGENTPM_ENCRYPTION_KEYS)."""
    from core.credentials import rotate_all
    from core.crypto import UnreadableSecret, Vault
    from core.db.session import Database, make_engine

    settings = settings_or_exit()
    require_schema(settings)
    if "AGENTPM_ENCRYPTION_KEYS" in settings.generated:
        fail("AGENTPM_ENCRYPTION_KEYS is not set: there is no key to rotate to", 2)
    db = Database(make_engine(settings))
    try:
        with db.session() as session:
            rotated, current = rotate_all(session, Vault(settings.agentpm_encryption_keys))
    except UnreadableSecret:
        fail(
            "a stored credential cannot be read with any listed key: keep the old key in the list "
            "(newest first) until rotation has run"
        )
    finally:
        db.dispose()
    click.echo(f"re-encrypted {rotated} credential(s); {current} already under the newest key")


@main.command(name="try")
@click.option(
    "--as",
    "as_email",
    default="you@northwind.example",
    show_default=True,
    help="Whose Slack account the terminal speaks for.",
)
@click.option("--database", default=None, help="Keep the session's data in this database URL.")
def try_(as_email: str, database: str | None) -> None:
    """The bot in a terminal: type `/pm …` commands or messages; ends at end of input."""
    from bot.terminal import run_terminal

    sys.exit(run_terminal(as_email=as_email, database_url=database))


main.add_command(digest)
main.add_command(export_command)
main.add_command(import_command)


if __name__ == "__main__":
    main()
