"""Every job the bot runs: name, function, queue and limits; Celery tasks and the in-process runner use it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.channels.jobs import apply_message_event, backfill_channel, purge_channels
from core.digests.jobs import digest_now_job, digest_tick
from core.jira.jobs import sync_all, sync_project, sync_with_progress
from core.jobs.context import JobContext
from core.meetings.jobs import process_meeting
from core.notices import ReplyTarget
from core.search.answer_jobs import answer_question
from core.search.jobs import index_documents, search_page
from core.status import build_status, external_vectors

JobFunction = Callable[[JobContext, dict[str, Any]], None]

QUEUES = ("default", "sync", "index", "digests")


@dataclass(frozen=True)
class JobSpec:
    name: str
    function: JobFunction
    queue: str = "default"
    soft_time_limit: int = 60
    time_limit: int = 90
    max_retries: int = 3
    acks_late: bool = True  # safe: every job is idempotent or records its effect before acting


def report_status(ctx: JobContext, payload: dict[str, Any]) -> None:
    """`/pm status`: count what is synced and indexed, then reply privately."""
    target = ReplyTarget.model_validate(payload["target"])
    with ctx.db.session() as session:
        report = build_status(
            session,
            index_backend="pinecone" if ctx.settings.pinecone_api_key else "local",
            pending_jobs=ctx.queue.pending(),
            vectors=external_vectors(ctx.search),
        )
    ctx.notifier.send(target, report)


# A full sync of a large project takes minutes; a worker killed mid-way resumes from the checkpoint.
SYNC_SOFT_LIMIT, SYNC_HARD_LIMIT = 3600, 3660

CATALOG: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec("agentpm.status.report", report_status, soft_time_limit=20, time_limit=30),
        JobSpec("agentpm.jira.sync_project", sync_project, "sync", SYNC_SOFT_LIMIT, SYNC_HARD_LIMIT),
        JobSpec("agentpm.jira.sync_all", sync_all, queue="sync", soft_time_limit=60, time_limit=90),
        JobSpec("agentpm.jira.sync", sync_with_progress, "sync", SYNC_SOFT_LIMIT, SYNC_HARD_LIMIT),
        JobSpec("agentpm.search.page", search_page, soft_time_limit=20, time_limit=30),
        JobSpec("agentpm.answer.ask", answer_question, soft_time_limit=60, time_limit=90),
        JobSpec("agentpm.search.index", index_documents, "index", SYNC_SOFT_LIMIT, SYNC_HARD_LIMIT),
        # Every minute from beat; overlapping ticks are safe (deliveries are claimed), and a tick redelivered
        # late finds nothing left to do. Not retried: the next tick is the retry.
        JobSpec("agentpm.digest.tick", digest_tick, "digests", 50, 58, max_retries=0),
        JobSpec("agentpm.digest.now", digest_now_job, "digests", soft_time_limit=60, time_limit=90),
        JobSpec("agentpm.channels.backfill", backfill_channel, "index", SYNC_SOFT_LIMIT, SYNC_HARD_LIMIT, 10),
        JobSpec("agentpm.channels.event", apply_message_event, soft_time_limit=20, time_limit=30),
        JobSpec("agentpm.channels.purge", purge_channels, "index", soft_time_limit=600, time_limit=660),
        JobSpec("agentpm.meetings.process", process_meeting, soft_time_limit=90, time_limit=120),
    )
}
