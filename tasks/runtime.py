"""What a worker process holds (one set of services) and how a Celery task runs a catalog job."""

from __future__ import annotations

from typing import Any

from celery import Task

from bot.directory import SlackDirectory
from bot.history import SlackChannelHistory
from bot.notifier import SlackNotifier, SlackThreads
from bot.sender import SlackSender
from core.config import load_settings
from core.db.session import Database, make_engine
from core.errors import Retryable
from core.jobs.context import JobContext
from core.jobs.runner import run_job
from core.search.engine import SearchEngine

_context: JobContext | None = None

MAX_BACKOFF_SECONDS = 300


def job_context(*, reset: bool = False) -> JobContext:
    """The worker process's services, built on first use (after the fork)."""
    global _context
    if reset and _context is not None:
        _context.db.dispose()
        _context = None
    if _context is None:
        from bot.jobqueue import CeleryQueue, make_celery

        settings = load_settings()
        queue = CeleryQueue(make_celery(settings), settings)
        db = Database(make_engine(settings))
        sender = SlackSender(settings.slack_bot_token, settings.slack_api_url)
        _context = JobContext(
            settings=settings,
            db=db,
            notifier=SlackNotifier(sender),
            queue=queue,
            search=SearchEngine(settings, db),
            threads=SlackThreads(sender),
            history=SlackChannelHistory(sender),
            directory=SlackDirectory(sender),
        )
    return _context


def request_id_of(task: Task) -> str | None:
    """The request ID the web process put in the message headers."""
    value = getattr(task.request, "request_id", None)
    if value is None and isinstance(task.request.headers, dict):
        value = task.request.headers.get("request_id")
    return str(value) if value else None


def run_catalog_job(task: Task, name: str, payload: dict[str, Any]) -> None:
    final = task.request.retries >= (task.max_retries or 0)
    try:
        run_job(job_context(), name, payload, request_id=request_id_of(task), final_attempt=final)
    except Retryable as exc:
        countdown = min(MAX_BACKOFF_SECONDS, exc.retry_after or 2 ** (task.request.retries + 1))
        raise task.retry(exc=exc, countdown=countdown) from exc
