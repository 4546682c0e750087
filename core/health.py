"""Deep health checks: each dependency answers within a deadline; details never hold secrets or traces."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Literal

import httpx
import redis
from pydantic import BaseModel
from sqlalchemy import text

from core.config import Settings
from core.db.session import Database
from core.logging import redact_text
from core.ports import JobQueue

Check = Callable[[], str]
"""Raises on failure; returns a short detail (a version, a count) on success."""


class CheckResult(BaseModel):
    ok: bool
    latency_ms: float
    detail: str


class HealthReport(BaseModel):
    status: Literal["ok", "degraded", "down"]
    checks: dict[str, CheckResult]


CRITICAL = frozenset({"database"})


def _describe(exc: BaseException) -> str:
    """One line naming the failure: the exception type and a redacted, trimmed message."""
    message = redact_text(str(exc).splitlines()[0] if str(exc) else "")[:160]
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _timed(check: Check) -> tuple[str, float]:
    started = time.perf_counter()
    detail = check()
    return detail, (time.perf_counter() - started) * 1000


def run_checks(checks: Mapping[str, Check], timeout: float = 3.0) -> HealthReport:
    """Run every check concurrently; a check slower than ``timeout`` counts as down."""
    results: dict[str, CheckResult] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, len(checks)), thread_name_prefix="agentpm-health")
    try:
        started = time.perf_counter()
        futures = {name: pool.submit(_timed, check) for name, check in checks.items()}
        deadline = time.monotonic() + timeout
        for name, future in futures.items():
            try:
                detail, latency = future.result(timeout=max(0.0, deadline - time.monotonic()))
                ok = True
            except FutureTimeout:
                detail, ok, latency = (
                    f"no answer within {timeout:g}s",
                    False,
                    (time.perf_counter() - started) * 1000,
                )
            except Exception as exc:
                detail, ok, latency = _describe(exc), False, (time.perf_counter() - started) * 1000
            results[name] = CheckResult(ok=ok, latency_ms=round(latency, 2), detail=detail)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if all(r.ok for r in results.values()):
        status: Literal["ok", "degraded", "down"] = "ok"
    elif any(not results[n].ok for n in CRITICAL if n in results):
        status = "down"
    else:
        status = "degraded"
    return HealthReport(status=status, checks=results)


def database_check(db: Database) -> Check:
    def check() -> str:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return db.engine.dialect.name

    return check


def redis_check(url: str | None) -> Check:
    def check() -> str:
        if not url:
            return "not configured: limits, dedupe and jobs run in memory"
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
        return "PONG"

    return check


def worker_check(queue: JobQueue, timeout: float = 2.0) -> Check:
    def check() -> str:
        answered = queue.ping(timeout)
        if answered < 1:
            raise RuntimeError("no worker answered")
        return f"{answered} worker(s) answering ({queue.backend})"

    return check


def jira_check(settings: Settings) -> Check:
    def check() -> str:
        base = (settings.jira_base_url or "").rstrip("/")
        headers = {"Accept": "application/json"}
        auth: Any = None
        if settings.jira_email:
            auth = (settings.jira_email, settings.jira_api_token or "")
        else:
            headers["Authorization"] = f"Bearer {settings.jira_api_token or ''}"
        response = httpx.get(f"{base}/rest/api/2/serverInfo", headers=headers, auth=auth, timeout=3.0)
        if response.status_code >= 400:
            raise RuntimeError(f"HTTP {response.status_code}")
        info = response.json()
        return f"{info.get('deploymentType', 'Jira')} {info.get('version', '')}".strip()

    return check


def openai_check(settings: Settings) -> Check:
    def check() -> str:
        from openai import OpenAI

        client = OpenAI(
            api_key=settings.openai_api_key, base_url=settings.openai_base_url, timeout=3.0, max_retries=0
        )
        try:
            models = client.models.list()
            return f"{len(models.data)} models"
        finally:
            client.close()

    return check


def pinecone_check(settings: Settings) -> Check:
    def check() -> str:
        from pinecone import Pinecone

        index = Pinecone(api_key=settings.pinecone_api_key).Index(host=settings.pinecone_index_host or "")
        stats = index.describe_index_stats()
        return f"dimension {stats.dimension}, {stats.total_vector_count} vectors"

    return check


def standard_checks(settings: Settings, db: Database, queue: JobQueue) -> dict[str, Check]:
    """The checks core knows how to run; the bot adds Slack's."""
    checks: dict[str, Check] = {
        "database": database_check(db),
        "redis": redis_check(settings.redis_url),
        "worker": worker_check(queue),
    }
    if settings.jira_base_url:
        checks["jira"] = jira_check(settings)
    if settings.openai_api_key:
        checks["openai"] = openai_check(settings)
    if settings.pinecone_api_key:
        checks["pinecone"] = pinecone_check(settings)
    return checks
