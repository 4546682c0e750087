"""Jira sync against the fake Jira over HTTP, on PostgreSQL: complete, incremental, resumable, polite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from core.config import load_settings
from core.db.models import Document, JiraIssue, SyncState
from core.db.session import Database, make_engine
from core.errors import InvalidInput
from core.jira.auth import JiraUnavailable
from core.jira.client import JiraClient, JiraConfig
from core.jira.jql import valid_project_key
from core.jira.sync import ProjectSync, SyncResult
from tests.fakes.jira import LocalJira, make_issue, make_issues

pytestmark = pytest.mark.integration


@pytest.fixture
def db(migrated_pg: str) -> Database:
    database = Database(make_engine(load_settings(database_url=migrated_pg)))
    yield database  # type: ignore[misc]
    database.dispose()


@pytest_asyncio.fixture(params=["cloud", "datacenter"])
async def jira(request: pytest.FixtureRequest) -> AsyncIterator[LocalJira]:
    async with LocalJira(make_issues("PAY", 250), flavour=request.param) as server:
        yield server


def config(jira: LocalJira, **overrides: Any) -> JiraConfig:
    values: dict[str, Any] = {"base_url": jira.base_url, "email": "bot@northwind.example", "token": "t"}
    values.update(overrides)
    return JiraConfig(**values)


async def run(db: Database, jira: LocalJira, project: str = "PAY", **kwargs: Any) -> SyncResult:
    async with JiraClient(config(jira)) as client:
        return await ProjectSync(db, client, jira.base_url).run(project, **kwargs)


def stored(db: Database, project: str = "PAY") -> list[str]:
    with db.session() as session:
        return list(session.scalars(
            select(JiraIssue.key).where(JiraIssue.project_key == project, JiraIssue.deleted.is_(False))
        ))  # fmt: skip


async def test_full_then_incremental(db: Database, jira: LocalJira) -> None:
    first = await run(db, jira)
    assert (first.fetched, first.changed, first.outcome) == (250, 250, "ok")
    assert sorted(stored(db)) == sorted(f"PAY-{n}" for n in range(1, 251))
    with db.session() as session:
        state = session.get(SyncState, "PAY")
        assert state is not None
        assert state.status == "ok"
        assert state.cursor_key == "PAY-250"
        document = session.scalar(select(Document).where(Document.external_id == "PAY-7"))
        assert document is not None
        assert "java.lang.IllegalStateException: PAY-7" in document.body  # stack traces kept as text
        assert "{noformat}" not in document.body
    again = await run(db, jira)
    assert again.changed == 0  # nothing re-indexed
    assert again.fetched < 20  # only the overlap window is read again
    jira.touch("PAY-3", summary="Checkout times out for 3-D Secure cards")
    third = await run(db, jira)
    assert third.changed_keys == ["PAY-3"]


async def test_the_old_cloud_search_is_never_called(db: Database, jira: LocalJira) -> None:
    await run(db, jira)
    paths = {r.path for r in jira.requests}
    assert "/rest/api/3/search" not in paths
    assert ("/rest/api/3/search/jql" in paths) == (jira.flavour == "cloud")
    assert ("/rest/api/2/search" in paths) == (jira.flavour == "datacenter")


async def test_ties_in_the_same_second_across_a_page_boundary(db: Database) -> None:
    issues = make_issues("PAY", 230, same_second_every=115)  # two instants, each shared by 115 issues
    async with LocalJira(issues) as jira:
        result = await run(db, jira)
        assert result.fetched == 230
        assert len(stored(db)) == 230
        newest = datetime(2026, 9, 1, 9, 1, tzinfo=UTC)
        jira.upsert(make_issue("PAY", 231, newest))  # arrives in the same second as the last page
        second = await run(db, jira)
        assert second.changed_keys == ["PAY-231"]
        assert len(stored(db)) == 231


async def test_an_issue_updated_during_the_sync_is_not_lost(db: Database) -> None:
    async with LocalJira(make_issues("PAY", 300)) as jira:
        touched = False

        def progress(result: SyncResult) -> None:
            nonlocal touched
            if not touched and result.fetched >= 100:
                touched = True
                jira.touch("PAY-5", summary="Changed while the sync was running")

        await run(db, jira, progress=progress)
        await run(db, jira)  # the next incremental run at the latest
        with db.session() as session:
            issue = session.scalar(select(JiraIssue).where(JiraIssue.key == "PAY-5"))
            assert issue is not None
            assert issue.summary == "Changed while the sync was running"


class Killed(BaseException):
    """Stands in for a worker killed mid-sync (not an Exception: nothing may catch it)."""


@pytest.mark.parametrize("kill_after_pages", [1, 2, 4])
async def test_a_killed_sync_resumes_without_losing_or_duplicating(
    db: Database, kill_after_pages: int
) -> None:
    async with LocalJira(make_issues("PAY", 500)) as jira:

        def progress(result: SyncResult) -> None:
            if result.fetched >= kill_after_pages * 100:
                raise Killed

        with pytest.raises(Killed):
            await run(db, jira, progress=progress)
        assert len(stored(db)) == kill_after_pages * 100  # every stored page is checkpointed
        jira.clear_requests()
        resumed = await run(db, jira, reconcile=False)
        assert resumed.fetched < 500 - kill_after_pages * 100 + 100  # resumed near the checkpoint
        keys = stored(db)
        assert len(keys) == len(set(keys)) == 500


async def test_deleted_and_moved_issues_leave_the_index(db: Database) -> None:
    issues = make_issues("PAY", 30) + make_issues("WEB", 5)
    async with LocalJira(issues) as jira:
        await run(db, jira, "PAY")
        await run(db, jira, "WEB")
        jira.delete("PAY-4")
        jira.move("PAY-9", "WEB-6", "WEB")
        result = await run(db, jira, "PAY", reconcile=True)
        await run(db, jira, "WEB")
        assert result.deleted == 2
        keys = stored(db, "PAY")
        assert "PAY-4" not in keys
        assert "PAY-9" not in keys
        assert "WEB-6" in stored(db, "WEB")
        with db.session() as session:
            docs = set(session.scalars(select(Document.external_id).where(Document.source == "jira")))
        assert "PAY-4" not in docs
        assert "PAY-9" not in docs
        assert "WEB-6" in docs


async def test_rate_limits_and_outages_are_retried_politely(db: Database) -> None:
    async with LocalJira(make_issues("PAY", 150)) as jira:
        jira.fail_next("/rest/api/3/search/jql", 429, retry_after=0.2, times=2)
        jira.fail_next("/rest/api/3/search/jql", 503, times=1)
        started = datetime.now(UTC)
        result = await run(db, jira)
        assert result.fetched == 150
        assert datetime.now(UTC) - started >= timedelta(seconds=0.4)  # Retry-After was honoured
        statuses = [r.status for r in jira.requests if r.path == "/rest/api/3/search/jql"]
        assert statuses.count(429) == 2
        assert statuses.count(503) == 1


async def test_jira_down_marks_the_sync_failed_and_the_next_run_resumes(db: Database) -> None:
    async with LocalJira(make_issues("PAY", 300)) as jira:

        def progress(result: SyncResult) -> None:
            if result.fetched == 100 and not jira_failing:
                jira_failing.append(True)
                jira.fail_next("/rest/api/3/search/jql", 503, times=3)

        jira_failing: list[bool] = []
        async with JiraClient(config(jira, attempts=2, max_backoff_seconds=0.05)) as client:
            with pytest.raises(JiraUnavailable):
                await ProjectSync(db, client, jira.base_url).run("PAY", progress=progress)
        with db.session() as session:
            state = session.get(SyncState, "PAY")
            assert state is not None
            assert state.status == "error"
            assert "Jira is not answering" in (state.last_error or "")
        before = len(stored(db))
        assert before in (100, 200)  # the pages stored before Jira went down stay (one may be in flight)
        jira.clear_requests()
        result = await run(db, jira)  # one more 503 is left: retried, then the run resumes
        assert result.outcome == "ok"
        assert result.fetched < 300 - before + 100  # from the checkpoint, not from the start
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(JiraIssue)) == 300
            state = session.get(SyncState, "PAY")
            assert state is not None
            assert state.status == "ok"
            assert state.last_error is None


@pytest.mark.parametrize("key", ['PAY" OR project = "HR', "pay-1", "1PAY", "PAY)", "", "PAY OR"])
def test_project_keys_with_jql_metacharacters_are_rejected(key: str) -> None:
    with pytest.raises(InvalidInput):
        valid_project_key(key)


@pytest.mark.parametrize("flavour", ["cloud", "datacenter"])
async def test_an_edit_during_paging_does_not_lose_the_issue_behind_it(db: Database, flavour: str) -> None:
    """An issue edited mid-sync jumps to the end; with offset paging the next page would skip one issue."""
    async with LocalJira(make_issues("PAY", 250), flavour=flavour) as jira:  # type: ignore[arg-type]
        edited = False

        def progress(result: SyncResult) -> None:
            nonlocal edited
            if not edited:
                edited = True
                jira.touch("PAY-1", summary="Edited while paging")

        result = await run(db, jira, full=True, progress=progress)  # a full sync also reconciles
        assert result.outcome == "ok"
        keys = stored(db)
        assert len(keys) == len(set(keys)) == 250


async def test_reconciliation_fetches_issues_a_sync_missed(db: Database, jira: LocalJira) -> None:
    await run(db, jira)
    with db.session() as session:
        session.execute(
            JiraIssue.__table__.delete().where(JiraIssue.key.in_(["PAY-10", "PAY-11"]))  # type: ignore[attr-defined]
        )
    result = await run(db, jira, reconcile=True)
    assert {"PAY-10", "PAY-11"} <= set(result.changed_keys)
    assert len(stored(db)) == 250
