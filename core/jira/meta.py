"""The Jira metadata the create-issue modal offers (projects, issue types, priorities), synced and queried.

A modal must open within Slack's three seconds, so its choices come from the database; they are refreshed
after each project sync. Cloud pages the issue types of ``createmeta/{project}/issuetypes`` as
``issueTypes``; Data Center (9+) as ``values``; both with ``startAt``/``maxResults``/``total``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.orm import Session

from core.db.jira_meta_tables import JiraIssueType, JiraPriority
from core.db.models import Project
from core.db.session import Database
from core.errors import AgentPMError
from core.jira.client import JiraClient
from core.jira.jql import valid_project_key
from core.logging import get_logger

log = get_logger(__name__)

PAGE_SIZE = 50
MAX_PAGES = 20  # 1,000 issue types is far beyond any real project; a broken paginator must not loop forever


@dataclass(frozen=True)
class IssueTypeMeta:
    id: str
    name: str
    subtask: bool


@dataclass(frozen=True)
class PriorityMeta:
    id: str
    name: str


async def fetch_issue_types(client: JiraClient, project: str) -> list[IssueTypeMeta]:
    """The issue types the acting account may create in ``project``, in Jira's order."""
    key = valid_project_key(project)
    api = "/rest/api/3" if await client.deployment() == "cloud" else "/rest/api/2"
    found: list[IssueTypeMeta] = []
    start = 0
    for _ in range(MAX_PAGES):
        page = await client.request(
            "GET",
            f"{api}/issue/createmeta/{key}/issuetypes",
            params={"startAt": start, "maxResults": PAGE_SIZE},
        )
        values = _page_values(page)
        found.extend(
            IssueTypeMeta(str(v["id"]), str(v.get("name") or v["id"]), bool(v.get("subtask")))
            for v in values
            if isinstance(v, dict) and v.get("id") is not None
        )
        start += len(values)
        total = page.get("total") if isinstance(page, dict) else None
        last = page.get("isLast") if isinstance(page, dict) else None
        if not values or last is True or (isinstance(total, int) and start >= total):
            break
    return found


def _page_values(page: Any) -> list[Any]:
    if not isinstance(page, dict):
        return []
    for name in ("issueTypes", "values", "createMetaIssueType"):
        values = page.get(name)
        if isinstance(values, list):
            return values
    return []


async def fetch_priorities(client: JiraClient) -> list[PriorityMeta]:
    """The site's priorities, highest first (``/rest/api/2/priority`` answers on both flavours)."""
    data = await client.request("GET", "/rest/api/2/priority")
    return [
        PriorityMeta(str(p["id"]), str(p.get("name") or p["id"]))
        for p in data or []
        if isinstance(p, dict) and p.get("id") is not None
    ]


async def sync_metadata(db: Database, client: JiraClient, projects: list[str]) -> None:
    """Replace the stored issue types of each project and the priorities with what Jira says now.

    A project whose metadata cannot be read keeps what was stored (logged); priorities fail the call.
    """
    priorities = await fetch_priorities(client)
    types: dict[str, list[IssueTypeMeta]] = {}
    for project in projects:
        key = valid_project_key(project)
        try:
            types[key] = await fetch_issue_types(client, key)
        except AgentPMError as exc:
            log.warning("jira.metadata_failed", project=key, error=type(exc).__name__, detail=str(exc)[:200])
    await asyncio.to_thread(_replace, db, priorities, types)
    log.info("jira.metadata_synced", projects=sorted(types), priorities=len(priorities))


def _replace(db: Database, priorities: list[PriorityMeta], types: dict[str, list[IssueTypeMeta]]) -> None:
    with db.session() as session:
        session.execute(delete(JiraPriority))
        session.add_all(JiraPriority(id=p.id, name=p.name, position=i) for i, p in enumerate(priorities))
        for key, found in types.items():
            if session.get(Project, key) is None:
                session.add(Project(key=key, name=key))
                session.flush()
            session.execute(delete(JiraIssueType).where(JiraIssueType.project_key == key))
            unique = {t.id: t for t in reversed(found)}  # one row per id, keeping the first position
            session.add_all(
                JiraIssueType(project_key=key, id=t.id, name=t.name, subtask=t.subtask, position=i)
                for i, t in enumerate(found)
                if unique.get(t.id) is t
            )


# --- what the modal asks ------------------------------------------------------------------------------------


def issue_types(session: Session, project: str) -> list[tuple[str, str]]:
    """(id, name) of the issue types one can create in ``project`` from Slack; subtasks need a parent."""
    rows = session.execute(
        select(JiraIssueType.id, JiraIssueType.name)
        .where(JiraIssueType.project_key == project.strip().upper(), JiraIssueType.subtask.is_(False))
        .order_by(JiraIssueType.position, JiraIssueType.name)
    )
    return [(row.id, row.name) for row in rows]


def priorities(session: Session) -> list[tuple[str, str]]:
    """(id, name) of the site's priorities, highest first."""
    rows = session.execute(select(JiraPriority.id, JiraPriority.name).order_by(JiraPriority.position))
    return [(row.id, row.name) for row in rows]


def projects(session: Session, text: str = "", limit: int = 100) -> list[tuple[str, str]]:
    """(key, name) of the projects whose key or name contains ``text`` (any case), for a typeahead.

    Key prefixes first, then name prefixes, then other matches, each by key.
    """
    needle = text.strip().lower()[:100]
    key, name = func.lower(Project.key), func.lower(Project.name)
    query = select(Project.key, Project.name)
    if needle:
        query = query.where(
            or_(key.contains(needle, autoescape=True), name.contains(needle, autoescape=True))
        ).order_by(
            case(
                (key.startswith(needle, autoescape=True), 0),
                (name.startswith(needle, autoescape=True), 1),
                else_=2,
            )
        )
    rows = session.execute(query.order_by(Project.key).limit(max(1, min(limit, 100))))
    return [(row.key, row.name or row.key) for row in rows]
