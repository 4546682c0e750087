"""Runs one job: request context, metrics, logs, bounded retries, and a friendly failure notice."""

from __future__ import annotations

import time
from typing import Any

from core.context import request_context
from core.errors import AgentPMError, Retryable, new_error_id
from core.jobs.catalog import CATALOG
from core.jobs.context import JobContext
from core.logging import get_logger
from core.metrics import JOB_DURATION, JOBS
from core.notices import ErrorNotice, ReplyTarget

log = get_logger(__name__)


class UnknownJob(AgentPMError):
    user_message = "That job does not exist."


def run_job(
    ctx: JobContext, name: str, payload: dict[str, Any], *, request_id: str | None, final_attempt: bool
) -> None:
    """Run ``name``; a ``Retryable`` error propagates unless this is the final attempt.

    On a final failure the requester gets one message with an error ID; the trace goes only to the log.
    """
    spec = CATALOG.get(name)
    if spec is None:
        raise UnknownJob(f"unknown job {name!r}")
    with request_context(request_id, job=name):
        started = time.perf_counter()
        outcome = "ok"
        try:
            spec.function(ctx, payload)
        except Retryable as exc:
            outcome = "retry"
            if not final_attempt:
                log.warning("job.retry", reason=str(exc))
                raise
            outcome = "error"
            _notify_failure(ctx, payload, exc.user_message, None)
            log.error("job.failed", reason=str(exc))
        except AgentPMError as exc:
            outcome = "error"
            log.warning("job.refused", reason=exc.user_message)
            _notify_failure(ctx, payload, exc.user_message, None)
        except Exception:
            outcome = "error"
            error_id = new_error_id()
            log.exception("job.crashed", error_id=error_id)
            _notify_failure(ctx, payload, "Something went wrong while doing that.", error_id)
        finally:
            JOBS.labels(job=name, outcome=outcome).inc()
            JOB_DURATION.labels(job=name).observe(time.perf_counter() - started)
            log.info("job.done", outcome=outcome, ms=round((time.perf_counter() - started) * 1000, 1))


def _notify_failure(ctx: JobContext, payload: dict[str, Any], message: str, error_id: str | None) -> None:
    target = payload.get("target")
    if not target:
        return
    try:
        ctx.notifier.send(ReplyTarget.model_validate(target), ErrorNotice(message=message, error_id=error_id))
    except Exception:  # the failure notice itself failed: the log is all that is left
        log.exception("job.failure_notice_failed", error_id=error_id)
