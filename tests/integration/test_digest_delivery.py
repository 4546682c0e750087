"""Exactly once: concurrent runs, daylight-saving changes, dead workers and Slack rate limits, on PostgreSQL
with the real SlackSender/SlackNotifier against LocalSlack over HTTP."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.sender import SlackSender
from core.db.schedule_tables import Delivery
from core.db.session import Database
from core.digests import claims
from core.digests.delivery import run_due
from core.notices import DigestNotice, ReplyTarget
from tests.fakes.slack import LocalSlack
from tests.integration.digest_helpers import (
    add_subscription,
    add_todo,
    deliveries,
    digest_settings,
    job_context,
    posts,
    top_level,
)

pytestmark = pytest.mark.integration

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo")
# Wednesday 2026-10-28 08:00 UTC: 09:00 in Berlin (CET), 04:00 in New York (EDT), 17:00 in Tokyo.
AT = datetime(2026, 10, 28, 8, 0, tzinfo=UTC)


@pytest.fixture
def env(migrated_pg: str, slack_sync: tuple[LocalSlack, SlackSender]) -> tuple[str, LocalSlack]:
    return migrated_pg, slack_sync[0]


def _run_in_child(database_url: str, slack_url: str, at: str, barrier: Any, results: Any) -> None:
    """One OS process with its own engine and connections; all start run_due at the same moment."""
    from core.logging import configure_logging

    configure_logging("console")
    with job_context(digest_settings(database_url, slack_url)) as ctx:
        ctx.db.engine.connect().close()  # connected before the start line, so the race is on the claims
        barrier.wait(timeout=60)
        report = run_due(ctx, datetime.fromisoformat(at))
        results.put({"pid": os.getpid(), "sent": report.sent, "skipped": report.skipped, "due": report.due})


def seed_three_zones(db: Database) -> tuple[list[str], list[str]]:
    """Channels due at AT (09:00 Berlin, 04:00 New York, 17:00 Tokyo: 16:30 is caught up) and some not yet."""
    due, not_due = [], []
    for i in range(10):
        for zone, time, is_due in (
            ("Europe/Berlin", "09:00", True), ("America/New_York", "04:00", True),
            ("Asia/Tokyo", "16:30", True), ("Europe/Berlin", "09:01", False),
            ("America/New_York", "08:00", False), ("Asia/Tokyo", "18:00", False),
        ):  # fmt: skip
            channel = f"C{zone.split('/')[1][:3].upper()}{time.replace(':', '')}{i:02d}"
            add_subscription(db, channel, time=time, tz=zone)
            (due if is_due else not_due).append(channel)
    return due, not_due


def test_four_processes_at_the_same_instant_deliver_each_once(env: tuple[str, LocalSlack]) -> None:
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        due, not_due = seed_three_zones(ctx.db)
        spawn = multiprocessing.get_context("spawn")
        barrier, results = spawn.Barrier(4), spawn.Queue()
        children = [
            spawn.Process(target=_run_in_child, args=(url, slack.api_url, AT.isoformat(), barrier, results))
            for _ in range(4)
        ]
        for child in children:
            child.start()
        reports = [results.get(timeout=90) for _ in children]
        for child in children:
            child.join(30)
            assert child.exitcode == 0
        counts = Counter(c.args["channel"] for c in posts(slack))
        assert counts == Counter(due)  # exactly one message per due subscription, none for the others
        assert not set(counts) & set(not_due)
        assert sum(r["sent"] for r in reports) == len(due) == 30
        assert len({r["pid"] for r in reports}) == 4
        rows = deliveries(ctx.db)
        assert len(rows) == 30
        assert {r.status for r in rows} == {"sent"}
        assert all(r.attempts == 1 and r.message_ts for r in rows)


def test_run_due_from_the_shell_four_times_at_once(env: tuple[str, LocalSlack], tmp_path: Any) -> None:
    """`agentpm digest run-due --at` in four real processes started together: one message per due channel."""
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        due, _ = seed_three_zones(ctx.db)
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIRA_", "OPENAI_", "PINECONE_"))
    }
    environment.update(
        DATABASE_URL=url, SLACK_API_URL=slack.api_url, SLACK_BOT_TOKEN="xoxb-test-token",
        AGENTPM_ENV="development", AGENTPM_LOG_FORMAT="json",
    )  # fmt: skip
    environment.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "bot", "digest", "run-due", "--at", "2026-10-28T08:00:00Z", "--json"]
    runs = [
        subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], [err[-2000:] for _, err in outputs]
    reports = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(r["sent"] for r in reports) == len(due)
    assert Counter(c.args["channel"] for c in posts(slack)) == Counter(due)


def tick_twice(ctx: Any, at: datetime) -> None:
    """Two beats ticking at the same minute (two threads, two connections)."""
    threads = [threading.Thread(target=run_due, args=(ctx, at)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)


def sent_at_ticks(
    slack: LocalSlack, ctx: Any, start: datetime, end: datetime, step: timedelta
) -> dict[str, list[datetime]]:
    """Ticks from ``start`` to ``end``; for each channel, the ticks at which it received its digests."""
    seen: dict[str, list[datetime]] = {}
    at = start
    while at <= end:
        before = len(posts(slack))
        tick_twice(ctx, at)
        for call in posts(slack)[before:]:
            seen.setdefault(call.args["channel"], []).append(at)
        at += step
    return seen


def test_berlin_fall_back_and_other_zones_across_the_change(env: tuple[str, LocalSlack]) -> None:
    """Sunday 2026-10-25: Berlin goes from CEST to CET at 01:00 UTC (02:00-03:00 happens twice)."""
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        add_subscription(ctx.db, "CBER0900", time="09:00", tz="Europe/Berlin")
        add_subscription(ctx.db, "CBER0230", time="02:30", tz="Europe/Berlin")
        add_subscription(ctx.db, "CNYC0900", time="09:00", tz="America/New_York", weekdays=[0, 1, 2, 3, 4])
        add_subscription(ctx.db, "CTYO0900", time="09:00", tz="Asia/Tokyo")
        seen = sent_at_ticks(
            slack, ctx, datetime(2026, 10, 24, 0, 0, tzinfo=UTC), datetime(2026, 10, 26, 23, 50, tzinfo=UTC),
            timedelta(minutes=30),
        )  # fmt: skip
        utc = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731
        assert seen["CBER0900"] == [utc(2026, 10, 24, 7, 0), utc(2026, 10, 25, 8, 0), utc(2026, 10, 26, 8, 0)]
        # 02:30 CEST on the 25th is 00:30 UTC; 02:30 CET an hour later finds that date delivered.
        assert seen["CBER0230"] == [
            utc(2026, 10, 24, 0, 30),
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 26, 1, 30),
        ]
        # Mon-Fri: the first tick (20:00 on Friday there) catches Friday up; Saturday and Sunday are skipped.
        assert seen["CNYC0900"] == [utc(2026, 10, 24, 0, 0), utc(2026, 10, 26, 13, 0)]
        assert seen["CTYO0900"] == [utc(2026, 10, 24, 0, 0), utc(2026, 10, 25, 0, 0), utc(2026, 10, 26, 0, 0)]
        assert all(r.status == "sent" for r in deliveries(ctx.db))


def test_new_york_spring_forward_neither_skips_nor_doubles(env: tuple[str, LocalSlack]) -> None:
    """Sunday 2026-03-08: New York jumps from 02:00 EST to 03:00 EDT at 07:00 UTC; 02:30 does not exist."""
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        add_subscription(ctx.db, "CNYC0230", time="02:30", tz="America/New_York")
        add_subscription(ctx.db, "CNYC0900", time="09:00", tz="America/New_York")
        add_subscription(ctx.db, "CBER0900", time="09:00", tz="Europe/Berlin")
        seen = sent_at_ticks(
            slack, ctx, datetime(2026, 3, 7, 6, 0, tzinfo=UTC), datetime(2026, 3, 9, 14, 0, tzinfo=UTC),
            timedelta(minutes=20),
        )  # fmt: skip
        utc = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731
        assert seen["CNYC0230"] == [utc(2026, 3, 7, 7, 40), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 40)]
        assert seen["CNYC0900"] == [utc(2026, 3, 7, 14, 0), utc(2026, 3, 8, 13, 0), utc(2026, 3, 9, 13, 0)]
        assert seen["CBER0900"] == [utc(2026, 3, 7, 8, 0), utc(2026, 3, 8, 8, 0), utc(2026, 3, 9, 8, 0)]


def dead_claim(db: Database, target: str, channel: str, *, sending: bool) -> claims.Claim:
    """What a worker killed mid-way leaves behind: a claim (and maybe ``sending``) it never finished."""
    ten_minutes_ago = datetime.now(UTC) - timedelta(minutes=10)
    claim = claims.claim(db, "channel", target, date(2026, 10, 28), now=ten_minutes_ago)
    assert claim is not None
    if sending:
        assert claims.mark_sending(db, claim, channel, AT)
    return claim


def test_a_worker_killed_between_claim_and_send_is_delivered_once_after_recovery(
    env: tuple[str, LocalSlack],
) -> None:
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        claimed = add_subscription(ctx.db, "CCLAIMED")
        sent_before = add_subscription(ctx.db, "CPOSTED")
        lost = add_subscription(ctx.db, "CLOST")
        busy = add_subscription(ctx.db, "CBUSY")
        ids = {"claimed": str(claimed), "posted": str(sent_before), "lost": str(lost), "busy": str(busy)}
        dead_claim(ctx.db, ids["claimed"], "CCLAIMED", sending=False)  # died after claiming: nothing posted
        posted = dead_claim(
            ctx.db, ids["posted"], "CPOSTED", sending=True
        )  # died after posting, not recorded
        dead_claim(ctx.db, ids["lost"], "CLOST", sending=True)  # died while posting: the post never arrived
        claims.claim(
            ctx.db, "channel", ids["busy"], date(2026, 10, 28), now=datetime.now(UTC)
        )  # still working
        # The dead worker's message, as it posted it (metadata naming the delivery).
        ghost = DigestNotice(scope="channel", title="Digest", until=AT, delivery_id=posted.delivery_id)
        ts = ctx.notifier.send(ReplyTarget(channel_id="CPOSTED", private=False), ghost)
        slack.clear()

        report = run_due(ctx, AT)
        assert (report.sent, report.recovered, report.skipped) == (2, 1, 1)
        assert sorted(c.args["channel"] for c in posts(slack)) == ["CCLAIMED", "CLOST"]
        history_reads = slack.calls_to("conversations.history")
        assert {c.args["channel"] for c in history_reads} == {"CPOSTED", "CLOST"}  # looked before posting
        rows = {r.target: r for r in deliveries(ctx.db)}
        assert rows[ids["posted"]].status == "sent"
        assert rows[ids["posted"]].message_ts == ts
        assert (rows[ids["claimed"]].status, rows[ids["claimed"]].attempts) == ("sent", 2)
        assert (rows[ids["lost"]].status, rows[ids["lost"]].attempts) == ("sent", 2)
        assert rows[ids["busy"]].status == "claimed"  # a live claim is left alone

        slack.clear()
        again = run_due(ctx, AT + timedelta(minutes=1))  # the next tick: nothing more
        assert (again.sent, again.recovered) == (0, 0)
        assert posts(slack) == []


def test_a_personal_reminder_whose_worker_died_after_posting_is_found_in_the_dm(
    env: tuple[str, LocalSlack],
) -> None:
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        add_todo(ctx.db, "U0ALICE", date(2026, 10, 20))
        nine_minutes_ago = datetime.now(UTC) - timedelta(minutes=9)
        claim = claims.claim(ctx.db, "reminder", "U0ALICE", date(2026, 10, 28), now=nine_minutes_ago)
        assert claim is not None
        assert claims.mark_sending(ctx.db, claim, "U0ALICE", None)
        ghost = DigestNotice(scope="reminder", title="Overdue TODOs", until=AT, delivery_id=claim.delivery_id)
        ts = ctx.notifier.send(ReplyTarget(user_id="U0ALICE", private=False), ghost)
        slack.clear()
        report = run_due(ctx, AT + timedelta(hours=1))  # 09:00 UTC: Alice's morning (no settings: 09:00 UTC)
        assert report.recovered == 1
        assert posts(slack) == []
        assert slack.calls_to("conversations.open")[0].args["users"] == "U0ALICE"
        assert deliveries(ctx.db)[0].message_ts == ts


def test_slack_rate_limits_then_success(env: tuple[str, LocalSlack]) -> None:
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        add_subscription(ctx.db, "CONCE")
        slack.fail_next("chat.postMessage", status=429, retry_after=1)  # the client waits and retries itself
        report = run_due(ctx, AT)
        assert report.sent == 1
        attempts = slack.calls_to("chat.postMessage")
        assert [c.failed for c in attempts] == [True, False]

        add_subscription(ctx.db, "CLATER")
        slack.clear()
        slack.fail_next(
            "chat.postMessage", status=429, retry_after=0, times=3
        )  # more than the client retries
        started = datetime.now(UTC)
        first = run_due(ctx, AT, now=started)
        assert first.retrying == 1
        row = next(r for r in deliveries(ctx.db) if r.status != "sent")
        assert (row.status, row.attempts) == ("sending", 1)
        assert "ratelimited" in (row.error or "")
        assert row.retry_at is not None
        assert run_due(ctx, AT, now=started + timedelta(seconds=30)).skipped == 1  # not before its retry time
        second = run_due(ctx, AT + timedelta(minutes=1), now=started + timedelta(minutes=5))
        assert second.sent == 1
        assert len(posts(slack, "CLATER")) == 1
        assert slack.calls_to("conversations.history")  # it looked for a post that might have landed first


def test_bounded_attempts_and_refusals_end_as_failed_with_the_reason(env: tuple[str, LocalSlack]) -> None:
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        add_subscription(ctx.db, "CGONE")
        slack.fail_next("chat.postMessage", error="channel_not_found")
        assert run_due(ctx, AT).failed == 1
        row = deliveries(ctx.db)[0]
        assert row.status == "failed"
        assert "channel_not_found" in (row.error or "")

        add_subscription(ctx.db, "CDOWN")
        slack.fail_next("chat.postMessage", status=502, times=claims.MAX_ATTEMPTS)  # 5xx: retried by ticks
        now = datetime.now(UTC)
        outcomes = []
        for attempt in range(claims.MAX_ATTEMPTS):
            report = run_due(ctx, AT, now=now + timedelta(hours=attempt))
            outcomes.append((report.retrying, report.failed))
        assert outcomes[-1] == (0, 1)
        assert outcomes[:-1] == [(1, 0)] * (claims.MAX_ATTEMPTS - 1)
        down = next(r for r in deliveries(ctx.db) if r.status == "failed" and r.attempts > 1)
        assert down.attempts == claims.MAX_ATTEMPTS
        assert "gave up after" in (down.error or "")
        assert run_due(ctx, AT, now=now + timedelta(days=1)).due == 0  # failed is final for that day
        assert top_level(posts(slack)) == []
        with ctx.db.session() as session:
            assert session.query(Delivery).filter(Delivery.status == "sent").count() == 0


@pytest.mark.e2e
def test_two_beat_ticks_on_real_celery_workers_deliver_once(
    env: tuple[str, LocalSlack], redis_url: str, tmp_path: Any
) -> None:
    """`agentpm.digest.tick` as beat sends it, twice for the same minute, on a worker with two processes."""
    import time

    from bot.jobqueue import CeleryQueue, make_celery

    url, slack = env
    settings = digest_settings(url, slack.api_url, redis_url=redis_url)
    with job_context(settings) as ctx:
        due, _ = seed_three_zones(ctx.db)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIRA_", "OPENAI_"))}
    environment.update(
        DATABASE_URL=url, REDIS_URL=redis_url, SLACK_API_URL=slack.api_url, SLACK_BOT_TOKEN="xoxb-test-token",
        AGENTPM_ENV="development", AGENTPM_LOG_FORMAT="json",
    )  # fmt: skip
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot", "worker", "--concurrency", "2"],
            env=environment, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    queue = CeleryQueue(make_celery(settings), settings)
    try:
        deadline = time.monotonic() + 60
        while queue.ping(1.0) < 1:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
        for _ in range(2):
            queue.enqueue("agentpm.digest.tick", {"at": AT.isoformat()})
        deadline = time.monotonic() + 60
        while len(posts(slack)) < len(due) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # anything doubled would arrive now
        assert Counter(c.args["channel"] for c in posts(slack)) == Counter(due), log.read_text()[-3000:]
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
