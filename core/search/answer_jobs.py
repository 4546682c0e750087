"""The answer job (`/pm ask`, mentions and DMs: a working indicator, then the answer in its place) and the
👍/👎 feedback on answers.

A retried job (Slack rate-limited the reply, a worker died) finds its answer row by request ID and reuses the
working message, so a retry never leaves a second "Looking…" behind.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.config import Settings
from core.context import current_request_id
from core.db.answer_tables import Answer, AnswerFeedback
from core.db.models import SyncState
from core.errors import AgentPMError, Retryable, new_error_id
from core.jobs.context import JobContext
from core.logging import get_logger
from core.notices import AnswerNotice, ErrorNotice, ReplyTarget
from core.ports import ThreadMessage
from core.search.answers import compose, find_sources
from core.search.audience import resolve
from core.search.jobs import has_vectors
from core.search.llm import ChatModel, OpenAIChat
from core.search.service import Viewer

log = get_logger(__name__)

THREAD_MESSAGES = 20


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=3000)
    asked_by: str | None = None
    team_id: str | None = None
    viewer: Viewer
    target: ReplyTarget
    thread_ts: str | None = None  # the Slack thread the question was asked in (context for follow-ups)
    message_ts: str | None = None  # the question's own message, left out of that context
    member: str | None = None  # a private answer: this person's channels may be used
    audience: str | None = None  # a public answer in this channel: only what all its members may see
    public: bool = True
    echo_question: bool = False


@functools.lru_cache(maxsize=4)
def _chat_model(api_key: str, base_url: str | None, model: str) -> ChatModel:
    return OpenAIChat(api_key, base_url, model)


def chat_model(settings: Settings) -> ChatModel | None:
    """The configured language model, or None: answers are then extractive."""
    if not settings.openai_api_key:
        return None
    return _chat_model(settings.openai_api_key, settings.openai_base_url, settings.agentpm_chat_model)


def read_thread(ctx: JobContext, request: AskRequest) -> list[ThreadMessage]:
    """The thread's messages before this question; none when unreadable (the question still gets answered)."""
    channel = request.target.channel_id
    if not request.thread_ts or not channel or ctx.threads is None:
        return []
    try:
        messages = ctx.threads.replies(channel, request.thread_ts, THREAD_MESSAGES)
    except Exception as exc:  # a missing scope or a Slack hiccup costs the context, not the answer
        log.warning("answer.thread_unreadable", error=type(exc).__name__)
        return []
    return [m for m in messages if m.ts != request.message_ts]


def _answer_row(session: Session, request: AskRequest) -> Answer:
    request_id = current_request_id()
    row = session.scalar(select(Answer).where(Answer.request_id == request_id)) if request_id else None
    if row is None:
        row = Answer(
            team_id=request.team_id, channel_id=request.target.channel_id, thread_ts=request.thread_ts,
            asked_by=request.asked_by, question=request.question, mode="pending", request_id=request_id,
        )  # fmt: skip
        session.add(row)
        session.flush()
    return row


def answer_question(ctx: JobContext, payload: dict[str, Any]) -> None:
    request = AskRequest.model_validate(payload)
    target = request.target
    working = AnswerNotice(
        question=request.question,
        asked_by=request.asked_by,
        working=True,
        public=request.public,
        echo_question=request.echo_question,
    )
    with ctx.db.session() as session:
        row = _answer_row(session, request)
        answer_id, message_ts = row.id, row.message_ts
    if message_ts is None:
        message_ts = ctx.notifier.send(target, working)
        if message_ts:
            with ctx.db.session() as session:
                session.get_one(Answer, answer_id).message_ts = message_ts
    try:
        notice = _answer(ctx, request, answer_id)
    except Retryable:
        raise
    except Exception as exc:
        error_id = None if isinstance(exc, AgentPMError) else new_error_id()
        message = (
            exc.user_message if isinstance(exc, AgentPMError) else "Something went wrong answering that."
        )
        log.error("answer.failed", error_id=error_id, exc_info=exc)
        with ctx.db.session() as session:
            session.get_one(Answer, answer_id).mode = "error"
        _show(ctx, target, message_ts, ErrorNotice(message=message, error_id=error_id))
        return
    _show(ctx, target, message_ts, notice)


def _show(ctx: JobContext, target: ReplyTarget, ts: str | None, notice: AnswerNotice | ErrorNotice) -> None:
    if ts:
        ctx.notifier.update(target, ts, notice)
    else:
        ctx.notifier.send(target, notice)


def _answer(ctx: JobContext, request: AskRequest, answer_id: int) -> AnswerNotice:
    thread = read_thread(ctx, request)
    with ctx.db.session() as session:
        engine = ctx.search if ctx.search is not None and has_vectors(session) else None
        viewer = resolve(ctx, session, request.viewer, member=request.member, audience=request.audience)
        sources, results = find_sources(session, request.question, thread, viewer, engine)
        synced_at = session.scalar(select(func.max(SyncState.last_success_at)))
    composed = compose(request.question, thread, sources, results, chat_model(ctx.settings))
    with ctx.db.session() as session:
        row = session.get_one(Answer, answer_id)
        row.mode, row.text = composed.mode, composed.text
        row.sources = [
            {"number": c.number, "key": c.key, "title": c.title[:200], "url": c.url}
            for c in composed.citations
        ]
    log.info("answer.done", mode=composed.mode, sources=len(composed.citations), thread=len(thread))
    return AnswerNotice(
        question=request.question, asked_by=request.asked_by, mode=composed.mode,
        text=composed.text, quotes=composed.quotes, citations=composed.citations, nearest=composed.nearest,
        note=composed.note, public=request.public, answer_id=answer_id, echo_question=request.echo_question,
        synced_at=synced_at.replace(tzinfo=UTC) if synced_at and synced_at.tzinfo is None else synced_at,
    )  # fmt: skip


def record_feedback(session: Session, answer_id: int, user_id: str, vote: int) -> bool:
    """Store (or change) ``user_id``'s vote on an answer; False when the answer no longer exists."""
    if session.get(Answer, answer_id) is None:
        return False
    row = session.scalar(
        select(AnswerFeedback).where(AnswerFeedback.answer_id == answer_id, AnswerFeedback.user_id == user_id)
    )
    now = datetime.now(UTC)
    if row is not None:
        row.vote, row.updated_at = vote, now
        return True
    try:
        with session.begin_nested():  # a double click may race us to the unique constraint
            session.add(
                AnswerFeedback(
                    answer_id=answer_id, user_id=user_id, vote=vote, created_at=now, updated_at=now
                )
            )
    except IntegrityError:
        return record_feedback(session, answer_id, user_id, vote)
    return True
