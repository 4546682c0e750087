"""The meeting job: after notes are stored, find their action items and post them in the thread."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.db.knowledge_tables import Meeting, MeetingActionItem
from core.db.models import Document
from core.errors import AgentPMError
from core.jobs.context import JobContext
from core.logging import get_logger
from core.meetings.actions import extract, items_of, save_action_items
from core.notices import ActionItemLine, ActionItemsNotice, ReplyTarget
from core.search.answer_jobs import chat_model

log = get_logger(__name__)

INDEX_JOB = "agentpm.search.index"


class ProcessMeeting(BaseModel):
    meeting_id: int = Field(ge=1)
    target: ReplyTarget


def line_of(item: MeetingActionItem) -> ActionItemLine:
    status: Literal["open", "todo", "jira", "dismissed"] = (
        item.status if item.status in ("todo", "jira", "dismissed") else "open"  # type: ignore[assignment]
    )
    return ActionItemLine(
        id=item.id, text=item.text, owner_hint=item.owner_hint, due_hint=item.due_hint, status=status,
        todo_id=item.todo_id, jira_key=item.jira_key, decided_by=item.decided_by,
    )  # fmt: skip


def action_items_notice(
    session: Session, meeting_id: int, *, note: str | None = None
) -> ActionItemsNotice | None:
    """The meeting's items as they stand (to post them, or to redraw the message after a decision)."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        return None
    method: Literal["llm", "rules"] = "llm" if meeting.items_method == "llm" else "rules"
    document = session.get(Document, meeting.document_id) if meeting.document_id else None
    return ActionItemsNotice(
        meeting_id=meeting.id, title=meeting.title, url=document.url if document else None,
        posted_by=meeting.posted_by, method=method, note=note,
        items=[line_of(item) for item in items_of(session, meeting.id)],
    )  # fmt: skip


def process_meeting(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Embed the notes, extract their action items (model or rules), store them, post them to ``target``.

    A retried job finds the items stored by an earlier attempt and posts those: no second extraction.
    """
    request = ProcessMeeting.model_validate(payload)
    try:
        ctx.queue.enqueue(INDEX_JOB, {"reason": "meeting"})
    except AgentPMError as exc:
        log.warning("meeting.index_not_queued", error=exc.user_message)
    with ctx.db.session() as session:
        meeting = session.get(Meeting, request.meeting_id)
        document = session.get(Document, meeting.document_id) if meeting and meeting.document_id else None
        if meeting is None or document is None:
            log.warning("meeting.missing", meeting=request.meeting_id)
            return
        text, method = document.body, meeting.items_method
    note = None
    if method is None:
        extraction = extract(text, chat_model(ctx.settings))
        method, note = extraction.method, extraction.note
        with ctx.db.session() as session:
            meeting = session.get_one(Meeting, request.meeting_id)
            save_action_items(session, meeting, extraction.items)
            meeting.items_method = method
    with ctx.db.session() as session:
        notice = action_items_notice(session, request.meeting_id, note=note)
    if notice is not None:
        log.info("meeting.action_items", meeting=request.meeting_id, items=len(notice.items), method=method)
        ctx.notifier.send(request.target, notice)
