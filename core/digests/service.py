"""Channel digest subscriptions and personal digest settings.

A channel has at most one active subscription: subscribing again replaces it (under a transaction lock on
the channel, so two people subscribing at once still leave one). Replaced rows are kept inactive: their
deliveries stay recorded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db.base import utcnow
from core.db.schedule_tables import DigestSubscription, PersonalDigest
from core.digests.locking import transaction_lock
from core.digests.parse import SubscribeRequest, parse_time
from core.errors import InvalidInput
from core.todos.dates import zone


def _valid_tz(tz: str | None) -> str:
    """A usable IANA name (UTC when Slack did not tell us one)."""
    return zone(tz).key


def subscribe(
    session: Session,
    *,
    team_id: str | None,
    channel_id: str,
    user_id: str,
    tz: str | None,
    request: SubscribeRequest,
    now: datetime | None = None,
) -> DigestSubscription:
    """The channel's new active subscription, replacing any earlier one.

    Its first digest is the first scheduled time after ``now``: subscribing at 15:00 to 09:00 starts tomorrow.
    """
    if not channel_id:
        raise InvalidInput("A digest needs a channel.")
    transaction_lock(session, f"digest-subscription:{channel_id}")
    session.execute(
        update(DigestSubscription)
        .where(DigestSubscription.channel_id == channel_id, DigestSubscription.active.is_(True))
        .values(active=False)
    )
    subscription = DigestSubscription(
        team_id=team_id, channel_id=channel_id, created_by=user_id, local_time=request.time,
        tz=_valid_tz(tz), weekdays=sorted(set(request.weekdays)), projects=list(request.projects),
        active=True, created_at=now or utcnow(),
    )  # fmt: skip
    session.add(subscription)
    session.flush()
    return subscription


def unsubscribe(session: Session, channel_id: str) -> bool:
    """Stop the channel's digest; False when it had none."""
    result = session.execute(
        update(DigestSubscription)
        .where(DigestSubscription.channel_id == channel_id, DigestSubscription.active.is_(True))
        .values(active=False)
    )
    return bool(getattr(result, "rowcount", 0))


def subscriptions(
    session: Session, team_id: str | None, channel_id: str | None = None
) -> list[DigestSubscription]:
    """Active subscriptions of the workspace (of one channel when given), oldest first."""
    query = select(DigestSubscription).where(DigestSubscription.active.is_(True))
    if team_id is not None:
        query = query.where(DigestSubscription.team_id == team_id)
    if channel_id is not None:
        query = query.where(DigestSubscription.channel_id == channel_id)
    return list(session.scalars(query.order_by(DigestSubscription.id)))


def active_subscription(session: Session, channel_id: str) -> DigestSubscription | None:
    found = subscriptions(session, None, channel_id)
    return found[-1] if found else None


def personal_settings(session: Session, user_slack_id: str) -> PersonalDigest | None:
    return session.scalar(select(PersonalDigest).where(PersonalDigest.slack_user_id == user_slack_id))


def set_personal(
    session: Session,
    user_slack_id: str,
    enabled: bool,
    time: str | None,
    tz: str | None,
    *,
    reminders: bool | None = None,
    team_id: str | None = None,
    now: datetime | None = None,
) -> PersonalDigest:
    """Turn the daily DM on or off and set its morning time (reminders use the same time).

    ``time`` None keeps the current one (09:00 for a new row); ``reminders`` None keeps the current choice.
    Like a channel subscription, a change applies from the next scheduled time after ``now``.
    """
    transaction_lock(session, f"personal-digest:{user_slack_id}")
    row = personal_settings(session, user_slack_id)
    stamp = now or utcnow()
    if row is None:
        row = PersonalDigest(
            slack_user_id=user_slack_id, team_id=team_id, enabled=enabled, reminders=True,
            local_time="09:00", tz="UTC", created_at=stamp,
        )  # fmt: skip
        session.add(row)
    row.enabled = enabled
    if time is not None:
        row.local_time = parse_time(time)
    if tz is not None or row.tz is None:
        row.tz = _valid_tz(tz)
    if reminders is not None:
        row.reminders = reminders
    if team_id is not None:
        row.team_id = team_id
    row.updated_at = stamp
    session.flush()
    return row
