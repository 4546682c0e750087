"""core.health.run_checks: every dependency answers within a deadline; failures say why without secrets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from core.db.session import Database
from core.health import Check, database_check, redis_check, run_checks, worker_check
from core.jobs.inprocess import InProcessQueue


def ok(detail: str = "fine") -> Check:
    return lambda: detail


def failing(exc: Exception) -> Check:
    def check() -> str:
        raise exc

    return check


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Lets a deliberately slow check finish once the test is over, so no thread outlives it for long."""
    event = threading.Event()
    yield event
    event.set()


def test_all_ok() -> None:
    report = run_checks({"database": ok("sqlite"), "redis": ok("PONG")})
    assert report.status == "ok"
    assert report.checks["database"].ok
    assert report.checks["database"].detail == "sqlite"
    assert report.checks["redis"].detail == "PONG"
    assert all(r.latency_ms >= 0 for r in report.checks.values())


def test_non_critical_failure_is_degraded() -> None:
    report = run_checks({"database": ok(), "redis": failing(ConnectionError("refused"))})
    assert report.status == "degraded"
    assert report.checks["database"].ok
    assert not report.checks["redis"].ok
    assert report.checks["redis"].detail == "ConnectionError: refused"


def test_database_failure_is_down() -> None:
    report = run_checks({"database": failing(OSError("no route")), "redis": ok()})
    assert report.status == "down"
    assert report.checks["database"].detail == "OSError: no route"


def test_no_checks_is_ok() -> None:
    assert run_checks({}).status == "ok"


def test_slow_check_is_down_after_the_timeout(release: threading.Event) -> None:
    def slow() -> str:
        release.wait(10)
        return "too late"

    started = time.monotonic()
    report = run_checks({"database": ok(), "jira": slow}, timeout=0.2)
    elapsed = time.monotonic() - started
    assert elapsed < 2
    assert report.status == "degraded"
    assert not report.checks["jira"].ok
    assert "0.2s" in report.checks["jira"].detail
    assert report.checks["jira"].latency_ms >= 190


def test_checks_run_concurrently(release: threading.Event) -> None:
    def slow() -> str:
        release.wait(0.3)
        return "done"

    started = time.monotonic()
    report = run_checks({f"c{i}": slow for i in range(5)}, timeout=2)
    assert report.status == "ok"
    assert time.monotonic() - started < 1.2  # five 0.3 s checks, not 1.5 s in a row


def test_failure_details_are_redacted_and_short() -> None:
    token = "xoxb-123456789-abc"
    report = run_checks(
        {
            "slack": failing(RuntimeError(f"token {token}")),
            "jira": failing(RuntimeError("line one\n  File 'x.py', line 3\n" + "y" * 500)),
            "openai": failing(RuntimeError()),
        }
    )
    assert token not in report.model_dump_json()
    assert report.checks["slack"].detail == "RuntimeError: token [REDACTED]"
    assert report.checks["jira"].detail == "RuntimeError: line one"
    assert report.checks["openai"].detail == "RuntimeError"
    long = run_checks({"x": failing(RuntimeError("z" * 1000))}).checks["x"].detail
    assert len(long) <= len("RuntimeError: ") + 160


def test_redis_not_configured_is_ok() -> None:
    assert run_checks({"redis": redis_check(None)}).checks["redis"].ok
    assert "not configured" in redis_check(None)()


def test_unreachable_redis_fails_fast() -> None:
    started = time.monotonic()
    report = run_checks({"redis": redis_check("redis://127.0.0.1:1/0")}, timeout=5)
    assert time.monotonic() - started < 2.5
    assert not report.checks["redis"].ok
    assert report.checks["redis"].detail.startswith("ConnectionError")
    assert report.status == "degraded"


def test_database_check_against_sqlite(db: Database) -> None:
    report = run_checks({"database": database_check(db)})
    assert report.status == "ok"
    assert report.checks["database"].detail == "sqlite"


def test_worker_check_reports_the_backend() -> None:
    queue = InProcessQueue(workers=1)
    try:
        assert worker_check(queue)() == "1 worker(s) answering (in-process)"
    finally:
        queue.shutdown()


def test_worker_check_fails_when_no_worker_answers() -> None:
    class Silent:
        backend = "celery"

        def enqueue(self, name: str, payload: dict[str, object]) -> str:
            return "id"

        def pending(self) -> int | None:
            return None

        def ping(self, timeout: float) -> int:
            return 0

    report = run_checks({"worker": worker_check(Silent())})
    assert report.checks["worker"].detail == "RuntimeError: no worker answered"
