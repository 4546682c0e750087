"""Storing meeting notes: a ``meetings`` row and the searchable document (source ``meeting``) it points to.

Who may find the notes follows where they were shared. Shared in a channel: that channel's members (the
document carries the channel's ID, like a message of an indexed channel). Pasted into the `/pm meeting`
modal or shared in a DM with the bot: only the person who did it, through their personal pseudo-channel
``D:<Slack ID>`` (core/channels/membership.py). A meeting document never has no channel, because search
shows documents without one (Jira issues) to everyone.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from core.channels.membership import personal_channel
from core.db.knowledge_tables import Meeting
from core.db.models import Document
from core.errors import InvalidInput
from core.meetings.formats import format_of
from core.search.text import searchable_text

MEETING_SOURCE = "meeting"
MAX_TEXT_CHARS = 1_000_000
TITLE_CHARS = 200


def document_channel(channel_id: str | None, posted_by: str | None) -> str:
    """The ``channel_id`` of the meeting's document: the channel it was shared in, or its poster's own."""
    if channel_id and not channel_id.startswith("D"):
        return channel_id
    if not posted_by:
        raise ValueError("meeting notes outside a channel need the person who shared them")
    return personal_channel(posted_by)


def meeting_title(title: str | None, filename: str | None, now: datetime) -> str:
    """The title given, else the file's name without its extension, else "Meeting notes <date>"."""
    chosen = " ".join((title or "").split())
    if not chosen and filename:
        stem = filename.strip().rsplit(".", 1)[0]
        chosen = " ".join(stem.replace("_", " ").split())
    chosen = chosen or "Meeting notes " + now.date().isoformat()
    return chosen if len(chosen) <= TITLE_CHARS else chosen[: TITLE_CHARS - 1].rstrip() + "…"


def store_meeting(
    session: Session,
    *,
    team_id: str | None,
    channel_id: str | None,
    thread_ts: str | None,
    title: str | None,
    filename: str | None,
    text: str,
    posted_by: str | None,
    url: str | None = None,
) -> Meeting:
    """Store notes (already read by ``core.meetings.formats.read_notes``, or pasted) for search and answers.

    ``filename`` None means pasted into the modal; ``url`` is the link cited for them (the message the
    file was shared in). The indexer embeds the document on its next run.
    """
    body = text.strip()
    if not body:
        raise InvalidInput("There are no notes to store.")
    if len(body) > MAX_TEXT_CHARS:
        raise InvalidInput("Those notes are too long; share them in smaller parts.")
    kind = format_of(filename) if filename else "paste"
    now = datetime.now(UTC)
    name = meeting_title(title, filename, now)
    visible_in = document_channel(channel_id, posted_by)
    meeting = Meeting(
        team_id=team_id, channel_id=channel_id, thread_ts=thread_ts, title=name,
        filename=filename[:255] if filename else None, format=kind, posted_by=posted_by, created_at=now,
    )  # fmt: skip
    session.add(meeting)
    session.flush()
    document = Document(
        source=MEETING_SOURCE,
        external_id=str(meeting.id),
        title=name,
        body=body,
        search_text=searchable_text(name, body),
        url=url,
        channel_id=visible_in,
        meta={
            "owner": posted_by, "meeting_id": meeting.id, "filename": meeting.filename, "format": kind,
            "channel": channel_id, "thread_ts": thread_ts,
        },
        content_hash=hashlib.sha256((name + "\n" + body).encode()).hexdigest(),
        updated_at=now,
        indexed_at=None,
    )  # fmt: skip
    session.add(document)
    session.flush()
    meeting.document_id = document.id
    session.flush()
    return meeting
