"""The Jira part of a channel digest: what happened in a window, and what stands still.

Only issues everyone may see are used (no restricted project), because a channel digest is read by everyone
in the channel. Without a changelog, "moved to In Progress" and "newly blocked" mean: updated in the window,
created before it, and now in progress or blocked. Blocked means a status whose name contains "block".
An issue is listed once, in the first section that takes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, not_, or_, select
from sqlalchemy.orm import Session

from core.db.models import JiraIssue, Project, ProjectMember
from core.notices import DigestItem, DigestSection, DigestSectionName
from core.todos.dates import aware

STALE_DAYS = 5
SECTION_CAP = 25  # items listed per section; the rest are counted
ROWS = 500  # read per query: a digest never needs more
HIGH_PRIORITIES = ("highest", "high", "critical", "blocker")
_PRIORITY_RANK = {name: i for i, name in enumerate(HIGH_PRIORITIES)}
IN_PROGRESS, DONE = "indeterminate", "done"


def everyone_may_see() -> ColumnElement[bool]:
    """Live issues outside restricted projects: what any USER may see (the channel-digest audience)."""
    restricted = select(Project.key).where(Project.restricted.is_(True))
    return and_(JiraIssue.deleted.is_(False), JiraIssue.project_key.not_in(restricted))


def visible_to_person(user_id: int | None, is_admin: bool) -> ColumnElement[bool]:
    """Live issues this person may see: ADMINs everything, others restricted projects they belong to."""
    if is_admin:
        return JiraIssue.deleted.is_(False)
    member_of = select(ProjectMember.project_key).where(ProjectMember.user_id == (user_id or -1))
    hidden = select(Project.key).where(Project.restricted.is_(True), Project.key.not_in(member_of))
    return and_(JiraIssue.deleted.is_(False), JiraIssue.project_key.not_in(hidden))


def _blocked() -> ColumnElement[bool]:
    return func.lower(JiraIssue.status).contains("block")


def is_blocked(issue: JiraIssue) -> bool:
    return "block" in (issue.status or "").lower()


def _days(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 86400))


def issue_item(issue: JiraIssue, note: str | None = None) -> DigestItem:
    return DigestItem(
        title=issue.summary or issue.key, url=issue.url or None, key=issue.key, status=issue.status or None,
        priority=issue.priority, assignee=issue.assignee_name, note=note,
    )  # fmt: skip


def _order(issue: JiraIssue) -> tuple[int, float]:
    rank = _PRIORITY_RANK.get((issue.priority or "").lower(), len(HIGH_PRIORITIES))
    return rank, -aware(issue.updated).timestamp() if issue.updated else 0.0


def make_section(
    name: DigestSectionName, title: str, items: Sequence[DigestItem], cap: int = SECTION_CAP
) -> DigestSection:
    return DigestSection(name=name, title=title, items=list(items[:cap]), more=max(0, len(items) - cap))


class _Sections:
    """Collects sections so that each issue appears once."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.sections: list[DigestSection] = []

    def add(
        self,
        name: DigestSectionName,
        title: str,
        issues: list[JiraIssue],
        note: Callable[[JiraIssue], str | None] | None = None,
    ) -> None:
        fresh = sorted((i for i in issues if i.key not in self.seen), key=_order)
        self.seen.update(i.key for i in fresh)
        items = [issue_item(i, note(i) if note else None) for i in fresh]
        self.sections.append(make_section(name, title, items))


def jira_sections(
    session: Session,
    projects: Sequence[str],
    since: datetime,
    until: datetime,
    *,
    stale_days: int = STALE_DAYS,
) -> list[DigestSection]:
    """The Jira sections of a channel digest for ``(since, until]`` (projects empty: every open project)."""
    since, until = aware(since), aware(until)

    def idle(issue: JiraIssue) -> int:
        return _days(until - aware(issue.updated))

    scope: list[ColumnElement[bool]] = [everyone_may_see()]
    if projects:
        scope.append(JiraIssue.project_key.in_(sorted(set(projects))))

    def rows(*conditions: ColumnElement[bool]) -> list[JiraIssue]:
        query = select(JiraIssue).where(*scope, *conditions).order_by(JiraIssue.updated.desc()).limit(ROWS)
        return list(session.scalars(query))

    in_window = and_(JiraIssue.updated > since, JiraIssue.updated <= until)
    is_open = JiraIssue.status_category != DONE
    moved = rows(in_window, JiraIssue.created <= since, JiraIssue.status_category == IN_PROGRESS)
    high = [
        i for i in rows(in_window, is_open, JiraIssue.priority.is_not(None))
        if (i.priority or "").lower() in HIGH_PRIORITIES
    ]  # fmt: skip
    stale_before = until - timedelta(days=stale_days)
    collected = _Sections()
    collected.add("blocked_new", "Newly blocked", [i for i in moved if is_blocked(i)])
    collected.add("high_priority", "High priority", high)
    collected.add("created", "Created", rows(JiraIssue.created > since, JiraIssue.created <= until))
    collected.add("in_progress", "Moved to In Progress", [i for i in moved if not is_blocked(i)])
    collected.add(
        "resolved", "Resolved", rows(JiraIssue.resolved.is_not(None), JiraIssue.resolved > since,
                                     JiraIssue.resolved <= until),
    )  # fmt: skip
    collected.add(
        "blocked", "Still blocked", rows(is_open, _blocked()),
        lambda i: f"no update for {idle(i)} days" if aware(i.updated) <= since else None,
    )  # fmt: skip
    collected.add(
        "stale", f"Stale (in progress, no update for {stale_days}+ days)",
        rows(JiraIssue.status_category == IN_PROGRESS, not_(_blocked()), JiraIssue.updated < stale_before),
        lambda i: f"no update for {idle(i)} days",
    )  # fmt: skip
    return collected.sections


def assigned_open(
    session: Session, visible: ColumnElement[bool], email: str | None, name: str | None
) -> list[JiraIssue]:
    """Open issues assigned to a person: by email when Jira gave one, else by display name."""
    matches: list[ColumnElement[bool]] = []
    if email:
        matches.append(func.lower(JiraIssue.assignee_email) == email.lower())
    if name:
        matches.append(and_(JiraIssue.assignee_email.is_(None), JiraIssue.assignee_name == name))
    if not matches:
        return []
    query = (
        select(JiraIssue)
        .where(visible, JiraIssue.status_category != DONE, or_(*matches))
        .order_by(JiraIssue.updated.desc())
        .limit(ROWS)
    )
    return sorted(session.scalars(query), key=_order)
