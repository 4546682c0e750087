"""What is due at an instant: channel digests, personal digests and overdue-TODO reminders, each in its zone.

Something scheduled at HH:MM is due once the local wall clock at the instant reads HH:MM or later on a
selected weekday, for that local date. So a missed tick catches up later the same local day; on a spring-
forward day a time that does not exist (02:30) is due from the first minute after the jump; on a fall-back
day the repeated hour finds that local date already delivered. The delivery's key (kind, target, local date)
makes each one at most once. A schedule created after its time today starts the next day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import User
from core.db.schedule_tables import DigestSubscription, PersonalDigest
from core.digests.content import KIND_CHANNEL, KIND_PERSONAL, KIND_REMINDER
from core.todos.dates import aware, zone
from core.todos.service import overdue

DEFAULT_MORNING = "09:00"


@dataclass(frozen=True)
class DueItem:
    kind: str  # channel | personal | reminder
    target: str  # the subscription's id, or the person's Slack user ID
    local_date: date
    tz: str
    post_to: str  # a channel ID, or a user ID (their DM)
    team_id: str | None = None
    projects: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, date]:
        return self.kind, self.target, self.local_date


def due_date(
    local_time: str,
    tz: str,
    at: datetime,
    *,
    weekdays: list[int] | None = None,
    since: datetime | None = None,
) -> date | None:
    """The local date whose HH:MM occurrence is due at ``at``, or None.

    ``weekdays`` None means every day; ``since`` (when the schedule was made or changed) skips an occurrence
    scheduled before it.
    """
    place = zone(tz)
    local = aware(at).astimezone(place)
    hour, minute = (int(part) for part in local_time.split(":"))
    if weekdays is not None and local.weekday() not in weekdays:
        return None
    if (local.hour, local.minute) < (hour, minute):
        return None
    if since is not None:
        scheduled = datetime(local.year, local.month, local.day, hour, minute, tzinfo=place)
        if scheduled.astimezone(UTC) < aware(since):
            return None
    return local.date()


def channel_items(session: Session, at: datetime) -> list[DueItem]:
    items = []
    for sub in session.scalars(select(DigestSubscription).where(DigestSubscription.active.is_(True))):
        day = due_date(sub.local_time, sub.tz, at, weekdays=list(sub.weekdays), since=sub.created_at)
        if day is not None:
            items.append(
                DueItem(
                    KIND_CHANNEL, str(sub.id), day, sub.tz, sub.channel_id, sub.team_id, tuple(sub.projects)
                )
            )
    return items


def personal_items(session: Session, at: datetime) -> list[DueItem]:
    items = []
    for row in session.scalars(select(PersonalDigest).where(PersonalDigest.enabled.is_(True))):
        day = due_date(row.local_time, row.tz, at, since=row.updated_at)
        if day is not None:
            items.append(
                DueItem(KIND_PERSONAL, row.slack_user_id, day, row.tz, row.slack_user_id, row.team_id)
            )
    return items


def reminder_items(session: Session, at: datetime) -> list[DueItem]:
    """Owners of overdue TODOs, at their morning: their personal digest's time and zone, else 09:00 in their
    Slack zone. Someone whose personal digest is on gets the TODOs in it instead; reminders can be turned off.
    """
    todos_by_owner: dict[str, list[str | None]] = defaultdict(list)
    teams: dict[str, str | None] = {}
    for todo in overdue(session, team_id=None, at=at):
        todos_by_owner[todo.owner_slack_id].append(todo.tz)
        teams.setdefault(todo.owner_slack_id, todo.team_id)
    if not todos_by_owner:
        return []
    owners = sorted(todos_by_owner)
    settings = {
        row.slack_user_id: row
        for row in session.scalars(select(PersonalDigest).where(PersonalDigest.slack_user_id.in_(owners)))
    }
    rows = session.execute(select(User.slack_user_id, User.tz).where(User.slack_user_id.in_(owners)))
    user_tz: dict[str | None, str | None] = {row.slack_user_id: row.tz for row in rows}
    items = []
    for owner in owners:
        row = settings.get(owner)
        if row is not None and (row.enabled or not row.reminders):
            continue
        tz = (
            row.tz
            if row
            else user_tz.get(owner) or next((t for t in todos_by_owner[owner] if t), None) or "UTC"
        )
        tz = zone(tz).key
        day = due_date(row.local_time if row else DEFAULT_MORNING, tz, at)
        if day is not None:
            items.append(DueItem(KIND_REMINDER, owner, day, tz, owner, teams.get(owner)))
    return items


def due_items(session: Session, at: datetime) -> list[DueItem]:
    """Everything scheduled that is due at ``at`` (delivered or not: the deliveries decide)."""
    return channel_items(session, at) + personal_items(session, at) + reminder_items(session, at)
