"""Jira metadata for the create modal, synced from LocalJira (both flavours) and after each project sync."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot.localjira import LocalJira
from bot.localjira.writes import IssueType
from core.config import load_settings
from core.db.jira_meta_tables import JiraIssueType
from core.db.models import JiraIssue, SyncState
from core.db.session import Database, make_engine
from core.jira.client import JiraClient, JiraNotFound
from core.jira.jobs import sync_project
from core.jira.meta import issue_types, priorities, projects, sync_metadata
from core.jobs.context import JobContext
from tests.fakes.jira import make_issues
from tests.integration.jira_people import SERVICE_EMAIL, SERVICE_TOKEN, header, local_jira, service

pytestmark = pytest.mark.integration

PRIORITIES = [("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")]


@pytest.fixture
def db(migrated_pg: str) -> Iterator[Database]:
    database = Database(make_engine(load_settings(database_url=migrated_pg)))
    yield database
    database.dispose()


@pytest_asyncio.fixture(params=["cloud", "datacenter"])
async def jira(request: pytest.FixtureRequest) -> AsyncIterator[LocalJira]:
    server = local_jira(request.param)
    for issue in make_issues("WEB", 2):
        server.upsert(issue)
    async with server:
        yield server


async def test_sync_stores_issue_types_and_priorities(db: Database, jira: LocalJira) -> None:
    async with JiraClient(service(jira)) as client:
        await sync_metadata(db, client, ["PAY", "web"])
        await sync_metadata(db, client, ["PAY", "WEB"])  # idempotent
    expected = (
        [("10001", "Task"), ("10002", "Bug"), ("10003", "Story"), ("10000", "Epic")]
        if jira.flavour == "cloud"
        else [("3", "Task"), ("1", "Bug"), ("10001", "Story"), ("10000", "Epic")]
    )
    with db.session() as session:
        assert issue_types(session, "PAY") == expected  # the subtask type is left out
        assert issue_types(session, "web") == expected
        assert priorities(session) == PRIORITIES
        assert session.scalar(select(func.count()).select_from(JiraIssueType)) == 10  # subtasks stored
        assert issue_types(session, "NOPE") == []
    paths = {r.path for r in jira.requests}
    version = "3" if jira.flavour == "cloud" else "2"
    assert f"/rest/api/{version}/issue/createmeta/PAY/issuetypes" in paths
    assert "/rest/api/2/priority" in paths


async def test_a_change_in_jira_replaces_what_was_stored(db: Database, jira: LocalJira) -> None:
    async with JiraClient(service(jira)) as client:
        await sync_metadata(db, client, ["PAY", "WEB"])
        jira.set_issue_types("PAY", [IssueType("20", "Incident"), IssueType("21", "Problem")])
        await sync_metadata(db, client, ["PAY"])
    with db.session() as session:
        assert issue_types(session, "PAY") == [("20", "Incident"), ("21", "Problem")]
        assert len(issue_types(session, "WEB")) == 4  # not synced this time: kept


async def test_issue_types_are_read_page_by_page(db: Database, jira: LocalJira) -> None:
    many = [IssueType(str(100 + n), f"Type {n:03d}") for n in range(120)]
    jira.set_issue_types("PAY", many)
    async with JiraClient(service(jira)) as client:
        await sync_metadata(db, client, ["PAY"])
    with db.session() as session:
        assert [name for _, name in issue_types(session, "PAY")] == [f"Type {n:03d}" for n in range(120)]
    pages = [r for r in jira.requests if r.path.endswith("/createmeta/PAY/issuetypes")]
    assert [r.query.get("startAt") for r in pages] == ["0", "50", "100"]


async def test_a_project_that_fails_keeps_its_types_and_does_not_stop_the_others(
    db: Database, jira: LocalJira
) -> None:
    async with JiraClient(service(jira)) as client:
        await sync_metadata(db, client, ["PAY", "WEB"])
        version = "3" if jira.flavour == "cloud" else "2"
        jira.fail_next(f"/rest/api/{version}/issue/createmeta/WEB", 404)
        jira.set_issue_types("PAY", [IssueType("20", "Incident")])
        await sync_metadata(db, client, ["WEB", "PAY"])
        jira.fail_next("/rest/api/2/priority", 404)
        with pytest.raises(JiraNotFound):
            await sync_metadata(db, client, ["PAY"])
    with db.session() as session:
        assert len(issue_types(session, "WEB")) == 4
        assert issue_types(session, "PAY") == [("20", "Incident")]
        assert priorities(session) == PRIORITIES


async def test_no_permission_to_create_means_no_types(db: Database, jira: LocalJira) -> None:
    jira.forbid(header(jira.flavour, SERVICE_EMAIL, SERVICE_TOKEN), "create")
    async with JiraClient(service(jira)) as client:
        await sync_metadata(db, client, ["PAY"])
    with db.session() as session:
        assert issue_types(session, "PAY") == []


async def test_projects_typeahead(db: Database, jira: LocalJira) -> None:
    async with JiraClient(service(jira)) as client:
        await sync_metadata(db, client, ["PAY", "WEB"])
    with db.session() as session:
        assert projects(session) == [("PAY", "PAY"), ("WEB", "WEB")]  # names come with the issue sync
        assert projects(session, "we") == [("WEB", "WEB")]
        assert projects(session, "%") == []  # LIKE wildcards are text
        assert projects(session, "", limit=1) == [("PAY", "PAY")]


# --- after a project sync -----------------------------------------------------------------------------------


class NoNotices:
    def send(self, target: object, notice: object) -> None:
        return None

    def update(self, target: object, ts: str, notice: object) -> None:
        return None


class NoQueue:
    backend = "none"

    def enqueue(self, name: str, payload: dict[str, object]) -> str:
        return "0"


@pytest.fixture
def jira_in_thread() -> Iterator[LocalJira]:
    """LocalJira on its own loop: the job runs its own with asyncio.run."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = local_jira("datacenter", issues=12)
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.fixture
def job(jira_in_thread: LocalJira, db: Database, migrated_pg: str) -> JobContext:
    settings = load_settings(
        database_url=migrated_pg, jira_base_url=jira_in_thread.base_url, jira_api_token=SERVICE_TOKEN,
        jira_email=None, jira_projects=[],
    )  # fmt: skip
    return JobContext(settings=settings, db=db, notifier=NoNotices(), queue=NoQueue())  # type: ignore[arg-type]


def test_the_sync_job_refreshes_the_metadata(job: JobContext, jira_in_thread: LocalJira) -> None:
    sync_project(job, {"project": "PAY"})
    with job.db.session() as session:
        assert issue_types(session, "PAY") == [
            ("3", "Task"),
            ("1", "Bug"),
            ("10001", "Story"),
            ("10000", "Epic"),
        ]
        assert priorities(session) == PRIORITIES
        assert projects(session, "pay") == [("PAY", "Project PAY")]


def test_a_metadata_failure_does_not_fail_the_issue_sync(
    job: JobContext, jira_in_thread: LocalJira, caplog: pytest.LogCaptureFixture
) -> None:
    jira_in_thread.fail_next("/rest/api/2/priority", 403)
    sync_project(job, {"project": "PAY"})
    with job.db.session() as session:
        assert session.scalar(select(func.count()).select_from(JiraIssue)) == 12
        state = session.get(SyncState, "PAY")
        assert state is not None
        assert state.status == "ok"
        assert priorities(session) == []
    assert "jira.metadata_sync_failed" in caplog.text
