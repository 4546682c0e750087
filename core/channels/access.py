"""Opting a channel into indexing (`/pm index channel on|off`) and who may do it.

Any USER may opt a public channel in: its messages are already readable by everyone in the workspace, and
search shows them only to the channel's members anyway (core/channels/membership.py). A private channel
needs an ADMIN, because indexing makes its history searchable by the bot, and the bot must already be a
member (invited by someone in it), since Slack only lets members read a private channel.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.config import Role
from core.db.knowledge_tables import IndexedChannel
from core.db.models import Document
from core.users import audit

SLACK_SOURCE = "slack"


def can_enable(role: Role | str, is_private: bool, bot_is_member: bool) -> str | None:
    """None when ``role`` may opt the channel in, else the reason to show the person.

    For a public channel the bot need not be a member yet: the caller joins it (``conversations.join``)
    before the backfill, as Slack sends message events only for channels the bot is in.
    """
    role = Role(role)
    if role is Role.NO_ACCESS:
        return "You do not have access to Agent PM."
    if is_private and role is not Role.ADMIN:
        return "Only an admin can index a private channel."
    if is_private and not bot_is_member:
        return "Invite me to this private channel first (`/invite @Agent PM`), then try again."
    return None


def indexed(session: Session, channel_id: str) -> IndexedChannel | None:
    """The channel's indexing settings when it is opted in (None when it never was or was turned off)."""
    return session.scalar(
        select(IndexedChannel).where(
            IndexedChannel.channel_id == channel_id, IndexedChannel.enabled.is_(True)
        )
    )


def indexed_channel_ids(session: Session) -> set[str]:
    return set(session.scalars(select(IndexedChannel.channel_id).where(IndexedChannel.enabled.is_(True))))


def enable(
    session: Session, *, team_id: str | None, channel_id: str, name: str, is_private: bool, user_slack_id: str
) -> IndexedChannel:
    """Opt the channel in (again); a channel turned back on backfills its history from the start.

    Enabling an already indexed channel changes nothing but its name, so a second `on` does not restart a
    backfill that is under way.
    """
    row = session.scalar(select(IndexedChannel).where(IndexedChannel.channel_id == channel_id))
    if row is None:
        row = IndexedChannel(channel_id=channel_id, enabled=False)
        session.add(row)
    row.team_id, row.name, row.is_private = team_id or row.team_id, name, is_private
    if not row.enabled:
        row.enabled, row.enabled_by, row.enabled_at = True, user_slack_id, datetime.now(UTC)
        row.backfill_cursor, row.backfill_done, row.backfill_at, row.messages_indexed = None, False, None, 0
        audit.record(
            session, action="channel.index_on", outcome="ok", actor_slack_id=user_slack_id,
            target=channel_id, detail={"name": name, "private": is_private},
        )  # fmt: skip
    session.flush()
    return row


def disable(session: Session, channel_id: str, user_slack_id: str | None = None) -> int:
    """Stop indexing the channel and delete its messages' documents (their vectors go by the outbox
    trigger of migration 0008); returns how many were deleted. Meeting notes shared there stay."""
    row = session.scalar(select(IndexedChannel).where(IndexedChannel.channel_id == channel_id))
    if row is not None:
        row.enabled, row.backfill_cursor, row.backfill_done, row.messages_indexed = False, None, False, 0
    result = session.execute(
        delete(Document).where(Document.source == SLACK_SOURCE, Document.channel_id == channel_id)
    )
    deleted = int(getattr(result, "rowcount", 0) or 0)
    if row is not None:
        audit.record(
            session, action="channel.index_off", outcome="ok", actor_slack_id=user_slack_id,
            target=channel_id, detail={"documents_deleted": deleted},
        )  # fmt: skip
    session.flush()
    return deleted
