"""The audit log: every role change, admin action, credential change and refusal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import current_request_id
from core.db.models import AuditEvent


def record(
    session: Session,
    *,
    action: str,
    outcome: str,
    actor_slack_id: str | None = None,
    actor_email: str | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        outcome=outcome,
        actor_slack_id=actor_slack_id,
        actor_email=actor_email,
        target=target,
        detail=detail or {},
        request_id=current_request_id(),
    )
    session.add(event)
    session.flush()
    return event


class AuditEntry(BaseModel):
    at: datetime
    actor_slack_id: str | None
    actor_email: str | None
    action: str
    target: str | None
    outcome: str
    detail: dict[str, Any]


def recent(
    session: Session, *, actor_slack_id: str | None = None, since: datetime | None = None, limit: int = 50
) -> list[AuditEntry]:
    """Newest first; optionally one actor's events, optionally since an instant."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if actor_slack_id:
        query = query.where(AuditEvent.actor_slack_id == actor_slack_id)
    if since:
        query = query.where(AuditEvent.at >= since)
    return [
        AuditEntry(
            at=e.at,
            actor_slack_id=e.actor_slack_id,
            actor_email=e.actor_email,
            action=e.action,
            target=e.target,
            outcome=e.outcome,
            detail=e.detail or {},
        )
        for e in session.scalars(query)
    ]
