"""Jira sync jobs: one project (scheduled, single-flight), every project (the beat's tick), and the manual
`/pm sync` that keeps one Slack message up to date and posts a summary in its thread."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from core.errors import AgentPMError
from core.jira import jql
from core.jira.client import JiraClient, JiraConfig
from core.jira.meta import sync_metadata
from core.jira.sync import ProjectSync, SyncResult
from core.jobs.context import JobContext
from core.locks import single_flight
from core.logging import get_logger
from core.notices import ReplyTarget, SyncLine, SyncReport

log = get_logger(__name__)

PROGRESS_EVERY_SECONDS = 2.0  # chat.update is rate limited (about 50 a minute per workspace)
SYNC_PROJECT_JOB = "agentpm.jira.sync_project"
INDEX_JOB = "agentpm.search.index"


def _line(result: SyncResult, outcome: str | None = None) -> SyncLine:
    return SyncLine(
        project=result.project, fetched=result.fetched, changed=result.changed, unchanged=result.unchanged,
        deleted=result.deleted, total=result.total, seconds=round(result.seconds, 1),
        outcome=outcome or result.outcome,
        error=result.error,
    )  # fmt: skip


async def _projects(client: JiraClient, ctx: JobContext, wanted: list[str] | None) -> list[str]:
    if wanted:
        return [jql.valid_project_key(k) for k in wanted]
    if ctx.settings.jira_projects:
        return [jql.valid_project_key(k) for k in ctx.settings.jira_projects]
    return sorted(jql.valid_project_key(str(p["key"])) for p in await client.projects())


def sync_project(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Scheduled: one project, no Slack message."""
    asyncio.run(_sync_project(ctx, payload))


async def _sync_project(ctx: JobContext, payload: dict[str, Any]) -> None:
    key = jql.valid_project_key(str(payload["project"]))
    async with JiraClient(JiraConfig.from_settings(ctx.settings)) as client:
        await _run_locked(ctx, client, key, full=bool(payload.get("full")))


async def _run_locked(
    ctx: JobContext, client: JiraClient, key: str, *, full: bool, progress: Any = None
) -> SyncResult:
    with single_flight(ctx.db, f"jira-sync:{key}") as held:
        if not held:
            log.info("jira.sync_skipped", project=key, reason="already running")
            return SyncResult(project=key, outcome="skipped", error="another sync of this project is running")
        site = (ctx.settings.jira_base_url or "").rstrip("/")
        result = await ProjectSync(ctx.db, client, site).run(key, full=full, progress=progress)
        await _metadata(ctx, client, key)
    if result.changed and ctx.search is not None:
        ctx.queue.enqueue(INDEX_JOB, {"project": key})  # embed what changed, on the index queue
    return result


async def _metadata(ctx: JobContext, client: JiraClient, key: str) -> None:
    """The create-issue modal's choices for this project; stale choices beat a failed issue sync."""
    try:
        await sync_metadata(ctx.db, client, [key])
    except Exception as exc:  # any failure: the issues are stored, the old metadata stays
        log.warning("jira.metadata_sync_failed", project=key, error=type(exc).__name__, detail=str(exc)[:200])


def sync_all(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The beat's tick: one job per project, so several workers share the work."""
    asyncio.run(_sync_all(ctx, payload))


async def _sync_all(ctx: JobContext, payload: dict[str, Any]) -> None:
    async with JiraClient(JiraConfig.from_settings(ctx.settings)) as client:
        projects = await _projects(client, ctx, None)
    for key in projects:
        ctx.queue.enqueue(SYNC_PROJECT_JOB, {"project": key, "full": bool(payload.get("full"))})


def sync_with_progress(ctx: JobContext, payload: dict[str, Any]) -> None:
    """`/pm sync`: a message kept up to date while the chosen projects sync, then a summary in its thread."""
    asyncio.run(_sync_with_progress(ctx, payload))


async def _sync_with_progress(ctx: JobContext, payload: dict[str, Any]) -> None:
    target = ReplyTarget.model_validate(payload["target"])
    full = bool(payload.get("full"))
    async with JiraClient(JiraConfig.from_settings(ctx.settings)) as client:
        projects = await _projects(client, ctx, payload.get("projects"))
        report = SyncReport(lines=[SyncLine(project=p) for p in projects], full=full)
        try:
            ts = await asyncio.to_thread(ctx.notifier.send, target, report)
        except Exception as exc:  # no progress message: the sync still runs and the summary still comes
            log.warning("sync.progress_post_failed", error=type(exc).__name__)
            ts = None
        last_update = 0.0

        def show(force: bool = False) -> None:
            nonlocal last_update
            if ts and (force or time.monotonic() - last_update >= PROGRESS_EVERY_SECONDS):
                last_update = time.monotonic()
                try:
                    ctx.notifier.update(target, ts, report)
                except Exception as exc:  # progress is best effort; the summary still comes
                    log.warning("sync.progress_update_failed", error=type(exc).__name__)

        for index, key in enumerate(projects):

            def progress(result: SyncResult, index: int = index) -> None:
                report.lines[index] = _line(result, "running")
                show()

            try:
                result = await _run_locked(ctx, client, key, full=full, progress=progress)
            except AgentPMError as exc:
                log.warning("jira.sync_failed", project=key, detail=str(exc)[:300])
                result = SyncResult(project=key, outcome="error", error=exc.user_message)
            report.lines[index] = _line(result)
            await asyncio.to_thread(show, True)
    report.done = True
    await asyncio.to_thread(show, True)
    summary = report.model_copy(update={"summary": True})
    thread = target.model_copy(update={"thread_ts": ts, "private": False}) if ts else target
    try:
        await asyncio.to_thread(ctx.notifier.send, thread, summary)
    except Exception as exc:  # the sync is done and recorded; a lost summary must not re-run it
        log.warning("sync.summary_failed", error=type(exc).__name__)
