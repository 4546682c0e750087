"""The buttons on a meeting's action items, one call each: make it a TODO, draft a Jira issue from it, record
the issue made, or dismiss it; each hands back the meeting's items as they now stand, to redraw the message.

An item is decided once. A click on an item already decided (a double click, or someone else was quicker)
is refused with what became of it, before anything is created: the item's row is locked while a TODO is
made from it, so two clicks at once make one TODO.
"""

from __future__ import annotations

import re
from datetime import date

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.base import utcnow
from core.db.knowledge_tables import Meeting, MeetingActionItem
from core.db.models import Document, User
from core.db.session import Database
from core.errors import InvalidInput
from core.meetings.actions import decide
from core.meetings.jobs import action_items_notice
from core.notices import ActionItemsNotice
from core.todos import service as todos
from core.todos.dates import local_today, parse_due
from core.todos.flows import TodoItem
from core.todos.flows import item as todo_item
from core.users.service import Identity

SUMMARY_CHARS = 255
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")


class TodoDecision(BaseModel):
    todo: TodoItem
    notice: ActionItemsNotice


class JiraDraft(BaseModel):
    """What the "Create Jira issue" form is prefilled with."""

    item_id: int
    summary: str
    description: str


def _actor(identity: Identity) -> str:
    return identity.slack_user_id or identity.email


def already(item: MeetingActionItem) -> str:
    """What became of a decided item, as the person clicking again is told."""
    if item.status == "todo":
        return f"That action item was already added as TODO #{item.todo_id}."
    if item.status == "jira":
        return f"That action item was already made Jira issue {item.jira_key}."
    return "That action item was already dismissed."


def _open_item(session: Session, item_id: int, *, lock: bool = False) -> MeetingActionItem:
    item = session.get(MeetingActionItem, item_id, with_for_update=lock, populate_existing=lock)
    if item is None:
        raise InvalidInput("That action item no longer exists.")
    if item.status != "open":
        raise InvalidInput(already(item))
    return item


def _notice(session: Session, meeting_id: int) -> ActionItemsNotice:
    notice = action_items_notice(session, meeting_id)
    if notice is None:
        raise InvalidInput("Those meeting notes no longer exist.")
    return notice


def _meeting(session: Session, item: MeetingActionItem) -> tuple[Meeting, Document | None]:
    meeting = session.get_one(Meeting, item.meeting_id)
    document = session.get(Document, meeting.document_id) if meeting.document_id else None
    return meeting, document


def owner_for(item: MeetingActionItem, clicker: str) -> str:
    """Whom the TODO is for: the owner the notes name when that is a Slack user, else whoever clicked."""
    hint = (item.owner_hint or "").strip()
    return hint if _SLACK_USER.match(hint) else clicker


def _due(hint: str | None, tz: str | None) -> date | None:
    if not hint:
        return None
    try:
        return parse_due(hint, local_today(tz, utcnow()))
    except InvalidInput:  # "end of month", "next sprint": kept in the item, not a date
        return None


def add_todo(db: Database, identity: Identity, item_id: int) -> TodoDecision:
    """Make the item a TODO (with the notes' link, and its due date when the notes give one plainly)."""
    creator = _actor(identity)
    with db.session() as session:
        item = _open_item(session, item_id, lock=True)
        meeting, document = _meeting(session, item)
        owner = owner_for(item, creator)
        tz = session.scalar(select(User.tz).where(User.slack_user_id == owner).limit(1)) or identity.tz
        todo = todos.add_todo(
            session, team_id=identity.team_id or meeting.team_id, creator=creator, owner=owner,
            text=item.text, due=_due(item.due_hint, tz), tz=tz, channel_id=meeting.channel_id,
            permalink=document.url if document else None,
        )  # fmt: skip
        decide(session, item_id, "todo", creator, todo_id=todo.id)
        return TodoDecision(todo=todo_item(todo), notice=_notice(session, meeting.id))


def dismiss(db: Database, identity: Identity, item_id: int) -> ActionItemsNotice:
    with db.session() as session:
        item = _open_item(session, item_id)
        decide(session, item_id, "dismissed", _actor(identity))
        return _notice(session, item.meeting_id)


def record_issue(db: Database, identity: Identity, item_id: int, key: str) -> ActionItemsNotice:
    """The Jira issue made from the item (through the create-issue form): the item shows its key."""
    with db.session() as session:
        item = session.get(MeetingActionItem, item_id)
        if item is None:
            raise InvalidInput("That action item no longer exists.")
        if item.status != "open" and (item.status, item.jira_key) != ("jira", key):
            raise InvalidInput(already(item))  # decided otherwise while the form was open
        decide(session, item_id, "jira", _actor(identity), jira_key=key)
        return _notice(session, item.meeting_id)


def jira_draft(db: Database, item_id: int) -> JiraDraft:
    """The form's summary (the item) and description (the meeting, its link, the owner and due the notes
    name); ``InvalidInput`` when the item was decided already."""
    with db.session() as session:
        item = _open_item(session, item_id)
        meeting, document = _meeting(session, item)
        lines = [f"Action item from the meeting notes “{meeting.title}”."]
        if document is not None and document.url:
            lines.append("Notes: " + document.url)
        if item.owner_hint:
            owner = f"<@{item.owner_hint}>" if _SLACK_USER.match(item.owner_hint) else item.owner_hint
            lines.append("Owner (as the notes say): " + owner)
        if item.due_hint:
            lines.append("Due (as the notes say): " + item.due_hint)
        return JiraDraft(item_id=item.id, summary=item.text[:SUMMARY_CHARS], description="\n".join(lines))
