"""core.demo and core.status: the bundled demo data and the `agentpm status --json` shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func, select

from core.db.models import Chunk, Document, JiraIssue, Project, SyncState
from core.db.session import Database
from core.demo import demo_issues, load_demo
from core.status import build_status, status_json

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_demo_issues_are_realistic() -> None:
    issues = demo_issues()
    assert len(issues) == 40
    keys = [i["key"] for i in issues]
    assert len(set(keys)) == 40
    assert all(i["fields"]["project"]["key"] == k.split("-")[0] for i, k in zip(issues, keys, strict=True))


def test_load_demo_stores_two_synced_projects(db: Database) -> None:
    with db.session() as session:
        assert load_demo(session, now=NOW) == 40
    with db.session() as session:
        projects = session.scalars(select(Project).order_by(Project.key)).all()
        assert len(projects) == 2
        assert session.scalar(select(func.count()).select_from(JiraIssue)) == 40
        assert (
            session.scalar(select(func.count()).select_from(Document).where(Document.source == "jira")) == 40
        )
        states = session.scalars(select(SyncState)).all()
        assert {s.project_key for s in states} == {p.key for p in projects}
        assert all(s.status == "ok" for s in states)
        assert sum(s.issues_seen for s in states) == 40
        assert all(s.finished_at is not None for s in states)


def test_load_demo_twice_changes_nothing(db: Database) -> None:
    with db.session() as session:
        load_demo(session, now=NOW)
    with db.session() as session:
        load_demo(session, now=NOW)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(JiraIssue)) == 40
        assert session.scalar(select(func.count()).select_from(Document)) == 40
        assert session.scalar(select(func.count()).select_from(Project)) == 2


def test_status_of_the_demo(db: Database) -> None:
    with db.session() as session:
        load_demo(session, now=NOW)
    with db.session() as session:
        report = build_status(session, pending_jobs=2)
    assert [p.last_outcome for p in report.projects] == ["ok", "ok"]
    assert [p.key for p in report.projects] == sorted(p.key for p in report.projects)
    assert sum(p.issues for p in report.projects) == 40
    assert all(p.last_sync == NOW for p in report.projects)
    assert all(p.last_error is None for p in report.projects)
    assert report.documents == {"jira": 40, "slack": 0, "meeting": 0}
    assert report.vectors == 0

    data = status_json(report)
    json.dumps(data)  # serialisable as is
    assert set(data) >= {"jira", "documents", "index"}
    assert set(data["jira"]) == {"projects"}
    assert set(data["jira"]["projects"]) == {p.key for p in report.projects}
    for key, project in data["jira"]["projects"].items():
        assert set(project) == {"issues", "last_sync", "last_outcome"}
        assert project["last_outcome"] == "ok"
        assert datetime.fromisoformat(project["last_sync"]) == NOW
        assert project["issues"] == next(p.issues for p in report.projects if p.key == key)
    assert data["documents"] == {"jira": 40, "slack": 0, "meeting": 0}
    assert data["index"] == {"backend": "local", "vectors": 0}
    assert data["jobs"] == {"pending": 2}


def test_status_counts_vectors_errors_and_deleted_issues(db: Database) -> None:
    with db.session() as session:
        load_demo(session, now=NOW)
    with db.session() as session:
        first, second = session.scalars(select(Project).order_by(Project.key)).all()
        state = session.get(SyncState, second.key)
        assert state is not None
        state.status, state.last_error = "error", "HTTP 401 from Jira"
        gone = session.scalars(select(JiraIssue).where(JiraIssue.project_key == first.key)).first()
        assert gone is not None
        gone.deleted = True
        for document in session.scalars(select(Document).limit(7)):  # vectors are the embedded chunks
            session.add(Chunk(document_id=document.id, ordinal=0, text="t", vector=b"\0" * 16, model="m"))
        session.add(Project(key="NEW", name="Not synced"))
    with db.session() as session:
        report = build_status(session, index_backend="pinecone")
    by_key = {p.key: p for p in report.projects}
    assert by_key[second.key].last_outcome == "error"
    assert by_key[second.key].last_error == "HTTP 401 from Jira"
    assert by_key[first.key].last_error is None
    assert by_key["NEW"].issues == 0
    assert by_key["NEW"].last_sync is None
    assert by_key["NEW"].last_outcome is None
    assert sum(p.issues for p in report.projects) == 39
    assert report.vectors == 7
    data = status_json(report)
    assert data["index"] == {"backend": "pinecone", "vectors": 7}
    assert data["jira"]["projects"]["NEW"] == {"issues": 0, "last_sync": None, "last_outcome": None}


def test_status_of_an_empty_database(db: Database) -> None:
    with db.session() as session:
        data = status_json(build_status(session))
    assert data["jira"] == {"projects": {}}
    assert data["documents"] == {"jira": 0, "slack": 0, "meeting": 0}
    assert data["index"] == {"backend": "local", "vectors": 0}
    assert data["jobs"] == {"pending": None}
