"""The fake Jira of the test suite (LocalJira over HTTP) and a generator of realistic issues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.localjira import LocalJira

__all__ = ["LocalJira", "jira_time", "make_issue", "make_issues"]

BASE = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def jira_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def make_issue(
    project: str, number: int, updated: datetime, summary: str | None = None, **fields: Any
) -> dict[str, Any]:
    key = f"{project}-{number}"
    body: dict[str, Any] = {
        "summary": summary or f"Issue {number} of {project}: checkout times out under load",
        "description": (
            "h3. Steps\n* open checkout\n* pay\n\n{noformat}\n"
            f"java.lang.IllegalStateException: {key}\n\tat com.example.Pay.run(Pay.java:42)\n{{noformat}}"
        ),
        "created": jira_time(updated - timedelta(days=3)),
        "updated": jira_time(updated),
        "status": {"name": "In Progress", "statusCategory": {"key": "indeterminate", "name": "In Progress"}},
        "issuetype": {"name": "Bug"},
        "priority": {"name": "High"},
        "project": {"key": project, "name": f"Project {project}"},
        "assignee": {"displayName": "Maya Chen", "emailAddress": "maya@northwind.example"},
        "reporter": None,
        "labels": ["checkout"],
        "components": [{"name": "api"}],
        "resolution": None,
        "resolutiondate": None,
    }
    body.update(fields)
    return {"id": str(10000 + number), "key": key, "fields": body}


def make_issues(
    project: str,
    count: int,
    *,
    start: datetime = BASE,
    step: timedelta = timedelta(minutes=1),
    same_second_every: int = 0,
) -> list[dict[str, Any]]:
    """``count`` issues updated ``step`` apart; with ``same_second_every`` N, groups of N share an instant."""
    issues = []
    for n in range(1, count + 1):
        slot = (n - 1) // same_second_every if same_second_every else n - 1
        issues.append(make_issue(project, n, start + step * slot))
    return issues
