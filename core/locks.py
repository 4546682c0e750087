"""Single-flight locks: two beats, many workers or a manual run never do the same work at once.

PostgreSQL: a session advisory lock, held on its own connection for as long as the work runs (and released
by the server if the process dies). SQLite (one process, the embedded default): an in-process lock.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select

from core.db.session import Database

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def lock_id(name: str) -> int:
    """A stable signed 64-bit number for ``name`` (advisory locks take a bigint)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@contextmanager
def single_flight(db: Database, name: str) -> Iterator[bool]:
    """Yields True when this caller holds the lock, False when someone else does (do nothing then)."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            key = lock_id(name)
            held = bool(connection.execute(select(func.pg_try_advisory_lock(key))).scalar())
            connection.commit()
            try:
                yield held
            finally:
                if held:
                    connection.execute(select(func.pg_advisory_unlock(key)))
                    connection.commit()
        return
    with _local_guard:
        lock = _local_locks.setdefault(name, threading.Lock())
    held = lock.acquire(blocking=False)
    try:
        yield held
    finally:
        if held:
            lock.release()
