"""Jobs of indexed channels: the history backfill, live message events, and the retention purge.

Each ends by asking the indexer to embed what changed (and drop what was deleted from the vector index);
the indexer runs one at a time, so many such requests cost little.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from core.channels.access import indexed
from core.channels.backfill import backfill
from core.channels.messages import apply_event, is_indexable, purge_older_than
from core.db.knowledge_tables import IndexedChannel
from core.errors import AgentPMError
from core.jobs.context import JobContext
from core.locks import single_flight
from core.logging import get_logger
from core.notices import ReplyTarget

log = get_logger(__name__)

BACKFILL_JOB = "agentpm.channels.backfill"
INDEX_JOB = "agentpm.search.index"
PAGE_SIZE = 200  # messages per conversations.history call (Slack suggests at most 200)
PAGES_PER_JOB = 100  # then the job queues its own continuation, so no run nears its time limit
CHANNEL_ID = r"^[CG][A-Z0-9]{2,30}$"


class BackfillRequest(BaseModel):
    channel_id: str = Field(pattern=CHANNEL_ID)
    target: ReplyTarget | None = None  # told when the backfill finally fails


def _request_index(ctx: JobContext, reason: str) -> None:
    try:
        ctx.queue.enqueue(INDEX_JOB, {"reason": reason})
    except AgentPMError as exc:  # the next change (or the periodic index run) embeds these documents
        log.warning("channel.index_not_queued", error=exc.user_message)


def backfill_channel(ctx: JobContext, payload: dict[str, Any]) -> None:
    """`/pm index channel on`: read the channel's history from its saved cursor on.

    A long history is read ``PAGES_PER_JOB`` pages per run, each run queueing the next; a rate limit
    raises ``Retryable`` (after saving progress) and the runner retries after Slack's ``Retry-After``.
    """
    request = BackfillRequest.model_validate(payload)
    if ctx.history is None:
        log.warning("channel.backfill_unavailable", channel=request.channel_id)
        return
    with single_flight(ctx.db, "channel-backfill:" + request.channel_id) as held:
        if not held:
            log.info("channel.backfill_running_elsewhere", channel=request.channel_id)
            return
        try:
            report = backfill(
                ctx.db, ctx.history, request.channel_id, page_size=PAGE_SIZE, max_pages=PAGES_PER_JOB,
                retention_days=ctx.settings.agentpm_channel_retention_days,
            )  # fmt: skip
        finally:
            _request_index(ctx, "channel-backfill")
    if not report.done and report.pages >= PAGES_PER_JOB:
        ctx.queue.enqueue(BACKFILL_JOB, request.model_dump(mode="json"))


class MessageEvent(BaseModel):
    event: dict[str, Any]


def _permalink(ctx: JobContext, event: dict[str, Any]) -> str | None:
    message = event.get("message") if event.get("subtype") == "message_changed" else event
    if ctx.history is None or not isinstance(message, dict) or not is_indexable(message):
        return None
    ts, thread_ts, channel = str(message["ts"]), message.get("thread_ts"), str(event["channel"])
    reply_of = thread_ts if isinstance(thread_ts, str) and thread_ts != ts else None
    return ctx.history.permalink(channel, ts, reply_of)


def apply_message_event(ctx: JobContext, payload: dict[str, Any]) -> None:
    """A channel ``message`` event (new, edited, deleted, thread reply) applied to the indexed documents."""
    event = MessageEvent.model_validate(payload).event
    channel = event.get("channel")
    if not isinstance(channel, str):
        return
    with ctx.db.session() as session:
        if indexed(session, channel) is None:
            return
    link = _permalink(ctx, event)
    with ctx.db.session() as session:
        outcome = apply_event(session, event, link)
    log.info("channel.message_event", channel=channel, outcome=outcome)
    if outcome != "ignored":
        _request_index(ctx, "channel-message")


def purge_channels(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Drop indexed messages past their channel's retention period (or the deployment's); run daily."""
    default = ctx.settings.agentpm_channel_retention_days
    purged = 0
    with ctx.db.session() as session:
        channels = session.execute(
            select(IndexedChannel.channel_id, IndexedChannel.retention_days).where(
                IndexedChannel.enabled.is_(True)
            )
        ).all()
    for channel_id, own in channels:
        days = own or default
        if days:
            with ctx.db.session() as session:
                purged += purge_older_than(session, channel_id, days)
    log.info("channel.purged", documents=purged, channels=len(channels))
    if purged:
        _request_index(ctx, "channel-purge")
