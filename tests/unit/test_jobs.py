"""core.jobs: the runner and the in-process queue, on a real SQLite database with a recording notifier."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from bot.views.notices import render_notice
from core.config import Settings
from core.context import current_request_id, request_context
from core.db.session import Database
from core.errors import InvalidInput, Retryable
from core.jobs.catalog import CATALOG, JobSpec
from core.jobs.context import JobContext
from core.jobs.inprocess import InProcessQueue
from core.jobs.runner import UnknownJob, run_job
from core.notices import ErrorNotice, Notice, ReplyTarget, StatusReport

TARGET = {"channel_id": "C123", "user_id": "U123", "private": True}


class RecordingNotifier:
    """The Notifier port, remembering what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[ReplyTarget, Notice]] = []
        self._lock = threading.Lock()

    def send(self, target: ReplyTarget, notice: Notice) -> None:
        with self._lock:
            self.sent.append((target, notice))

    def notices(self) -> list[Notice]:
        return [notice for _, notice in self.sent]


class BrokenNotifier:
    def send(self, target: ReplyTarget, notice: Notice) -> None:
        raise ConnectionError("slack is down")


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def queue() -> Iterator[InProcessQueue]:
    q = InProcessQueue(workers=2, retry_delay=0.001)
    yield q
    q.shutdown()


@pytest.fixture
def ctx(db: Database, notifier: RecordingNotifier, queue: InProcessQueue) -> JobContext:
    context = JobContext(
        settings=Settings(database_url=str(db.engine.url)), db=db, notifier=notifier, queue=queue
    )
    queue.bind(context)
    return context


@pytest.fixture
def register(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Adds a JobSpec to the catalog for the duration of one test."""

    def add(spec: JobSpec) -> str:
        monkeypatch.setitem(CATALOG, spec.name, spec)
        return spec.name

    return add


def test_status_report_job_sends_a_status_report(ctx: JobContext, notifier: RecordingNotifier) -> None:
    run_job(ctx, "agentpm.status.report", {"target": TARGET}, request_id="r1", final_attempt=True)
    ((target, notice),) = notifier.sent
    assert target == ReplyTarget.model_validate(TARGET)
    assert isinstance(notice, StatusReport)
    assert notice.projects == []
    assert notice.documents == {"jira": 0, "slack": 0, "meeting": 0}
    assert notice.index_backend == "local"
    assert notice.pending_jobs == 0


def test_status_report_names_pinecone_when_configured(db: Database, notifier: RecordingNotifier) -> None:
    queue = InProcessQueue(workers=1)
    try:
        context = JobContext(
            settings=Settings(database_url=str(db.engine.url), pinecone_api_key="pcsk_x"),
            db=db,
            notifier=notifier,
            queue=queue,
        )
        run_job(context, "agentpm.status.report", {"target": TARGET}, request_id=None, final_attempt=True)
    finally:
        queue.shutdown()
    (notice,) = notifier.notices()
    assert isinstance(notice, StatusReport)
    assert notice.index_backend == "pinecone"


def test_unknown_job_raises(ctx: JobContext, notifier: RecordingNotifier) -> None:
    with pytest.raises(UnknownJob, match=r"agentpm\.nope"):
        run_job(ctx, "agentpm.nope", {"target": TARGET}, request_id=None, final_attempt=True)
    assert notifier.sent == []


def test_a_crash_sends_one_error_notice_with_an_error_id(
    ctx: JobContext, notifier: RecordingNotifier, register: Any
) -> None:
    def crash(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise KeyError("internal detail xoxb-123456789-abc")

    name = register(JobSpec("test.crash", crash))
    run_job(ctx, name, {"target": TARGET}, request_id=None, final_attempt=True)
    (notice,) = notifier.notices()
    assert isinstance(notice, ErrorNotice)
    assert notice.message == "Something went wrong while doing that."
    assert notice.error_id
    assert notice.error_id.startswith("E")
    assert len(notice.error_id) == 9
    shown = render_notice(notice)
    assert notice.error_id in shown["text"]
    assert "Traceback" not in str(shown)
    assert "internal detail" not in str(shown)
    assert "KeyError" not in str(shown)


def test_each_crash_has_its_own_error_id(ctx: JobContext, notifier: RecordingNotifier, register: Any) -> None:
    def crash(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    name = register(JobSpec("test.crash", crash))
    for _ in range(3):
        run_job(ctx, name, {"target": TARGET}, request_id=None, final_attempt=True)
    ids = {n.error_id for n in notifier.notices() if isinstance(n, ErrorNotice)}
    assert len(ids) == 3


def test_a_crash_without_a_target_notifies_nobody(
    ctx: JobContext, notifier: RecordingNotifier, register: Any
) -> None:
    def crash(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    run_job(ctx, register(JobSpec("test.crash", crash)), {}, request_id=None, final_attempt=True)
    assert notifier.sent == []


def test_a_failing_notifier_does_not_raise(ctx: JobContext, register: Any) -> None:
    def crash(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    ctx.notifier = BrokenNotifier()
    run_job(
        ctx, register(JobSpec("test.crash", crash)), {"target": TARGET}, request_id=None, final_attempt=True
    )


def test_a_refusal_shows_its_own_message(ctx: JobContext, notifier: RecordingNotifier, register: Any) -> None:
    def refuse(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise InvalidInput("No such project: NOPE.")

    run_job(
        ctx, register(JobSpec("test.refuse", refuse)), {"target": TARGET}, request_id=None, final_attempt=True
    )
    (notice,) = notifier.notices()
    assert notice == ErrorNotice(message="No such project: NOPE.", error_id=None)


def test_retryable_propagates_before_the_final_attempt(
    ctx: JobContext, notifier: RecordingNotifier, register: Any
) -> None:
    def flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
        raise Retryable("Jira is busy; try again in a minute.", retry_after=0)

    name = register(JobSpec("test.flaky", flaky))
    with pytest.raises(Retryable):
        run_job(ctx, name, {"target": TARGET}, request_id=None, final_attempt=False)
    assert notifier.sent == []
    run_job(ctx, name, {"target": TARGET}, request_id=None, final_attempt=True)
    (notice,) = notifier.notices()
    assert notice == ErrorNotice(message=Retryable.user_message, error_id=None)  # detail stays in the log


def test_queue_retries_then_sends_one_final_failure(
    ctx: JobContext, queue: InProcessQueue, notifier: RecordingNotifier, register: Any
) -> None:
    calls: list[int] = []

    def flaky(ctx: JobContext, payload: dict[str, Any]) -> None:
        calls.append(1)
        raise Retryable()

    name = register(JobSpec("test.flaky", flaky, max_retries=2))
    queue.enqueue(name, {"target": TARGET})
    assert queue.drain(timeout=10)
    assert len(calls) == 3
    (notice,) = notifier.notices()
    assert isinstance(notice, ErrorNotice)
    assert notice.message == Retryable.user_message


def test_queue_retry_that_recovers_sends_no_error(
    ctx: JobContext, queue: InProcessQueue, notifier: RecordingNotifier, register: Any
) -> None:
    calls: list[int] = []

    def recovers(ctx: JobContext, payload: dict[str, Any]) -> None:
        calls.append(1)
        if len(calls) < 2:
            raise Retryable("once")
        ctx.notifier.send(ReplyTarget.model_validate(payload["target"]), ErrorNotice(message="fine"))

    queue.enqueue(register(JobSpec("test.recovers", recovers, max_retries=3)), {"target": TARGET})
    assert queue.drain(timeout=10)
    assert len(calls) == 2
    assert notifier.notices() == [ErrorNotice(message="fine")]


def test_queue_runs_jobs_and_empties(
    ctx: JobContext, queue: InProcessQueue, notifier: RecordingNotifier
) -> None:
    job_ids = {queue.enqueue("agentpm.status.report", {"target": TARGET}) for _ in range(5)}
    assert len(job_ids) == 5
    assert queue.drain(timeout=10)
    assert queue.pending() == 0
    assert len(notifier.sent) == 5
    assert all(isinstance(n, StatusReport) for n in notifier.notices())


def test_pending_counts_jobs_waiting_for_a_worker(
    ctx: JobContext, queue: InProcessQueue, register: Any
) -> None:
    gate = threading.Event()

    def blocked(ctx: JobContext, payload: dict[str, Any]) -> None:
        gate.wait(5)

    name = register(JobSpec("test.blocked", blocked))
    for _ in range(5):
        queue.enqueue(name, {})
    try:
        assert queue.pending() >= 3  # two workers busy, the rest waiting
    finally:
        gate.set()
    assert queue.drain(timeout=10)
    assert queue.pending() == 0


def test_jobs_may_enqueue_more_jobs(
    ctx: JobContext, queue: InProcessQueue, notifier: RecordingNotifier, register: Any
) -> None:
    def fan_out(ctx: JobContext, payload: dict[str, Any]) -> None:
        ctx.queue.enqueue("agentpm.status.report", payload)

    queue.enqueue(register(JobSpec("test.fan_out", fan_out)), {"target": TARGET})
    assert queue.drain(timeout=10)
    assert [type(n) for n in notifier.notices()] == [StatusReport]


def test_enqueue_before_bind_is_refused() -> None:
    queue = InProcessQueue(workers=1)
    try:
        with pytest.raises(RuntimeError, match="bind"):
            queue.enqueue("agentpm.status.report", {})
    finally:
        queue.shutdown()


def test_unknown_job_on_the_queue_is_dropped(
    ctx: JobContext, queue: InProcessQueue, notifier: RecordingNotifier
) -> None:
    queue.enqueue("agentpm.nope", {"target": TARGET})
    assert queue.drain(timeout=10)
    assert queue.pending() == 0
    assert notifier.sent == []


def test_request_id_reaches_the_job_and_its_log_context(
    ctx: JobContext, queue: InProcessQueue, register: Any
) -> None:
    seen: dict[str, Any] = {}

    def record(ctx: JobContext, payload: dict[str, Any]) -> None:
        seen["request_id"] = current_request_id()
        seen["log_context"] = structlog.contextvars.get_contextvars()

    name = register(JobSpec("test.record", record))
    with request_context("req-0123456789") as rid:
        queue.enqueue(name, {})
    assert rid == "req-0123456789"
    assert queue.drain(timeout=10)
    assert seen["request_id"] == "req-0123456789"
    assert seen["log_context"]["request_id"] == "req-0123456789"
    assert seen["log_context"]["job"] == name


def test_job_without_a_request_gets_its_own_id(ctx: JobContext, register: Any) -> None:
    seen: list[str | None] = []
    name = register(JobSpec("test.record", lambda ctx, payload: seen.append(current_request_id())))
    run_job(ctx, name, {}, request_id=None, final_attempt=True)
    run_job(ctx, name, {}, request_id=None, final_attempt=True)
    assert all(seen)
    assert seen[0] != seen[1]
    assert current_request_id() is None  # nothing leaks out of the job
