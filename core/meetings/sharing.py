"""What the Slack side asks when someone shares meeting notes: one call each, plain data back.

Notes come two ways: pasted into the `/pm meeting` modal (typed in a channel: the channel's members may find
them; typed in a DM: only the person) or shared as a file in a DM with the bot (only the person). Either
way the bot then posts a message the action items go under, ``place`` records where that is (its thread
and permalink), and the processing job (``agentpm.meetings.process``) posts the items in that thread.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.orm import Session

from core.channels.membership import personal_channel
from core.db.knowledge_tables import Meeting
from core.db.models import Document
from core.db.session import Database
from core.errors import InvalidInput
from core.meetings.formats import read_notes
from core.meetings.ingest import store_meeting
from core.notices import ReplyTarget

PROCESS_JOB = "agentpm.meetings.process"


class SharedMeeting(BaseModel):
    """Notes just stored: what the bot tells the person, and whether others may find them."""

    meeting_id: int
    title: str
    private: bool


def is_private(channel_id: str | None) -> bool:
    """Notes shared outside a channel (no channel, or a DM) are their poster's alone."""
    return not channel_id or channel_id.startswith("D")


def _shared(meeting: Meeting) -> SharedMeeting:
    return SharedMeeting(meeting_id=meeting.id, title=meeting.title, private=is_private(meeting.channel_id))


def share_notes(
    db: Database, *, team_id: str | None, channel_id: str | None, user: str, title: str | None, text: str
) -> SharedMeeting:
    """Notes pasted into the modal, stored for search; ``InvalidInput`` when there are none."""
    if not text.strip():
        raise InvalidInput("Paste the meeting notes first.")
    with db.session() as session:
        meeting = store_meeting(
            session, team_id=team_id, channel_id=channel_id, thread_ts=None, title=title, filename=None,
            text=text, posted_by=user,
        )  # fmt: skip
        return _shared(meeting)


def share_file(
    db: Database, *, team_id: str | None, channel_id: str, thread_ts: str, user: str, filename: str,
    data: bytes, url: str | None,
) -> SharedMeeting:  # fmt: skip
    """A notes or transcript file shared in a DM: read (``InvalidInput`` for other formats) and stored, its
    thread the message it came in."""
    text = read_notes(filename, data)
    with db.session() as session:
        meeting = store_meeting(
            session, team_id=team_id, channel_id=channel_id, thread_ts=thread_ts, title=None,
            filename=filename, text=text, posted_by=user, url=url,
        )  # fmt: skip
        return _shared(meeting)


def _document(session: Session, meeting: Meeting) -> Document | None:
    return session.get(Document, meeting.document_id) if meeting.document_id else None


def place(
    db: Database, meeting_id: int, *, channel_id: str, thread_ts: str, url: str | None, private: bool
) -> None:
    """Where the notes' message was posted: its thread gets the action items, its link is cited for the notes.

    ``private``: it went to the person's DM (typed in a DM, or the channel refused the bot's message), so the
    notes become theirs alone, whatever channel they were meant for.
    """
    with db.session() as session:
        meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise InvalidInput("Those meeting notes no longer exist.")
        meeting.thread_ts = thread_ts
        if private:
            meeting.channel_id = channel_id if channel_id.startswith("D") else None
        else:
            meeting.channel_id = channel_id
        document = _document(session, meeting)
        if document is not None:
            document.url = url or document.url
            if private and meeting.posted_by:
                document.channel_id = personal_channel(meeting.posted_by)
            elif not private:
                document.channel_id = channel_id
            document.meta = {**(document.meta or {}), "channel": meeting.channel_id, "thread_ts": thread_ts}


def process_payload(meeting_id: int, target: ReplyTarget) -> dict[str, object]:
    """The payload of ``PROCESS_JOB``: find the meeting's action items and post them to ``target``."""
    return {"meeting_id": meeting_id, "target": target.model_dump(mode="json")}
