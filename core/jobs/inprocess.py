"""The embedded job queue: the same job functions on a small thread pool, for `agentpm try` and dev."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from core.context import current_request_id, new_request_id
from core.errors import Retryable
from core.jobs.context import JobContext
from core.jobs.runner import run_job
from core.metrics import JOBS_ENQUEUED

MAX_RETRY_WAIT_SECONDS = 60.0  # a huge Retry-After must not hold one of two job threads for an hour


class InProcessQueue:
    """Runs jobs in this process; bounded retries with backoff like the Celery tasks."""

    backend = "in-process"

    def __init__(self, workers: int = 2, retry_delay: float = 0.5) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="agentpm-job")
        self._context: JobContext | None = None
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._retry_delay = retry_delay

    def bind(self, ctx: JobContext) -> None:
        """The context is built after the queue (it holds the queue), so it is attached afterwards."""
        self._context = ctx

    def enqueue(self, name: str, payload: dict[str, Any]) -> str:
        if self._context is None:
            raise RuntimeError("InProcessQueue.bind() was not called")
        job_id = uuid.uuid4().hex
        request_id = current_request_id() or new_request_id()  # one ID for every attempt of this job
        future = self._executor.submit(self._run, self._context, name, payload, request_id)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        JOBS_ENQUEUED.labels(job=name).inc()
        return job_id

    def _run(self, ctx: JobContext, name: str, payload: dict[str, Any], request_id: str | None) -> None:
        from core.jobs.catalog import CATALOG

        attempts = CATALOG[name].max_retries + 1 if name in CATALOG else 1
        for attempt in range(attempts):
            try:
                run_job(ctx, name, payload, request_id=request_id, final_attempt=attempt == attempts - 1)
                return
            except Retryable as exc:
                time.sleep(min(MAX_RETRY_WAIT_SECONDS, exc.retry_after or self._retry_delay * (2**attempt)))

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def pending(self) -> int:
        with self._lock:
            return sum(1 for f in self._pending if not f.running())

    def ping(self, timeout: float) -> int:
        return 1

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every queued job has finished (jobs may enqueue more); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return True
            for future in pending:
                try:
                    future.result(timeout=max(0.0, deadline - time.monotonic()))
                except Exception:  # noqa: S110  (run_job already logged and reported it)
                    pass
        return False

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)
