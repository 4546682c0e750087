"""Incremental, resumable Jira sync of one project.

The cursor is the (updated, key) of the last stored issue, saved in the same transaction as the page it
ends, so a killed worker resumes where the database says and nothing is stored twice. Each run re-reads an
overlap window before the cursor (Jira's index lags, clocks drift); unchanged issues are recognised by their
content hash and are not re-indexed. Reconciliation lists every key of the project to find deleted and moved
issues.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.db.models import Document, JiraIssue, Project, SyncState
from core.db.session import Database
from core.errors import AgentPMError
from core.jira import jql
from core.jira.client import JiraClient, Page
from core.jira.store import parse_jira_time, upsert_issues
from core.logging import get_logger

log = get_logger(__name__)

OVERLAP = timedelta(minutes=5)
RECONCILE_EVERY = timedelta(hours=6)
PAGE_SIZE = 100
FIELDS = [
    "summary", "description", "status", "issuetype", "priority", "assignee", "reporter", "labels",
    "components", "created", "updated", "resolution", "resolutiondate", "project",
]  # fmt: skip


@dataclass
class SyncResult:
    project: str
    full: bool = False
    fetched: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    total: int | None = None
    seconds: float = 0.0
    outcome: str = "ok"  # ok | error | skipped
    error: str | None = None
    reconciled: bool = False
    requests: int = 0
    changed_keys: list[str] = field(default_factory=list)


Progress = Callable[[SyncResult], None]


def _cursor_key_number(key: str) -> tuple[str, int]:
    project, _, number = key.rpartition("-")
    return project, int(number) if number.isdigit() else 0


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class ProjectSync:
    def __init__(self, db: Database, client: JiraClient, site_url: str) -> None:
        self.db = db
        self.client = client
        self.site_url = site_url.rstrip("/")

    def _state(self, session: Session, key: str, name: str | None) -> SyncState:
        project = session.get(Project, key)
        if project is None:
            session.add(Project(key=key, name=name or key, url=f"{self.site_url}/browse/{key}"))
            session.flush()
        elif name and project.name in ("", key):
            project.name = name
        state = session.get(SyncState, key)
        if state is None:
            state = SyncState(project_key=key, issues_seen=0, issues_changed=0, issues_deleted=0)
            session.add(state)
            session.flush()
        return state

    async def run(
        self,
        project: str,
        *,
        full: bool = False,
        reconcile: bool | None = None,
        progress: Progress | None = None,
    ) -> SyncResult:
        key = jql.valid_project_key(project)
        result = SyncResult(project=key, full=full)
        started = time.perf_counter()
        requests_before = self.client.requests_made
        with self.db.session() as session:
            state = self._state(session, key, None)
            cursor = None if full else _aware(state.cursor_updated)
            reconciled_at = _aware(state.reconciled_at)
            state.status, state.started_at, state.last_error = "running", datetime.now(UTC), None
        since = cursor - OVERLAP if cursor else None
        try:
            # Each page is stored on a thread while the next one is fetched; pages are stored in order.
            storing: asyncio.Future[None] | None = None
            async for page in self._pages(key, since):
                if storing is not None:
                    await storing
                    if progress:
                        progress(result)
                result.total = page.total
                storing = asyncio.ensure_future(asyncio.to_thread(self._store_page, key, page.issues, result))
            if storing is not None:
                await storing
                if progress:
                    progress(result)
            due = reconciled_at is None or datetime.now(UTC) - reconciled_at >= RECONCILE_EVERY
            if reconcile or (reconcile is None and (full or due)):
                await self._reconcile(key, result)
                if progress:
                    progress(result)
        except AgentPMError as exc:
            # The stored reason is what /pm status shows: the user-facing message; the detail goes to the log.
            log.warning("jira.sync_failed", project=key, detail=str(exc)[:300])
            result.outcome, result.error = "error", exc.user_message
            self._finish(key, result, started, requests_before)
            raise
        except Exception as exc:
            result.outcome, result.error = "error", f"{type(exc).__name__}"
            self._finish(key, result, started, requests_before)
            raise
        self._finish(key, result, started, requests_before)
        return result

    async def _pages(self, key: str, since: datetime | None) -> AsyncIterator[Page]:
        """Issues updated since ``since``, oldest first.

        Cloud pages with ``nextPageToken``. Data Center's ``startAt`` offsets shift when an issue changes
        while we page (it jumps to the end, and the next page skips one issue), so every page there is a
        fresh query from the newest instant read so far, skipping the issues already read at that instant.
        """
        if await self.client.deployment() == "cloud":
            async for page in self.client.search(jql.updated_since(key, since), FIELDS, PAGE_SIZE):
                yield page
            return
        lower, ties = since, 0
        while True:
            page = await self.client.search_page(
                jql.updated_since(key, lower), FIELDS, PAGE_SIZE, start_at=ties
            )
            if not page.issues:
                return
            yield page
            if len(page.issues) < PAGE_SIZE:
                return
            instants = [parse_jira_time((raw.get("fields") or {}).get("updated")) for raw in page.issues]
            last = instants[-1]
            if last is None:  # no usable timestamps: fall back to offsets
                ties += len(page.issues)
                continue
            at_last = sum(1 for instant in instants if instant == last)
            ties = ties + at_last if lower is not None and last == lower else at_last
            lower = last

    def _store_page(
        self, key: str, issues: list[dict[str, Any]], result: SyncResult, *, advance_cursor: bool = True
    ) -> None:
        """One transaction: the page's issues and the cursor that says they are stored."""
        if not issues:
            return
        with self.db.session() as session:
            name = ((issues[0].get("fields") or {}).get("project") or {}).get("name")
            state = self._state(session, key, name)
            cursor = (_aware(state.cursor_updated), state.cursor_key)
            result.fetched += len(issues)
            mine = [
                r for r in issues if ((r.get("fields") or {}).get("project") or {}).get("key", key) == key
            ]
            # (an issue moved to another project since the search ran is stored by that project's sync)
            for raw, was_changed in zip(mine, upsert_issues(session, mine, self.site_url), strict=True):
                if was_changed:
                    result.changed += 1
                    result.changed_keys.append(raw["key"])
                else:
                    result.unchanged += 1
                updated = parse_jira_time((raw.get("fields") or {}).get("updated"))
                if updated is not None:
                    position = (updated, _cursor_key_number(raw["key"]))
                    current = (cursor[0], _cursor_key_number(cursor[1])) if cursor[0] and cursor[1] else None
                    if current is None or position > current:
                        cursor = (updated, raw["key"])
            if advance_cursor:
                state.cursor_updated, state.cursor_key = cursor
            state.issues_seen, state.issues_changed = result.fetched, result.changed

    async def _reconcile(self, key: str, result: SyncResult) -> None:
        """Compare every key Jira lists under this project with what is stored.

        Stored but no longer listed: deleted or moved away, so dropped from the index. Listed but not stored:
        missed (an offset shifted under a sync), so fetched now.
        """
        seen: set[str] = set()
        async for page in self.client.search(jql.all_keys(key), ["key"], 1000):
            seen.update(str(raw["key"]) for raw in page.issues)
        with self.db.session() as session:
            stored = set(
                session.scalars(
                    select(JiraIssue.key).where(JiraIssue.project_key == key, JiraIssue.deleted.is_(False))
                )
            )
        missing = sorted(seen - stored, key=_cursor_key_number)
        if missing:
            log.info("jira.reconcile_fetching_missing", project=key, count=len(missing))
            for start in range(0, len(missing), PAGE_SIZE):
                issues = await self.client.fetch_issues(missing[start : start + PAGE_SIZE], FIELDS)
                self._store_page(key, issues, result, advance_cursor=False)
        gone = sorted(stored - seen)
        with self.db.session() as session:
            if gone:
                session.execute(update(JiraIssue).where(JiraIssue.key.in_(gone)).values(deleted=True))
                session.execute(
                    delete(Document).where(Document.source == "jira", Document.external_id.in_(gone))
                )
            state = self._state(session, key, None)
            state.reconciled_at = datetime.now(UTC)
        result.deleted += len(gone)
        result.reconciled = True
        if gone:
            log.info("jira.reconciled", project=key, deleted=len(gone))

    def _finish(self, key: str, result: SyncResult, started: float, requests_before: int) -> None:
        result.seconds = time.perf_counter() - started
        result.requests = self.client.requests_made - requests_before
        with self.db.session() as session:
            state = self._state(session, key, None)
            state.status = result.outcome
            state.finished_at = datetime.now(UTC)
            state.issues_seen, state.issues_changed, state.issues_deleted = (
                result.fetched, result.changed, result.deleted,
            )  # fmt: skip
            state.last_error = result.error[:500] if result.error else None
            if result.outcome == "ok":
                state.last_success_at = state.finished_at
        log.info(
            "jira.sync_done", project=key, outcome=result.outcome, fetched=result.fetched,
            changed=result.changed, deleted=result.deleted, seconds=round(result.seconds, 2),
            requests=result.requests,
        )  # fmt: skip
