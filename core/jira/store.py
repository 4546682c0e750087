"""Turning a Jira REST issue into stored rows (the issue and its searchable document)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import Document, JiraIssue
from core.jira.text import description_text
from core.search.text import searchable_text


def parse_jira_time(value: str | None) -> datetime | None:
    """Jira's ``2026-10-02T09:14:33.000+0000`` (and ISO variants) as an aware UTC datetime."""
    if not value:
        return None
    text = value.strip()
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _name(obj: Any) -> str | None:
    return obj.get("name") if isinstance(obj, dict) else None


def issue_fields(raw: dict[str, Any], site_url: str) -> dict[str, Any]:
    """The columns of ``jira_issues`` from a REST v2/v3 search result (description as stored text)."""
    fields = raw.get("fields") or {}
    status = fields.get("status") or {}
    assignee = fields.get("assignee") or {}
    reporter = fields.get("reporter") or {}
    description = fields.get("description")
    created = parse_jira_time(fields.get("created")) or datetime.now(UTC)
    return {
        "key": raw["key"],
        "jira_id": str(raw.get("id", "")),
        "project_key": (fields.get("project") or {}).get("key") or raw["key"].split("-")[0],
        "summary": fields.get("summary") or "",
        "description": description_text(description),
        "status": status.get("name", ""),
        "status_category": (status.get("statusCategory") or {}).get("key", ""),
        "issue_type": _name(fields.get("issuetype")) or "",
        "priority": _name(fields.get("priority")),
        "assignee_name": assignee.get("displayName"),
        "assignee_email": assignee.get("emailAddress"),
        "reporter_name": reporter.get("displayName"),
        "reporter_email": reporter.get("emailAddress"),
        "labels": list(fields.get("labels") or []),
        "components": [c.get("name", "") for c in fields.get("components") or []],
        "created": created,
        "updated": parse_jira_time(fields.get("updated")) or created,
        "resolution": _name(fields.get("resolution")),
        "resolved": parse_jira_time(fields.get("resolutiondate")),
        "url": f"{site_url.rstrip('/')}/browse/{raw['key']}",
    }


def content_hash(values: dict[str, Any]) -> str:
    """Changes to what search shows change the hash; a re-sync of an unchanged issue does not."""
    relevant = {k: v for k, v in values.items() if k not in ("updated", "jira_id")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()


def upsert_issue(session: Session, raw: dict[str, Any], site_url: str) -> bool:
    """Insert or update one issue and its document; returns True when its content changed."""
    return upsert_issues(session, [raw], site_url)[0]


def upsert_issues(session: Session, raws: list[dict[str, Any]], site_url: str) -> list[bool]:
    """Insert or update a page of issues and their documents; True for each whose content changed.

    Existing rows are loaded with two ``IN`` queries and written in one flush: per-issue lookups would make
    SQLAlchemy flush before every query and cost a round trip per issue.
    """
    values = [issue_fields(raw, site_url) for raw in raws]
    keys = [v["key"] for v in values]
    issues = {i.key: i for i in session.scalars(select(JiraIssue).where(JiraIssue.key.in_(keys)))}
    documents = {
        d.external_id: d
        for d in session.scalars(
            select(Document).where(Document.source == "jira", Document.external_id.in_(keys))
        )
    }
    now = datetime.now(UTC)
    changed: list[bool] = []
    with session.no_autoflush:
        for fields in values:
            changed.append(_apply(session, fields, issues, documents, now))
    session.flush()
    return changed


def _apply(
    session: Session,
    values: dict[str, Any],
    issues: dict[str, JiraIssue],
    documents: dict[str, Document],
    now: datetime,
) -> bool:
    digest = content_hash(values)
    issue = issues.get(values["key"])
    if issue is not None and issue.content_hash == digest and not issue.deleted:
        issue.updated, issue.synced_at = values["updated"], now
        return False
    if issue is None:
        issue = JiraIssue(**values)
        session.add(issue)
        issues[values["key"]] = issue
    else:
        for name, value in values.items():
            setattr(issue, name, value)
    issue.content_hash, issue.deleted, issue.synced_at = digest, False, now
    document = documents.get(values["key"])
    if document is None:
        document = Document(source="jira", external_id=values["key"])
        session.add(document)
        documents[values["key"]] = document
    document.title = f"{values['key']}: {values['summary']}"
    document.body = values["description"]
    document.search_text = searchable_text(document.title, document.body)
    document.url = values["url"]
    document.project_key = values["project_key"]
    document.meta = {
        "status": values["status"], "status_category": values["status_category"],
        "assignee": values["assignee_name"], "priority": values["priority"], "type": values["issue_type"],
    }  # fmt: skip
    document.content_hash = digest
    document.updated_at = values["updated"]
    document.indexed_at = None  # changed content must be embedded again
    return True
