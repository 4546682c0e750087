"""Failure drills on real servers, the bot served over HTTP: each ends with nothing lost, nothing doubled.

Covered elsewhere (not repeated here): a broker that never ran gets a clear message (test_failures), Slack
429/5xx on digest deliveries end as ``failed`` with the reason after bounded attempts (test_digest_delivery),
the sender's own bounded retries (test_failures), and a sync killed or with Jira down at the ProjectSync level
resumes from its checkpoint (test_jira_sync).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from bot.jobqueue import CeleryQueue
from core.config import load_settings
from core.db import schema
from core.db.models import JiraIssue, SyncState
from core.db.schedule_tables import Todo
from core.db.session import Database, make_engine
from core.jobs.inprocess import InProcessQueue
from tests.fakes.jira import LocalJira, make_issues
from tests.fakes.slack import LocalSlack
from tests.integration.drill_servers import ThrowawayPostgres, ThrowawayRedis, Worker, worker_env
from tests.integration.harness import Running, bot_settings, running_bot

pytestmark = pytest.mark.integration

UNAVAILABLE = "Background jobs are unavailable right now"


@pytest.fixture
def own_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def own_pg() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


async def ready(bot: Running) -> tuple[int, dict[str, Any]]:
    async with bot.http.get(f"{bot.base_url}/api/v1/ready") as resp:
        return resp.status, await resp.json()


async def until(predicate: Any, within: float, what: str, interval: float = 0.3) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(interval)
    pytest.fail(f"{what} did not happen within {within:g}s")


def issue_pages(jira: LocalJira) -> list[Any]:
    """Search requests that fetch issues (not the key-only reconciliation listing)."""
    return [
        r
        for r in jira.requests
        if r.path == "/rest/api/3/search/jql" and r.status == 200 and (r.body or {}).get("fields") != ["key"]
    ]


def replies(slack: LocalSlack) -> list[str]:
    return [json.dumps(c.args) for c in slack.calls_to("response_url") if not c.failed]


@pytest.mark.e2e
async def test_redis_stopped_while_serving_then_back(
    slack: LocalSlack, signing_secret: str, migrated_pg: str, own_redis: ThrowawayRedis, tmp_path: Path
) -> None:
    settings = bot_settings(slack, signing_secret, migrated_pg, redis_url=own_redis.url)
    env = worker_env(DATABASE_URL=migrated_pg, REDIS_URL=own_redis.url, SLACK_API_URL=slack.api_url)
    worker = Worker(env, tmp_path / "worker.log")
    try:
        async with running_bot(settings, slack) as bot:
            queue = bot.bot.services.queue
            assert isinstance(queue, CeleryQueue)
            await until(lambda: _ready_ok(bot), 60, "the first ready=ok (worker up)")

            await bot.command("status")
            await slack.wait_for("response_url", 1, timeout=30)

            own_redis.stop()
            started = time.monotonic()
            status, body = await ready(bot)
            assert time.monotonic() - started < 8  # a dead dependency costs a bounded wait, never a hang
            assert status == 503
            assert body["status"] == "degraded"  # the database is up: degraded, not down
            assert body["checks"]["redis"]["ok"] is False
            assert body["checks"]["database"]["ok"] is True

            status, text, _ = await bot.command("status")
            assert (status, text) == (
                200,
                "",
            )  # acknowledged in time; dedupe and identity fell back to memory
            await slack.wait_for("response_url", 2, timeout=15)
            assert UNAVAILABLE in replies(slack)[1]

            own_redis.start()  # same port, same append-only file
            await until(lambda: _ready_ok(bot), 60, "ready=ok after Redis returned")
            await bot.command("status")
            await slack.wait_for("response_url", 3, timeout=30)
            await asyncio.sleep(1.5)  # anything doubled would arrive now
    finally:
        worker.stop()
    sent = replies(slack)
    assert len(sent) == 3, sent  # one reply per command: nothing lost, nothing doubled
    assert "Agent PM status" in sent[0]
    assert "Agent PM status" in sent[2]
    assert (
        sum("job.done" in line and "agentpm.status.report" in line for line in worker.text().splitlines())
        == 2
    )


async def _ready_ok(bot: Running) -> bool:
    status, body = await ready(bot)
    return status == 200 and body["status"] == "ok"


async def test_postgres_restarted_the_next_requests_succeed(
    slack: LocalSlack, signing_secret: str, own_pg: ThrowawayPostgres
) -> None:
    await asyncio.to_thread(schema.upgrade, own_pg.url)
    settings = bot_settings(slack, signing_secret, own_pg.url)
    async with running_bot(settings, slack, queue=InProcessQueue()) as bot:
        await bot.command("todo add Write the failover runbook")
        await bot.drain()
        assert (await ready(bot))[1]["checks"]["database"]["ok"] is True

        await asyncio.to_thread(own_pg.restart)  # every pooled connection is now dead

        status, body = await ready(bot)
        assert body["checks"]["database"]["ok"] is True  # the pool's pre-ping replaced the dead connections
        status, _, _ = await bot.command("todo add Check the backups after the restart")
        assert status == 200
        await bot.drain()
        await bot.command("todo list")
        await bot.drain()

    db = Database(make_engine(load_settings(database_url=own_pg.url)))
    try:
        with db.session() as session:
            titles = sorted(session.scalars(select(Todo.text)))
    finally:
        db.dispose()
    assert titles == ["Check the backups after the restart", "Write the failover runbook"]  # each once
    listing = replies(slack)[-1]
    assert "Write the failover runbook" in listing
    assert "Check the backups after the restart" in listing
    assert not [c for c in slack.calls if "went wrong" in json.dumps(c.args)]


@pytest.mark.e2e
async def test_a_worker_killed_mid_job_runs_it_again_once(
    slack: LocalSlack, signing_secret: str, migrated_pg: str, redis_url: str, tmp_path: Path
) -> None:
    async with LocalJira(make_issues("PAY", 400), latency=0.25) as jira:
        env = worker_env(
            DATABASE_URL=migrated_pg,
            REDIS_URL=redis_url,
            SLACK_API_URL=slack.api_url,
            JIRA_BASE_URL=jira.base_url,
            JIRA_EMAIL="bot@northwind.example",
            JIRA_API_TOKEN="service-token",
        )
        worker = Worker(env, tmp_path / "worker.log")
        db = Database(make_engine(load_settings(database_url=migrated_pg)))
        try:
            settings = bot_settings(slack, signing_secret, migrated_pg, redis_url=redis_url)
            async with running_bot(settings, slack) as bot:
                queue = bot.bot.services.queue
                await until(lambda: _pinged(queue), 60, "the worker answering a ping")
                queue.enqueue("agentpm.jira.sync_project", {"project": "PAY"})

                async def some_pages_stored() -> bool:
                    return await asyncio.to_thread(_count, db) >= 100

                await until(some_pages_stored, 30, "the first page stored", interval=0.05)
                children = worker.pool_children()
                assert len(children) == 1
                killed_at = _count(db)
                assert killed_at < 400  # killed in the middle
                os.kill(children[0], signal.SIGKILL)  # the OOM killer, say
                jira.clear_requests()

                async def finished() -> bool:
                    return await asyncio.to_thread(_state, db) == "ok"

                try:
                    await until(finished, 45, "the redelivered job finishing")
                except pytest.fail.Exception:
                    pytest.fail("no redelivered sync finished; worker log:\n" + worker.text()[-4000:])
                await asyncio.sleep(1.5)  # a third run would show up now
        finally:
            worker.stop()
            keys = _keys(db)
            db.dispose()
        searches = issue_pages(jira)
    assert len(keys) == len(set(keys)) == 400  # every issue stored, none twice
    assert 0 < len(searches) <= 4  # the rerun resumed near the checkpoint instead of starting over
    done = [ln for ln in worker.text().splitlines() if "job.done" in ln and "agentpm.jira.sync_project" in ln]
    assert len(done) == 1, done  # the killed attempt never finished; the redelivered one ran once


async def _pinged(queue: Any) -> bool:
    return bool(await asyncio.to_thread(queue.ping, 1.0) >= 1)


def _count(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(JiraIssue)) or 0)


def _keys(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(JiraIssue.key)))


def _state(db: Database) -> str | None:
    with db.session() as session:
        state = session.get(SyncState, "PAY")
        return state.status if state else None


def _jobs_counted(job: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("agentpm_jobs_total", {"job": job, "outcome": outcome}) or 0.0


@pytest_asyncio.fixture
async def bot(slack: LocalSlack, signing_secret: str, migrated_pg: str) -> AsyncIterator[Running]:
    settings = bot_settings(slack, signing_secret, migrated_pg)
    async with running_bot(settings, slack, queue=InProcessQueue(retry_delay=0.1)) as running:
        yield running


async def test_slack_429_and_5xx_for_a_while_then_the_reply_arrives_once(bot: Running) -> None:
    bot.slack.fail_next("response_url", status=503, times=2)
    bot.slack.fail_next("response_url", status=429, retry_after=1, times=1)
    bot.slack.fail_next("response_url", status=502, times=2)
    await bot.command("status")
    await bot.drain()
    calls = bot.slack.calls_to("response_url")
    assert [c.failed for c in calls] == [True] * 5 + [False]
    assert len(replies(bot.slack)) == 1  # delivered once, after the outage
    assert "Agent PM status" in replies(bot.slack)[0]


async def test_slack_down_for_longer_ends_in_a_recorded_failure_after_bounded_retries(
    bot: Running, caplog: pytest.LogCaptureFixture
) -> None:
    job = "agentpm.status.report"
    errors_before = _jobs_counted(job, "error")
    bot.slack.fail_next("response_url", status=503, times=1000)
    started = time.monotonic()
    await bot.command("status")
    await bot.drain()
    elapsed = time.monotonic() - started
    attempts = len(bot.slack.calls_to("response_url"))
    await asyncio.sleep(1.0)
    assert len(bot.slack.calls_to("response_url")) == attempts  # it stopped trying
    # Three sends per attempt (the call and the client's two retries), four job attempts, plus the failure
    # notice, which fails too and is logged: bounded, and within a minute.
    assert attempts == 3 * 4 + 3, attempts
    assert elapsed < 60
    assert replies(bot.slack) == []
    assert _jobs_counted(job, "error") == errors_before + 1
    failed = [r for r in caplog.records if "job.failed" in r.getMessage()]
    assert len(failed) == 1
    assert "job.failure_notice_failed" in caplog.text


async def test_jira_down_during_a_sync_marks_it_failed_in_status_and_the_next_run_resumes(
    slack: LocalSlack, signing_secret: str, migrated_pg: str
) -> None:
    slack.add_user("U0ROOT", "root@northwind.example", "root", team_id="T0TEST")
    async with LocalJira(make_issues("PAY", 300), latency=0.1) as jira:
        settings = bot_settings(
            slack,
            signing_secret,
            migrated_pg,
            jira_base_url=jira.base_url,
            jira_email="bot@northwind.example",
            jira_api_token="service-token",
        )
        async with running_bot(settings, slack, queue=InProcessQueue(retry_delay=0.1)) as bot:
            db = bot.bot.services.db
            await bot.command("sync PAY", user_id="U0ROOT")

            async def first_page_stored() -> bool:
                return await asyncio.to_thread(_count, db) >= 100

            await until(first_page_stored, 20, "the first page stored", interval=0.02)
            jira.fail_next("/rest/api/3/search/jql", 503, retry_after=0, times=1000)  # Jira goes down
            await bot.drain()
            assert _state(db) == "error"
            stored_before = _count(db)
            assert 100 <= stored_before < 300

            await bot.command("status", user_id="U0ROOT")
            await bot.drain()
            status_reply = replies(slack)[-1]
            assert "Jira is not answering" in status_reply  # the reason, in status

            with jira._lock:  # Jira comes back (the fake has no public "recover" yet)
                jira._failures.clear()
            jira.clear_requests()
            await bot.command("sync PAY", user_id="U0ROOT")
            await bot.drain()
            searches = issue_pages(jira)
            assert _state(db) == "ok"
            keys = _keys(db)
    assert len(keys) == len(set(keys)) == 300
    assert len(searches) <= (300 - stored_before) // 100 + 2  # from the checkpoint, not from the start
    summaries = [c for c in slack.calls_to("chat.postMessage") if "thread_ts" in c.args]
    assert len(summaries) == 2  # one summary per sync: the failed one and the resumed one
