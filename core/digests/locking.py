"""Transaction-scoped locks: held until the session commits or rolls back, released by the server if the
process dies. PostgreSQL advisory locks; SQLite (one process, writes serialised anyway) needs none.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.locks import lock_id


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def transaction_lock(session: Session, name: str) -> None:
    """Wait for the lock ``name`` (short critical sections: a subscription change, a claim)."""
    if _postgres(session):
        session.execute(select(func.pg_advisory_xact_lock(lock_id(name))))


def try_transaction_lock(session: Session, name: str) -> bool:
    """Take the lock ``name`` if nobody holds it; False means someone else is on it right now."""
    if not _postgres(session):
        return True
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(lock_id(name)))))
