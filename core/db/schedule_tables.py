"""TODOs, digest subscriptions, personal digests and the deliveries that make each digest go out once.

A delivery row is the claim on one scheduled message: UNIQUE(kind, target, local_date) means two beats, many
workers or a redeploy can at most create it once, and its status says how far the sending got.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, utcnow

TODO_OPEN, TODO_DONE = "open", "done"


class Todo(Base):
    """A TODO; people see and type its integer ``id``. ``due`` is a date in the owner's time zone ``tz``."""

    __tablename__ = "todos"
    __table_args__ = (
        Index("ix_todos_team_owner_status", "team_id", "owner_slack_id", "status"),
        Index("ix_todos_status_due", "status", "due"),  # overdue TODOs for digests and reminders
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))  # where it was created
    permalink: Mapped[str | None] = mapped_column(String(1024))  # the message it was made from, if any
    creator_slack_id: Mapped[str] = mapped_column(String(32))
    owner_slack_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    due: Mapped[date | None] = mapped_column(Date)
    tz: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(8), default=TODO_OPEN)  # open | done
    snoozed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DigestSubscription(Base):
    """A channel's scheduled digest: at ``local_time`` in ``tz`` on ``weekdays`` (0 = Monday)."""

    __tablename__ = "digest_subscriptions"
    __table_args__ = (Index("ix_digest_subscriptions_channel_active", "channel_id", "active"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(32))  # Slack user ID
    local_time: Mapped[str] = mapped_column(String(5))  # HH:MM
    tz: Mapped[str] = mapped_column(String(64))  # IANA name, the subscriber's at the time
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)
    projects: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every open project
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonalDigest(Base):
    """A person's daily DM (opt-in) and the morning time their overdue-TODO reminders use."""

    __tablename__ = "personal_digests"
    __table_args__ = (UniqueConstraint("slack_user_id", name="uq_personal_digests_slack_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    slack_user_id: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    reminders: Mapped[bool] = mapped_column(Boolean, default=True)
    local_time: Mapped[str] = mapped_column(String(5), default="09:00")
    tz: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Delivery(Base):
    """One scheduled message, claimed before it is built and marked when Slack has it.

    ``status``: claimed (someone owns it, nothing posted yet) → sending (a message may be in Slack; a
    recovery looks for it before posting again) → sent | skipped (nothing to say) | failed (gave up).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("kind", "target", "local_date", name="uq_deliveries_kind_target_local_date"),
        Index("ix_deliveries_local_date", "local_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # channel | personal | reminder
    target: Mapped[str] = mapped_column(String(64))  # subscription id, or Slack user ID
    local_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # after a transient failure
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    channel_id: Mapped[str | None] = mapped_column(String(32))  # where it was posted
    message_ts: Mapped[str | None] = mapped_column(String(32))
    covers_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the digest's window end
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
