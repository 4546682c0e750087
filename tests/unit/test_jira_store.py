"""core.jira.store: Jira REST issues into rows, with a content hash so unchanged issues stay indexed."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db.models import Document, JiraIssue, Project
from core.db.session import Database
from core.jira.store import content_hash, issue_fields, parse_jira_time, upsert_issue

SITE = "https://acme.atlassian.net/"


def raw_issue(**field_overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "summary": "Checkout fails for EU cards",
        "description": None,
        "created": "2026-10-02T09:14:33.000+0000",
        "updated": "2026-10-05T17:01:00.000+0200",
        "resolutiondate": None,
        "status": {"name": "To Do", "statusCategory": {"key": "new", "name": "To Do"}},
        "issuetype": {"name": "Bug"},
        "priority": None,
        "resolution": None,
        "project": {"key": "PAY", "name": "Payments"},
        "assignee": None,
        "reporter": {"displayName": "Ravi Iyer", "emailAddress": "ravi@acme.example", "accountId": "5b10"},
        "labels": ["checkout", "eu"],
        "components": [{"id": "1", "name": "API"}, {"id": "2", "name": "Web"}],
    }
    fields.update(field_overrides)
    return {"id": 10042, "key": "PAY-42", "self": f"{SITE}rest/api/2/issue/10042", "fields": fields}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-02T09:14:33.000+0000", datetime(2026, 10, 2, 9, 14, 33, tzinfo=UTC)),
        ("2026-10-02T09:14:33.000Z", datetime(2026, 10, 2, 9, 14, 33, tzinfo=UTC)),
        ("2026-10-02T09:14:33Z", datetime(2026, 10, 2, 9, 14, 33, tzinfo=UTC)),
        ("2026-10-02T15:14:33.500+05:30", datetime(2026, 10, 2, 9, 44, 33, 500000, tzinfo=UTC)),
        ("2026-10-02T15:14:33.000+0530", datetime(2026, 10, 2, 9, 44, 33, tzinfo=UTC)),
        ("2026-10-02T02:14:33.000-0700", datetime(2026, 10, 2, 9, 14, 33, tzinfo=UTC)),
        ("2026-10-02T09:14:33", datetime(2026, 10, 2, 9, 14, 33, tzinfo=UTC)),
        (" 2026-10-02T09:14:33.000+0000 ", datetime(2026, 10, 2, 9, 14, 33, tzinfo=UTC)),
        ("2026-10-02", datetime(2026, 10, 2, tzinfo=UTC)),
    ],
)
def test_parse_jira_time(value: str, expected: datetime) -> None:
    parsed = parse_jira_time(value)
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", [None, ""])
def test_parse_jira_time_of_nothing(value: str | None) -> None:
    assert parse_jira_time(value) is None


def test_parse_jira_time_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="yesterday"):
        parse_jira_time("yesterday")


def test_issue_fields_from_a_realistic_issue() -> None:
    values = issue_fields(raw_issue(), SITE)
    assert values["key"] == "PAY-42"
    assert values["jira_id"] == "10042"
    assert values["project_key"] == "PAY"
    assert values["summary"] == "Checkout fails for EU cards"
    assert values["description"] == ""
    assert values["status"] == "To Do"
    assert values["status_category"] == "new"
    assert values["issue_type"] == "Bug"
    assert values["priority"] is None
    assert values["assignee_name"] is None
    assert values["assignee_email"] is None
    assert values["reporter_name"] == "Ravi Iyer"
    assert values["reporter_email"] == "ravi@acme.example"
    assert values["labels"] == ["checkout", "eu"]
    assert values["components"] == ["API", "Web"]
    assert values["created"] == datetime(2026, 10, 2, 9, 14, 33, tzinfo=UTC)
    assert values["updated"] == datetime(2026, 10, 5, 15, 1, tzinfo=UTC)
    assert values["resolution"] is None
    assert values["resolved"] is None
    assert values["url"] == "https://acme.atlassian.net/browse/PAY-42"


def test_issue_fields_of_a_resolved_issue() -> None:
    values = issue_fields(
        raw_issue(
            description="Steps:\n1. pay",
            priority={"name": "High"},
            assignee={"displayName": "Maya Chen", "emailAddress": "maya@acme.example"},
            resolution={"name": "Fixed"},
            resolutiondate="2026-10-06T08:00:00.000+0000",
        ),
        SITE,
    )
    assert values["description"] == "Steps:\n1. pay"
    assert values["priority"] == "High"
    assert values["assignee_name"] == "Maya Chen"
    assert values["resolution"] == "Fixed"
    assert values["resolved"] == datetime(2026, 10, 6, 8, tzinfo=UTC)


def test_issue_fields_of_a_sparse_issue() -> None:
    values = issue_fields({"key": "OPS-1", "fields": {"updated": None}}, "https://jira.example")
    assert values["project_key"] == "OPS"
    assert values["summary"] == ""
    assert values["status"] == ""
    assert values["labels"] == []
    assert values["components"] == []
    assert values["updated"] == values["created"]
    assert values["created"].tzinfo is not None
    assert values["url"] == "https://jira.example/browse/OPS-1"


def test_content_hash_ignores_updated_and_jira_id_only() -> None:
    base = issue_fields(raw_issue(), SITE)
    touched = {**base, "updated": base["updated"] + timedelta(days=1), "jira_id": "999"}
    edited = {**base, "summary": "Checkout fails for all cards"}
    assert content_hash(base) == content_hash(touched)
    assert content_hash(base) != content_hash(edited)


@pytest.fixture
def session(db: Database) -> Any:
    with db.session() as s:
        s.add(Project(key="PAY", name="Payments"))
        s.flush()
        yield s


def test_upsert_inserts_the_issue_and_its_document(session: Any) -> None:
    assert upsert_issue(session, raw_issue(description="Card type 5 declined."), SITE)
    issue = session.scalar(select(JiraIssue).where(JiraIssue.key == "PAY-42"))
    assert issue.summary == "Checkout fails for EU cards"
    assert issue.assignee_name is None
    assert len(issue.content_hash) == 64
    assert not issue.deleted
    document = session.scalar(select(Document).where(Document.external_id == "PAY-42"))
    assert document.source == "jira"
    assert document.title == "PAY-42: Checkout fails for EU cards"
    assert document.body == "Card type 5 declined."
    assert document.url == "https://acme.atlassian.net/browse/PAY-42"
    assert document.project_key == "PAY"
    assert document.meta == {
        "status": "To Do",
        "status_category": "new",
        "assignee": None,
        "priority": None,
        "type": "Bug",
    }
    assert document.content_hash == issue.content_hash
    assert document.indexed_at is None


def test_unchanged_reupsert_returns_false_and_keeps_the_index(session: Any) -> None:
    assert upsert_issue(session, raw_issue(), SITE)
    document = session.scalar(select(Document).where(Document.external_id == "PAY-42"))
    indexed = datetime(2026, 10, 6, tzinfo=UTC)
    document.indexed_at = indexed
    session.flush()

    again = raw_issue(updated="2026-10-07T10:00:00.000+0000")  # only the timestamp moved
    assert not upsert_issue(session, again, SITE)
    session.flush()
    assert document.indexed_at == indexed
    issue = session.scalar(select(JiraIssue).where(JiraIssue.key == "PAY-42"))
    assert issue.updated.replace(tzinfo=UTC) == datetime(2026, 10, 7, 10, tzinfo=UTC)
    assert session.scalar(select(func.count()).select_from(JiraIssue)) == 1
    assert session.scalar(select(func.count()).select_from(Document)) == 1


def test_changed_summary_returns_true_and_resets_the_index(session: Any) -> None:
    assert upsert_issue(session, raw_issue(), SITE)
    document = session.scalar(select(Document).where(Document.external_id == "PAY-42"))
    document.indexed_at = datetime(2026, 10, 6, tzinfo=UTC)
    session.flush()
    before = document.content_hash

    assert upsert_issue(session, raw_issue(summary="Checkout fails for all cards"), SITE)
    session.flush()
    assert document.indexed_at is None
    assert document.title == "PAY-42: Checkout fails for all cards"
    assert document.content_hash != before
    assert session.scalar(select(func.count()).select_from(Document)) == 1


def test_deleted_issue_comes_back_on_upsert(session: Any) -> None:
    raw = raw_issue()
    assert upsert_issue(session, raw, SITE)
    issue = session.scalar(select(JiraIssue).where(JiraIssue.key == "PAY-42"))
    issue.deleted = True
    session.flush()
    assert upsert_issue(session, copy.deepcopy(raw), SITE)
    assert not issue.deleted


def test_times_are_stored_in_utc(session: Any) -> None:
    upsert_issue(session, raw_issue(created="2026-10-02T11:14:33.000+0200"), SITE)
    session.flush()
    session.expire_all()
    issue = session.scalar(select(JiraIssue).where(JiraIssue.key == "PAY-42"))
    created = issue.created if issue.created.tzinfo else issue.created.replace(tzinfo=UTC)
    assert created == datetime(2026, 10, 2, 9, 14, 33, tzinfo=UTC)
