"""Claiming a delivery so exactly one process sends it, and recording how far the sending got.

A claim is one short transaction under an advisory lock on the delivery's key: insert the row (the unique
key decides if two get that far), or take over a row whose owner died (``claimed``/``sending`` for longer
than ``STALE_AFTER``) or whose retry time has come. Every later write names the attempt it belongs to, so a
slow worker that lost its claim cannot overwrite the newer one's outcome.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.db.schedule_tables import Delivery
from core.db.session import Database
from core.digests.locking import try_transaction_lock
from core.todos.dates import aware

DELIVERY_EVENT = "agentpm_delivery"  # Slack message metadata event_type on every scheduled message
CLAIMED, SENDING, SENT, SKIPPED, FAILED = "claimed", "sending", "sent", "skipped", "failed"
FINISHED = (SENT, SKIPPED, FAILED)
STALE_AFTER = timedelta(minutes=5)  # a claim this old without an outcome belongs to a dead worker
MAX_ATTEMPTS = 5


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:128]


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    attempts: int
    recovering: bool  # an earlier attempt got as far as posting: look for its message first
    channel_id: str | None  # where that attempt posted
    first_claimed_at: datetime


def _lock_name(kind: str, target: str, local_date: date) -> str:
    return f"delivery:{kind}:{target}:{local_date.isoformat()}"


def _takeover_due(row: Delivery, now: datetime) -> bool:
    if row.retry_at is not None:
        return aware(row.retry_at) <= now
    return aware(row.claimed_at) <= now - STALE_AFTER


def claim(
    db: Database, kind: str, target: str, local_date: date, *, now: datetime, worker: str | None = None
) -> Claim | None:
    """This process's claim on the delivery, or None: someone else has it, or it is finished."""
    worker = worker or worker_name()
    with db.session() as session:
        if not try_transaction_lock(session, _lock_name(kind, target, local_date)):
            return None
        row = session.scalar(
            select(Delivery).where(
                Delivery.kind == kind, Delivery.target == target, Delivery.local_date == local_date
            )
        )
        if row is None:
            row = Delivery(
                kind=kind, target=target, local_date=local_date, status=CLAIMED, attempts=1,
                claimed_by=worker, claimed_at=now, created_at=now,
            )  # fmt: skip
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # another process inserted it first (SQLite: no advisory locks)
                session.rollback()
                return None
            return Claim(row.id, 1, False, None, now)
        if row.status in FINISHED or not _takeover_due(row, now):
            return None
        if row.attempts >= MAX_ATTEMPTS:
            row.status = FAILED
            row.error = f"gave up after {row.attempts} attempts: {row.error or 'no outcome recorded'}"[:2000]
            return None
        attempts, recovering = row.attempts + 1, row.status == SENDING
        taken = session.execute(
            update(Delivery)
            .where(Delivery.id == row.id, Delivery.attempts == row.attempts)
            .values(attempts=attempts, claimed_by=worker, claimed_at=now, retry_at=None)
            .execution_options(synchronize_session=False)
        )
        if not getattr(taken, "rowcount", 0):
            return None
        return Claim(row.id, attempts, recovering, row.channel_id, aware(row.created_at))


def _record(db: Database, claim: Claim, **values: Any) -> bool:
    """Write the outcome of this attempt; False when a newer attempt has taken the delivery over."""
    with db.session() as session:
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == claim.delivery_id, Delivery.attempts == claim.attempts)
            .values(**values)
        )
        return bool(getattr(result, "rowcount", 0))


def mark_sending(db: Database, claim: Claim, channel_id: str, covers_until: datetime | None) -> bool:
    """From here on a message may be in Slack: a recovery looks for it before posting again."""
    return _record(db, claim, status=SENDING, channel_id=channel_id, covers_until=covers_until)


def mark_sent(
    db: Database, claim: Claim, *, ts: str | None, now: datetime, channel_id: str | None = None
) -> bool:
    values: dict[str, Any] = {
        "status": SENT,
        "message_ts": ts,
        "sent_at": now,
        "error": None,
        "retry_at": None,
    }
    if channel_id:
        values["channel_id"] = channel_id
    return _record(db, claim, **values)


def mark_skipped(db: Database, claim: Claim, reason: str, now: datetime) -> bool:
    return _record(db, claim, status=SKIPPED, error=reason[:2000], sent_at=now)


def mark_failed(db: Database, claim: Claim, reason: str) -> bool:
    return _record(db, claim, status=FAILED, error=reason[:2000])


def mark_retry(db: Database, claim: Claim, reason: str, retry_at: datetime) -> bool:
    """A transient failure: the status stays (``sending`` still means "look before posting"); retry later."""
    if claim.attempts >= MAX_ATTEMPTS:
        return mark_failed(db, claim, f"gave up after {claim.attempts} attempts: {reason}")
    return _record(db, claim, error=reason[:2000], retry_at=retry_at)


def finished_keys(db: Database, dates: set[date]) -> set[tuple[str, str, date]]:
    """Keys already sent, skipped or failed on these local dates: nothing to claim there."""
    if not dates:
        return set()
    with db.session() as session:
        rows = session.execute(
            select(Delivery.kind, Delivery.target, Delivery.local_date).where(
                Delivery.local_date.in_(sorted(dates)), Delivery.status.in_(FINISHED)
            )
        )
        return {(kind, target, day) for kind, target, day in rows}
