"""Reading an opted-in channel's history into documents: resumable, page by page, within Slack's limits.

Each page of ``conversations.history`` is stored together with the replies of the threads it starts, then
the cursor of the next page is saved in the same transaction: a killed job, or one stopped by a rate limit,
resumes at the first page not yet stored. A rate limit in the middle of a page stores what that page had
fetched so far and keeps the cursor at the page, so the retry fetches the page again (storing is idempotent:
one document per message, an unchanged message is not rewritten). The rate limit itself surfaces as
``Retryable`` carrying Slack's ``Retry-After``, and the job runner waits that long.

With a retention period, history older than it is not read at all (``conversations.history`` is newest
first, so the first message past it ends the backfill).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from core.channels.access import SLACK_SOURCE, indexed
from core.channels.messages import is_indexable, upsert_messages
from core.db.knowledge_tables import IndexedChannel
from core.db.models import Document
from core.db.session import Database
from core.errors import Retryable
from core.logging import get_logger
from core.ports import SlackHistory

log = get_logger(__name__)

MAX_REPLY_PAGES = 50  # per thread: 10,000 replies at 200 a page


@dataclass
class BackfillReport:
    pages: int = 0  # history pages stored
    messages: int = 0  # documents stored or changed
    done: bool = False  # the whole history (within the retention period) is stored


def _start(db: Database, channel_id: str) -> tuple[str | None, bool, int | None] | None:
    """(cursor, done, retention days) of an indexed channel; None when it is not (or no longer) indexed."""
    with db.session() as session:
        channel = indexed(session, channel_id)
        if channel is None:
            return None
        return channel.backfill_cursor, channel.backfill_done, channel.retention_days


def _thread(history: SlackHistory, channel_id: str, thread_ts: str, page_size: int) -> list[dict[str, Any]]:
    replies: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_REPLY_PAGES):
        page, cursor = history.replies(channel_id, thread_ts, cursor, page_size)
        replies += [m for m in page if isinstance(m, dict) and m.get("ts") != thread_ts]
        if not cursor:
            break
    return replies


def _newer_than(message: dict[str, Any], cutoff: datetime | None) -> bool:
    if cutoff is None:
        return True
    try:
        return datetime.fromtimestamp(float(message.get("ts") or 0), UTC) >= cutoff
    except (TypeError, ValueError, OverflowError):
        return False


def _store(
    db: Database,
    channel_id: str,
    messages: list[dict[str, Any]],
    links: dict[str, str],
    *,
    next_cursor: str | None = None,
    advance: bool = False,
    done: bool = False,
) -> int:
    """Store a page's messages and, when ``advance``, the cursor after it; in one transaction."""
    with db.session() as session:
        channel = session.scalar(
            select(IndexedChannel).where(IndexedChannel.channel_id == channel_id).with_for_update()
        )
        if channel is None or not channel.enabled:  # turned off meanwhile: its documents are gone, keep it so
            return 0
        stored = upsert_messages(session, channel_id, channel.name, messages, links)
        if advance:
            channel.backfill_cursor, channel.backfill_done = (None if done else next_cursor), done
        channel.backfill_at = datetime.now(UTC)
        channel.messages_indexed = int(
            session.scalar(
                select(func.count())
                .select_from(Document)
                .where(Document.source == SLACK_SOURCE, Document.channel_id == channel_id)
            )
            or 0
        )
        return stored


def backfill(
    db: Database,
    history: SlackHistory,
    channel_id: str,
    *,
    page_size: int = 200,
    max_pages: int | None = None,
    retention_days: int | None = None,
) -> BackfillReport:
    """Store the channel's history from its saved cursor on, at most ``max_pages`` pages of it.

    ``retention_days`` applies when the channel has no retention period of its own. A rate limit raises
    ``Retryable`` after the progress made is saved.
    """
    report = BackfillReport()
    while max_pages is None or report.pages < max_pages:
        start = _start(db, channel_id)
        if start is None:
            return report
        cursor, done, own_retention = start
        if done:
            report.done = True
            return report
        days = own_retention or retention_days
        cutoff = datetime.now(UTC) - timedelta(days=days) if days else None
        page, next_cursor = history.history(channel_id, cursor, page_size)
        kept = [m for m in page if isinstance(m, dict) and _newer_than(m, cutoff)]
        past_retention = len(kept) < len(page)
        collected, links = list(kept), {}
        try:
            for message in kept:
                if message.get("reply_count") and message.get("thread_ts") in (None, message.get("ts")):
                    collected += _thread(history, channel_id, str(message["ts"]), page_size)
            for message in collected:
                if is_indexable(message):
                    ts, thread_ts = str(message["ts"]), message.get("thread_ts")
                    reply_of = thread_ts if isinstance(thread_ts, str) and thread_ts != ts else None
                    links[ts] = history.permalink(channel_id, ts, reply_of)
        except Retryable:
            stored = _store(db, channel_id, collected, links)
            log.info("channel.backfill_paused", channel=channel_id, stored=stored, pages=report.pages)
            raise
        finished = not next_cursor or past_retention
        report.messages += _store(
            db, channel_id, collected, links, next_cursor=next_cursor, advance=True, done=finished
        )
        report.pages += 1
        if finished:
            report.done = True
            break
    log.info("channel.backfill", channel=channel_id, pages=report.pages, messages=report.messages)
    return report
