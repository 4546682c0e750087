"""The request ID: one per Slack request or job, carried into every log line and into Celery task headers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import structlog

_request_id: ContextVar[str | None] = ContextVar("agentpm_request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def current_request_id() -> str | None:
    return _request_id.get()


@contextmanager
def request_context(request_id: str | None = None, **fields: object) -> Iterator[str]:
    """Bind a request ID (new unless given) and log fields for the duration of a request or job."""
    rid = request_id or new_request_id()
    token = _request_id.set(rid)
    with structlog.contextvars.bound_contextvars(request_id=rid, **fields):
        try:
            yield rid
        finally:
            _request_id.reset(token)


def bind_request_id(request_id: str, **fields: object) -> None:
    """Bind for the rest of the current task (one Slack request), when no ``with`` block can span it.

    Bolt runs middleware one after another rather than nested, so the listener runs after the middleware
    has returned; every request is handled in its own asyncio task, whose context this binding stays in.
    """
    _request_id.set(request_id)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id, **fields)
