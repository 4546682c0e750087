"""Answers the bot gave and what people thought of them (the 👍/👎 buttons), kept to improve answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base, utcnow


class Answer(Base):
    """One answer: the question, what was said, how (LLM or extractive) and which sources it cited."""

    __tablename__ = "answers"
    __table_args__ = (Index("ix_answers_channel_thread", "channel_id", "thread_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    team_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))  # the message that shows it
    asked_by: Mapped[str | None] = mapped_column(String(32))  # Slack user ID
    question: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    mode: Mapped[str] = mapped_column(String(16))  # pending | llm | extractive | none | error
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    request_id: Mapped[str | None] = mapped_column(String(32), index=True)  # a retried job finds its answer


class AnswerFeedback(Base):
    """One vote per person per answer; voting again replaces the vote."""

    __tablename__ = "answer_feedback"
    __table_args__ = (UniqueConstraint("answer_id", "user_id", name="uq_answer_feedback_answer_id_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))  # Slack user ID
    vote: Mapped[int] = mapped_column(SmallInteger)  # +1 helpful, -1 not helpful
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
