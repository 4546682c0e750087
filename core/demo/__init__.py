"""Bundled demo data (a fictional company's Jira) for `agentpm try` and first looks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import Project, SyncState
from core.jira.store import upsert_issue

DEMO_SITE = "https://northwind.atlassian.net"


def demo_issues() -> list[dict[str, Any]]:
    text = resources.files("core.demo").joinpath("jira_issues.json").read_text(encoding="utf-8")
    issues: list[dict[str, Any]] = json.loads(text)
    return issues


def load_demo(session: Session, now: datetime | None = None) -> int:
    """Store the demo projects and issues as if a sync had just finished; returns the issues stored."""
    now = now or datetime.now(UTC)
    issues = demo_issues()
    for raw in issues:
        project = raw["fields"]["project"]
        if session.get(Project, project["key"]) is None:
            session.add(
                Project(
                    key=project["key"],
                    name=project.get("name", ""),
                    url=f"{DEMO_SITE}/browse/{project['key']}",
                )
            )
            session.flush()
        upsert_issue(session, raw, DEMO_SITE)
    for project in session.scalars(select(Project)):
        state = session.get(SyncState, project.key) or SyncState(project_key=project.key)
        state.status, state.started_at, state.finished_at = "ok", now, now
        state.issues_seen = sum(1 for r in issues if r["fields"]["project"]["key"] == project.key)
        session.add(state)
    return len(issues)
