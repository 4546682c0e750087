"""What a digest says: the channel digest, the personal digest and the overdue-TODO reminder, as notices.

A channel digest covers Jira since the channel's last sent digest (else the last 24 hours, at most a week),
plus the overdue TODOs of the channel's members. A personal digest is the person's open issues and the
TODOs due today or overdue, among what that person may see; it and the reminder are not sent when empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from core.config import Role, Settings
from core.db.models import User
from core.db.schedule_tables import Delivery, DigestSubscription, Todo
from core.digests.activity import assigned_open, issue_item, jira_sections, make_section, visible_to_person
from core.digests.summary import summarise
from core.notices import DigestItem, DigestNotice, DigestSection
from core.todos.dates import aware, local_today, zone
from core.todos.service import due_by, overdue

DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=7)
KIND_CHANNEL, KIND_PERSONAL, KIND_REMINDER = "channel", "personal", "reminder"
SENT = "sent"


@dataclass
class RunMemo:
    """What one run shares between deliveries: the Jira part (and its summary) per (projects, window), so
    1,000 channels due at the same minute cost one set of queries and one model call, not a thousand."""

    parts: dict[tuple[tuple[str, ...], datetime, datetime], tuple[list[DigestSection], str | None]] = field(
        default_factory=dict
    )
    overdue_teams: dict[str | None, bool] = field(default_factory=dict)  # any overdue TODO in the workspace
    since: dict[str, datetime] = field(default_factory=dict)  # each due channel's window start


def window_starts(session: Session, channel_ids: Iterable[str], until: datetime) -> dict[str, datetime]:
    """Where each channel's next digest starts: the end of its last sent one (whichever subscription sent it),
    within a week of ``until``; the last 24 hours for a channel without one. One query for all channels."""
    until = aware(until)
    wanted = sorted(set(channel_ids))
    last: dict[str, datetime] = {}
    if wanted:
        rows = session.execute(
            select(DigestSubscription.channel_id, func.max(Delivery.covers_until))
            .join(Delivery, Delivery.target == cast(DigestSubscription.id, String))
            .where(
                DigestSubscription.channel_id.in_(wanted), Delivery.kind == KIND_CHANNEL,
                Delivery.status == SENT, Delivery.covers_until < until,
            )
            .group_by(DigestSubscription.channel_id)
        )  # fmt: skip
        last = {channel: aware(when) for channel, when in rows if when is not None}
    return {
        channel: max(last[channel], until - MAX_WINDOW) if channel in last else until - DEFAULT_WINDOW
        for channel in wanted
    }


def window_start(session: Session, channel_id: str, until: datetime) -> datetime:
    return window_starts(session, [channel_id], until)[channel_id]


def todo_item(todo: Todo, today: date | None = None) -> DigestItem:
    note = None
    if todo.due is not None and today is not None:
        late = (today - todo.due).days
        note = (
            "due today"
            if late == 0
            else f"{late} day{'s' if late != 1 else ''} overdue"
            if late > 0
            else None
        )
    return DigestItem(
        title=todo.text,
        url=todo.permalink,
        todo_id=todo.id,
        owner=todo.owner_slack_id,
        due=todo.due,
        note=note,
    )


def _overdue_items(todos: Iterable[Todo], at: datetime) -> list[DigestItem]:
    return [todo_item(t, local_today(t.tz, at)) for t in todos]


def _title(prefix: str, at: datetime, tz: str) -> str:
    local = aware(at).astimezone(zone(tz))
    return f"{prefix} · {local.strftime('%A %d %B %Y')}"


def channel_digest(
    session: Session,
    settings: Settings,
    *,
    channel_id: str,
    team_id: str | None,
    projects: Sequence[str],
    tz: str,
    until: datetime,
    members: set[str] | None,
    since: datetime | None = None,
    memo: RunMemo | None = None,
) -> DigestNotice:
    """The channel's digest for ``(since, until]``; ``members`` None leaves the TODOs out (unknown)."""
    until = aware(until)
    if since is None and memo is not None:
        since = memo.since.get(channel_id)
    since = aware(since) if since else window_start(session, channel_id, until)
    key = (tuple(sorted(set(projects))), since, until)
    cached = memo.parts.get(key) if memo else None
    if cached is None:
        sections = jira_sections(session, key[0], since, until)
        cached = (sections, summarise(settings, sections))
        if memo is not None:
            memo.parts[key] = cached
    sections, summary = cached
    todos: list[DigestItem] = []
    if members:
        todos = _overdue_items(overdue(session, team_id=team_id, at=until, owners=members), until)
    return DigestNotice(
        scope="channel", title=_title("Digest", until, tz), since=since, until=until, tz=tz,
        projects=list(key[0]), summary=summary,
        sections=[*sections, make_section("todos_overdue", "Overdue TODOs", todos)],
    )  # fmt: skip


def _person(session: Session, user_slack_id: str, team_id: str | None) -> User | None:
    query = select(User).where(User.slack_user_id == user_slack_id)
    if team_id is not None:
        query = query.where(User.team_id == team_id)
    return session.scalars(query.limit(1)).first()


def personal_digest(
    session: Session, *, user_slack_id: str, team_id: str | None, tz: str, at: datetime
) -> DigestNotice | None:
    """The person's open issues and their TODOs due today or overdue; None when there is nothing."""
    at = aware(at)
    person = _person(session, user_slack_id, team_id)
    today = local_today(tz, at)
    issues: list[DigestItem] = []
    if person is not None and person.role != Role.NO_ACCESS:
        visible = visible_to_person(person.id, person.role == Role.ADMIN)
        issues = [
            issue_item(i) for i in assigned_open(session, visible, person.email, person.display_name or None)
        ]
    todos = [todo_item(t, today) for t in due_by(session, owner=user_slack_id, today=today, at=at)]
    if not issues and not todos:
        return None
    return DigestNotice(
        scope="personal", title=_title("Your day", at, tz), until=at, tz=tz,
        sections=[
            make_section("todos_due", "Your TODOs due today or overdue", todos),
            make_section("my_issues", "Your open Jira issues", issues),
        ],
    )  # fmt: skip


def reminder(
    session: Session, *, user_slack_id: str, team_id: str | None, tz: str, at: datetime
) -> DigestNotice | None:
    """The person's overdue TODOs; None when there are none (done or snoozed since)."""
    at = aware(at)
    todos = overdue(session, team_id=team_id, at=at, owners=[user_slack_id])
    if not todos:
        return None
    return DigestNotice(
        scope="reminder", title="Overdue TODOs", until=at, tz=tz,
        sections=[make_section("todos_overdue", "Overdue TODOs", _overdue_items(todos, at))],
    )  # fmt: skip
