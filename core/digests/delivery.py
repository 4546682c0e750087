"""Delivering what is due: claim, build, mark ``sending``, send, mark ``sent`` — exactly once.

`agentpm digest run-due` and the beat's tick both call ``run_due``; any number of them may run at once.
A delivery whose worker died is taken over after a few minutes; if it had reached ``sending``, the channel's
recent history is searched for the message (scheduled messages carry their delivery's id as Slack message
metadata) before anything is posted again. When that history cannot be read, the delivery is marked failed
rather than risk a second copy. Slack rate limits and 5xx leave it to a later tick, a bounded number of times.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from core.db.base import utcnow
from core.digests import claims
from core.digests.claims import DELIVERY_EVENT, Claim
from core.digests.content import (
    KIND_CHANNEL,
    KIND_PERSONAL,
    RunMemo,
    channel_digest,
    personal_digest,
    reminder,
    window_starts,
)
from core.digests.schedule import DueItem, due_items
from core.errors import AgentPMError, Retryable
from core.jobs.context import JobContext
from core.logging import get_logger
from core.notices import DigestNotice, ReplyTarget
from core.todos.dates import aware
from core.todos.service import overdue

log = get_logger(__name__)

Outcome = Literal["sent", "recovered", "skipped", "empty", "failed", "retrying", "deferred"]
HISTORY_LIMIT = 200
HISTORY_MARGIN = timedelta(minutes=2)
MAX_BACKOFF = timedelta(minutes=15)


@dataclass
class RunReport:
    """What one run did with what was due at its instant; ``skipped`` were someone else's or already done."""

    at: datetime
    due: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retrying: int = 0
    recovered: int = 0  # found already posted by a worker that died before recording it
    empty: int = 0  # personal digests and reminders with nothing to say
    deferred: int = 0  # left for the next tick (the time budget ran out)
    outcomes: dict[str, str] = field(default_factory=dict, repr=False)

    def count(self, item: DueItem, outcome: Outcome) -> None:
        field_name = "skipped" if outcome == "skipped" else outcome
        setattr(self, field_name, getattr(self, field_name) + 1)
        self.outcomes[f"{item.kind}:{item.target}:{item.local_date.isoformat()}"] = outcome

    def line(self) -> str:
        return (
            f"at {self.at.isoformat()}: {self.due} due, {self.sent} sent, {self.recovered} recovered, "
            f"{self.skipped} skipped, {self.empty} empty, {self.retrying} retrying, {self.failed} failed, "
            f"{self.deferred} deferred"
        )


def run_due(
    ctx: JobContext,
    at: datetime,
    *,
    now: datetime | None = None,
    budget_seconds: float | None = None,
    worker: str | None = None,
) -> RunReport:
    """Deliver everything due at ``at`` that nobody delivered yet.

    ``now`` is the wall clock for claims and retries (default: the real one); ``budget_seconds`` stops
    claiming new work after that long (the beat's tick must end before its time limit).
    """
    at = aware(at)
    started = time.monotonic()
    report = RunReport(at=at)
    with ctx.db.session() as session:
        items = due_items(session, at)
    finished = claims.finished_keys(ctx.db, {item.local_date for item in items})
    pending = [item for item in items if item.key not in finished]
    random.shuffle(pending)  # concurrent runs start on different items instead of queueing behind one lock
    report.due = len(pending)
    memo = RunMemo()
    with ctx.db.session() as session:
        memo.since = window_starts(session, [i.post_to for i in pending if i.kind == KIND_CHANNEL], at)
    for item in pending:
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            report.count(item, "deferred")
            continue
        report.count(item, deliver(ctx, item, at, now=now, worker=worker, memo=memo))
    log.info("digest.run_due", **{k: v for k, v in vars(report).items() if k not in ("outcomes", "at")})
    return report


def _clock(now: datetime | None) -> datetime:
    return aware(now) if now else utcnow()


def target_of(item: DueItem) -> ReplyTarget:
    if item.kind == KIND_CHANNEL:
        return ReplyTarget(channel_id=item.post_to, private=False)
    return ReplyTarget(user_id=item.post_to, private=False)


def build(ctx: JobContext, item: DueItem, at: datetime, memo: RunMemo | None = None) -> DigestNotice | None:
    """The notice for a due item (None: nothing to say)."""
    members = (
        channel_members(ctx, item.post_to)
        if item.kind == KIND_CHANNEL and _any_overdue(ctx, item, at, memo)
        else None
    )
    with ctx.db.session() as session:
        if item.kind == KIND_CHANNEL:
            return channel_digest(
                session, ctx.settings, channel_id=item.post_to, team_id=item.team_id, projects=item.projects,
                tz=item.tz, until=at, members=members, memo=memo,
            )  # fmt: skip
        if item.kind == KIND_PERSONAL:
            return personal_digest(
                session, user_slack_id=item.target, team_id=item.team_id, tz=item.tz, at=at
            )
        return reminder(session, user_slack_id=item.target, team_id=item.team_id, tz=item.tz, at=at)


def _any_overdue(ctx: JobContext, item: DueItem, at: datetime, memo: RunMemo | None) -> bool:
    """Whether the workspace has overdue TODOs at all (else the channel's members need not be read)."""
    cache = memo.overdue_teams if memo is not None else {}
    if item.team_id not in cache:
        with ctx.db.session() as session:
            cache[item.team_id] = bool(overdue(session, team_id=item.team_id, at=at))
    return cache[item.team_id]


def channel_members(ctx: JobContext, channel_id: str) -> set[str] | None:
    """The channel's members, or None when they cannot be read (the digest then leaves TODOs out)."""
    if ctx.directory is None:
        return None
    try:
        return ctx.directory.members(channel_id)
    except Exception as exc:  # a missing scope or a private channel costs the TODO section only
        log.warning("digest.members_unreadable", channel=channel_id, error=type(exc).__name__)
        return None


def deliver(
    ctx: JobContext,
    item: DueItem,
    at: datetime,
    *,
    now: datetime | None = None,
    worker: str | None = None,
    memo: RunMemo | None = None,
) -> Outcome:
    """Claim, build, send and record one due item."""
    claim = claims.claim(ctx.db, item.kind, item.target, item.local_date, now=_clock(now), worker=worker)
    if claim is None:
        return "skipped"
    try:
        if claim.recovering:
            posted = find_posted(ctx, claim, item)
            if posted is not None:
                claims.mark_sent(ctx.db, claim, ts=posted, now=_clock(now), channel_id=claim.channel_id)
                log.info("digest.recovered", delivery=claim.delivery_id, ts=posted)
                return "recovered"
        notice = build(ctx, item, at, memo)
        if notice is None:
            claims.mark_skipped(ctx.db, claim, "nothing to say", _clock(now))
            return "empty"
        notice.delivery_id = claim.delivery_id
        if not claims.mark_sending(ctx.db, claim, item.post_to, at if item.kind == KIND_CHANNEL else None):
            return "skipped"  # a newer attempt took it over while this one was building
        ts = ctx.notifier.send(target_of(item), notice)
        claims.mark_sent(ctx.db, claim, ts=ts, now=_clock(now))
        return "sent"
    except Retryable as exc:
        wait = timedelta(seconds=exc.retry_after) if exc.retry_after else timedelta(minutes=2**claim.attempts)
        claims.mark_retry(ctx.db, claim, str(exc), _clock(now) + min(wait, MAX_BACKOFF))
        log.warning("digest.retry", delivery=claim.delivery_id, attempt=claim.attempts, reason=str(exc))
        return "failed" if claim.attempts >= claims.MAX_ATTEMPTS else "retrying"
    except Unverifiable as exc:
        claims.mark_failed(ctx.db, claim, str(exc))
        log.error("digest.unverifiable", delivery=claim.delivery_id, reason=str(exc))
        return "failed"
    except AgentPMError as exc:  # Slack refused (channel gone, bot not invited): retrying will not help
        claims.mark_failed(ctx.db, claim, str(exc))
        log.error("digest.failed", delivery=claim.delivery_id, reason=str(exc))
        return "failed"
    except Exception as exc:  # a database hiccup, a bug: retried a bounded number of times, then failed
        log.exception("digest.crashed", delivery=claim.delivery_id)
        claims.mark_retry(
            ctx.db, claim, type(exc).__name__, _clock(now) + timedelta(minutes=2**claim.attempts)
        )
        return "failed" if claim.attempts >= claims.MAX_ATTEMPTS else "retrying"


class Unverifiable(AgentPMError):
    """An earlier attempt may have posted, and the history that would tell cannot be read."""


def find_posted(ctx: JobContext, claim: Claim, item: DueItem) -> str | None:
    """The ts of this delivery's first message if an earlier attempt posted it, else None."""
    if ctx.directory is None:
        raise Unverifiable("an earlier attempt may have posted, and no channel history reader is configured")
    oldest = aware(claim.first_claimed_at) - HISTORY_MARGIN
    try:
        messages = ctx.directory.history(
            claim.channel_id or item.post_to, f"{oldest.timestamp():.6f}", HISTORY_LIMIT
        )
    except Retryable:
        raise
    except AgentPMError as exc:
        raise Unverifiable(
            f"an earlier attempt may have posted, and the history is unreadable: {exc}"
        ) from exc
    for message in messages:
        payload = message.event_payload or {}
        ours = message.event_type == DELIVERY_EVENT and payload.get("delivery_id") == claim.delivery_id
        if ours and payload.get("part", 0) == 0:
            return message.ts
    return None


def digest_now(
    ctx: JobContext,
    channel_id: str,
    *,
    team_id: str | None,
    requester: str | None,
    tz: str | None = None,
    at: datetime | None = None,
) -> str | None:
    """`/pm digest now`: the channel's digest posted at once (not recorded as the scheduled one); it covers
    what its subscription would (projects, since the last sent digest), or the last day of every project."""
    from core.digests.service import active_subscription

    at = aware(at) if at else datetime.now(UTC)
    members = channel_members(ctx, channel_id)
    with ctx.db.session() as session:
        subscription = active_subscription(session, channel_id)
        projects = list(subscription.projects) if subscription else []
        zone_name = subscription.tz if subscription else (tz or "UTC")
        notice = channel_digest(
            session, ctx.settings, channel_id=channel_id, team_id=team_id, projects=projects, tz=zone_name,
            until=at, members=members,
        )  # fmt: skip
    notice.requested_by = requester
    try:
        return ctx.notifier.send(ReplyTarget(channel_id=channel_id, private=False), notice)
    except Retryable:
        raise
    except AgentPMError as exc:
        raise DigestNotPosted(
            "I could not post the digest in this channel. In a private channel, invite me first "
            f"(`/invite @Agent PM`). Slack said: {exc}"
        ) from exc


class DigestNotPosted(AgentPMError):
    user_message = "I could not post the digest in this channel."
