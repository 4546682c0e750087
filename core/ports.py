"""Protocols the core depends on; implementations live at the edges (bot, tasks) or in core adapters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from core.notices import Notice, ReplyTarget


class JobQueue(Protocol):
    """Enqueue work by job name; Celery in production, a small in-process executor by default."""

    backend: str

    def enqueue(self, name: str, payload: dict[str, Any]) -> str:
        """Queue one job and return its ID; raise ``QueueUnavailable`` when the broker is down."""
        ...

    def pending(self) -> int | None:
        """Jobs waiting to run, when the backend can tell."""
        ...

    def ping(self, timeout: float) -> int:
        """How many workers answered within ``timeout`` seconds."""
        ...


class Notifier(Protocol):
    """Posts a job's result back where it belongs."""

    def send(self, target: ReplyTarget, notice: Notice) -> str | None:
        """Post; returns the message's ``ts`` when it is a channel message that can be updated later."""
        ...

    def update(self, target: ReplyTarget, ts: str, notice: Notice) -> None:
        """Replace a message posted by ``send`` (progress that keeps itself up to date)."""
        ...


@dataclass(frozen=True)
class ThreadMessage:
    user: str | None
    text: str
    ts: str
    from_bot: bool = False


class ThreadReader(Protocol):
    """Reads a Slack thread, so a follow-up question is understood in its conversation."""

    def replies(self, channel: str, thread_ts: str, limit: int) -> list[ThreadMessage]:
        """The thread's messages, oldest first (the root included), at most ``limit`` of the latest."""
        ...


@dataclass(frozen=True)
class PostedMessage:
    """A top-level message as channel history shows it, with the app metadata it was posted with."""

    ts: str
    text: str = ""
    event_type: str | None = None
    event_payload: dict[str, Any] | None = None


class ChannelDirectory(Protocol):
    """Who is in a channel, and what was posted there lately (a delivery a dead worker may have sent)."""

    def members(self, channel_id: str) -> set[str]:
        """Every member's Slack user ID (all pages)."""
        ...

    def history(self, channel: str, oldest: str | None, limit: int) -> list[PostedMessage]:
        """Up to ``limit`` top-level messages since ``oldest`` (a Slack ts), newest first, with metadata.

        ``channel`` may be a user ID: the bot's DM with that person.
        """
        ...


class Deduper(Protocol):
    """Remembers request keys for a while so a redelivered event or command causes nothing more."""

    async def first_time(self, key: str, ttl_seconds: int) -> bool: ...


class Cache(Protocol):
    """Short-lived values (identity lookups) shared by the web processes when Redis is configured."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl_seconds: float) -> None: ...

    async def delete(self, key: str) -> None: ...


class SlackHistory(Protocol):
    """Reads a channel's past messages, for the backfill of a channel opted into indexing.

    Cursors are Slack's opaque pagination cursors (None: the first page; a None next cursor: the last page).
    A rate limit surfaces as ``core.errors.Retryable`` with Slack's ``Retry-After``.
    """

    def history(
        self, channel: str, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the channel's messages, newest first, and the cursor of the next (older) page."""
        ...

    def replies(
        self, channel: str, thread_ts: str, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a thread's messages, oldest first (the root may be among them), and the next cursor."""
        ...

    def permalink(self, channel: str, ts: str, thread_ts: str | None = None) -> str:
        """The message's link (``thread_ts`` given for a thread reply, so the link opens the thread)."""
        ...
