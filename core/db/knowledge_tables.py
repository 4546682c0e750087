"""Channel and meeting knowledge: channels opted into indexing, meetings shared with the bot, action items.

The messages and notes themselves are ``documents`` rows (sources ``slack`` and ``meeting``) like everything
else search sees; these tables hold what is not a document: who opted a channel in, how far its history has
been read, and what became of each action item.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, utcnow


class IndexedChannel(Base):
    """A channel whose messages are indexed, and the checkpoint of its history backfill.

    ``backfill_cursor`` is Slack's cursor for the next page of ``conversations.history``: stored after every
    page, so a killed or rate-limited backfill resumes where it stopped. A disabled channel keeps its row
    (who turned it off and when is worth knowing) but none of its messages.
    """

    __tablename__ = "indexed_channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled_by: Mapped[str | None] = mapped_column(String(32))  # Slack user ID
    enabled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    backfill_cursor: Mapped[str | None] = mapped_column(Text)
    backfill_done: Mapped[bool] = mapped_column(Boolean, default=False)
    backfill_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # last page stored
    messages_indexed: Mapped[int] = mapped_column(Integer, default=0)
    retention_days: Mapped[int | None] = mapped_column(Integer)  # None: the deployment's setting


class Meeting(Base):
    """Meeting notes or a transcript shared with the bot; the text itself is the ``document``."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))  # where it was shared (None: the modal)
    thread_ts: Mapped[str | None] = mapped_column(String(32))  # where the action items are posted
    title: Mapped[str] = mapped_column(String(255), default="")
    filename: Mapped[str | None] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))  # txt | md | vtt | srt | paste
    posted_by: Mapped[str | None] = mapped_column(String(32))  # Slack user ID
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    items_method: Mapped[str | None] = mapped_column(
        String(8)
    )  # llm | rules: how its action items were found


class MeetingActionItem(Base):
    """One action item found in a meeting, and what someone decided to do with it."""

    __tablename__ = "action_items"
    __table_args__ = (CheckConstraint("status IN ('open', 'todo', 'jira', 'dismissed')", name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order in the meeting
    text: Mapped[str] = mapped_column(Text)
    owner_hint: Mapped[str | None] = mapped_column(String(255))  # a Slack user ID or a name, as found
    due_hint: Mapped[str | None] = mapped_column(String(64))  # "Friday", "2026-12-01", as found
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | todo | jira | dismissed
    todo_id: Mapped[int | None] = mapped_column(
        Integer
    )  # the TODO it became (no foreign key: TODOs live apart)
    jira_key: Mapped[str | None] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(32))  # Slack user ID
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
