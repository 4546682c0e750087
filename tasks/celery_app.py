"""The Celery app for `agentpm worker` and `agentpm beat`: configuration, one thin task per catalog job."""

from __future__ import annotations

import os
from typing import Any

from celery import Task, signals
from kombu import Queue  # type: ignore[attr-defined]

from bot.jobqueue import make_celery
from core.config import load_settings
from core.jobs.catalog import CATALOG, QUEUES
from core.logging import configure_logging
from tasks.runtime import job_context, run_catalog_job

settings = load_settings()
configure_logging(settings.log_format)

app = make_celery(settings)
app.conf.task_queues = [Queue(name) for name in QUEUES]  # type: ignore[no-untyped-call]


def _register(name: str) -> None:
    spec = CATALOG[name]

    @app.task(  # type: ignore[untyped-decorator]
        name=name,
        bind=True,
        acks_late=spec.acks_late,
        soft_time_limit=spec.soft_time_limit,
        time_limit=spec.time_limit,
        max_retries=spec.max_retries,
    )
    def task(self: Task, payload: dict[str, Any]) -> None:
        run_catalog_job(self, name, payload)

    task.__doc__ = spec.function.__doc__


for _name in CATALOG:
    _register(_name)

# Digests and reminders: every minute; each due one is claimed in the database, so two beats (or a tick
# that overlaps the previous one) still deliver it once. A tick not started within 55 s is dropped: the next
# one covers the same work.
beat_schedule: dict[str, dict[str, Any]] = {
    "digest-tick": {
        "task": "agentpm.digest.tick",
        "schedule": 60.0,
        "kwargs": {"payload": {}},
        "options": {"expires": 55.0},
    }
}
if settings.jira_base_url:
    # Every tick enqueues one sync per project; a project already syncing is skipped (single-flight lock).
    beat_schedule["jira-sync"] = {
        "task": "agentpm.jira.sync_all",
        "schedule": settings.jira_sync_interval_minutes * 60.0,
        "kwargs": {"payload": {}},
        "options": {"expires": settings.jira_sync_interval_minutes * 60.0},
    }
# Channel messages older than their retention (AGENTPM_CHANNEL_RETENTION_DAYS or the channel's own) go once
# an hour; purging is idempotent, so an overlapping run deletes nothing twice.
beat_schedule["channel-retention"] = {
    "task": "agentpm.channels.purge",
    "schedule": 3600.0,
    "kwargs": {"payload": {}},
    "options": {"expires": 3000.0},
}
app.conf.beat_schedule = beat_schedule


@signals.worker_process_init.connect  # type: ignore[untyped-decorator]
def _fresh_connections(**_kwargs: Any) -> None:
    """A forked pool process must not share its parent's database connections."""
    job_context(reset=True)


@signals.worker_ready.connect  # type: ignore[untyped-decorator]
def _metrics_server(**_kwargs: Any) -> None:
    port = settings.agentpm_worker_metrics_port
    if port:
        from prometheus_client import start_http_server

        start_http_server(port, addr=os.environ.get("AGENTPM_WORKER_METRICS_ADDR", "127.0.0.1"))
