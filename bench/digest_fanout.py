"""Digest fan-out: 1,000 channel subscriptions due at the same minute, delivered by two workers.

    python bench/digest_fanout.py [--subscriptions 1000] [--workers 2] [--rounds 3] [--rate 1] [--json FILE]

The workers are OS processes that each run ``core.digests.delivery.run_due`` for the same instant: the code
beat's tick and `agentpm digest run-due` run, as when two ticks overlap or two beats run; they share the work
through the delivery claims (no Celery or Redis involved). Each worker builds its services first, then all
start together. Slack is a LocalSlack in this process that answers a second post to a channel within
1/``--rate`` seconds with 429 + Retry-After. PostgreSQL is a throwaway database on ``AGENTPM_BENCH_PG``
(default: the test suite's admin DSN), migrated, seeded and dropped at the end; without PostgreSQL the run
prints why and exits 0.

Seed: subscriptions due at 08:00 UTC in three zones (09:00 Berlin, 08:00 London, 09:00 Lagos) and three
project sets, 300 Jira issues, 50 overdue TODOs (so every digest reads its channel's members). Per round
(a new local day each):

- ``baseline``: the same number of workers post the same rendered digest to as many channels through the
  same SlackSender/SlackNotifier, with no database at all (no claims, no content queries, no marks);
- ``ours``: run_due in every worker; timed until every worker is done; messages counted at LocalSlack;
- ``next tick``: run_due again a minute later, which must send nothing.

It prints per round and the medians: seconds until all were delivered, deliveries per second, the ratio to
the baseline, messages per round (must equal the subscriptions) and whether every round was exactly once
(exit 1 if not). Client, Slack, workers and PostgreSQL share the machine's cores, so the numbers depend on
it and on what else runs there. The whole run stops after 30 min.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bot.localslack import LocalSlack

ADMIN_DSN = os.environ.get(
    "AGENTPM_BENCH_PG", os.environ.get("AGENTPM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
)
FIRST_AT = datetime(2026, 10, 27, 8, 0, tzinfo=UTC)  # Tuesday 09:00 in Berlin; each round is a day later
ZONES = (("Europe/Berlin", "09:00"), ("Europe/London", "08:00"), ("Africa/Lagos", "09:00"))  # all 08:00 UTC
PROJECT_SETS = ([], ["PAY"], ["PAY", "WEB"])
PHASE_TIMEOUT_S = 300.0
RUN_DEADLINE_S = 1800.0


def settings_for(database_url: str, slack_url: str) -> Any:
    from core.config import load_settings

    return load_settings(
        agentpm_env="development", database_url=database_url, redis_url=None, celery_broker_url=None,
        slack_bot_token="xoxb-bench",  # noqa: S106  (LocalSlack takes any token)
        slack_api_url=slack_url, jira_base_url=None, openai_api_key=None,
        pinecone_api_key=None, db_pool_size=2, db_max_overflow=2,
    )  # fmt: skip


@contextmanager
def worker_context(database_url: str, slack_url: str) -> Iterator[Any]:
    """A worker's services, as tasks/runtime.py builds them."""
    from bot.directory import SlackDirectory
    from bot.notifier import SlackNotifier
    from bot.sender import SlackSender
    from core.db.session import Database, make_engine
    from core.jobs.context import JobContext
    from core.jobs.inprocess import InProcessQueue

    settings = settings_for(database_url, slack_url)
    db = Database(make_engine(settings))
    sender = SlackSender(settings.slack_bot_token, settings.slack_api_url)
    try:
        yield JobContext(
            settings=settings, db=db, notifier=SlackNotifier(sender), queue=InProcessQueue(workers=1),
            directory=SlackDirectory(sender),
        )  # fmt: skip
    finally:
        db.dispose()


def worker(
    mode: str, database_url: str, slack_url: str, at_iso: str, channels: list[str], start: Any, out: Any
) -> None:
    """One worker process. ``ours``: run_due for the instant. ``baseline``: post the same digest to its share
    of channels with the same notifier, no database at all (no claims, no content queries, no marks)."""
    from core.logging import configure_logging

    configure_logging("console")
    logging.disable(logging.WARNING)  # the run's own log lines would be timed too
    from core.digests.content import channel_digest
    from core.digests.delivery import run_due
    from core.notices import ReplyTarget

    at = datetime.fromisoformat(at_iso)
    with worker_context(database_url, slack_url) as ctx:
        with ctx.db.session() as session:  # connected and warm before the start line
            notice = channel_digest(
                session, ctx.settings, channel_id="CWARM", team_id="T0BENCH", projects=[], tz="UTC", until=at,
                members=None,
            )  # fmt: skip
        start.wait(timeout=120)
        started = time.perf_counter()
        if mode == "ours":
            report = run_due(ctx, at)
            result = {
                "sent": report.sent,
                "skipped": report.skipped,
                "failed": report.failed + report.retrying,
            }
        else:
            for channel in channels:
                ctx.notifier.send(ReplyTarget(channel_id=channel, private=False), notice)
            result = {"sent": len(channels), "skipped": 0, "failed": 0}
        out.put(result | {"seconds": time.perf_counter() - started})


def run_phase(
    mode: str, workers: int, database_url: str, slack: LocalSlack, at: datetime, channels: list[str]
) -> dict[str, Any]:
    """Start ``workers`` processes together; the time until every worker is done (all posts answered)."""
    spawn = multiprocessing.get_context("spawn")
    start, out = spawn.Barrier(workers + 1), spawn.Queue()
    shares = [channels[i::workers] for i in range(workers)]
    before = len(slack.calls_to("chat.postMessage"))
    processes = [
        spawn.Process(
            target=worker, args=(mode, database_url, slack.api_url, at.isoformat(), shares[i], start, out)
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    start.wait(timeout=120)
    started = time.perf_counter()
    results = [out.get(timeout=PHASE_TIMEOUT_S) for _ in processes]
    seconds = time.perf_counter() - started
    for process in processes:
        process.join(30)
    calls = slack.calls_to("chat.postMessage")[before:]
    ok = [c for c in calls if not c.failed]
    return {
        "mode": mode, "workers": workers, "seconds": seconds,
        "messages": sum(1 for c in ok if not c.args.get("thread_ts")), "posts": len(ok),
        "rate_limited": sum(1 for c in calls if c.failed and c.response.get("error") == "ratelimited"),
        "per_worker_sent": [r["sent"] for r in results], "failed": sum(r["failed"] for r in results),
    }  # fmt: skip


def seed(database_url: str, subscriptions: int, slack: LocalSlack) -> list[str]:
    """Subscriptions due at 08:00 UTC every day in three zones and three project sets, 300 Jira issues, and
    overdue TODOs (so each digest reads its channel's members)."""
    from core.db.models import JiraIssue, Project
    from core.db.schedule_tables import DigestSubscription, Todo
    from core.db.session import Database, make_engine

    db = Database(make_engine(settings_for(database_url, slack.api_url)))
    channels = [f"CBENCH{i:05d}" for i in range(subscriptions)]
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        with db.session() as session:
            for key in ("PAY", "WEB", "OPS"):
                session.add(Project(key=key, name=key))
            session.flush()
            for n in range(300):
                project = ("PAY", "WEB", "OPS")[n % 3]
                updated = FIRST_AT - timedelta(hours=n % 200)
                session.add(JiraIssue(
                    key=f"{project}-{n}", jira_id=str(n), project_key=project,
                    summary=f"Checkout issue number {n}",
                    status=("To Do", "In Progress", "Blocked", "Done")[n % 4],
                    status_category=("new", "indeterminate", "indeterminate", "done")[n % 4],
                    priority=("High", "Medium", "Low")[n % 3], created=updated - timedelta(days=n % 9),
                    updated=updated, url=f"https://jira.example/browse/{project}-{n}",
                    assignee_name="Maya Chen",
                ))  # fmt: skip
            for i, channel in enumerate(channels):
                tz, local = ZONES[i % len(ZONES)]
                session.add(DigestSubscription(
                    team_id="T0BENCH", channel_id=channel, created_by="U0BENCH", local_time=local, tz=tz,
                    weekdays=list(range(7)), projects=PROJECT_SETS[i % len(PROJECT_SETS)], active=True,
                    created_at=long_ago,
                ))  # fmt: skip
                slack.add_channel(channel, channel.lower(), members=[f"U{i % 50:05d}", "U0BENCH"])
            for n in range(50):
                session.add(Todo(
                    team_id="T0BENCH", owner_slack_id=f"U{n:05d}", creator_slack_id="U0BENCH",
                    text=f"TODO {n}", due=date(2026, 10, 1), tz="UTC", status="open", created_at=long_ago,
                    updated_at=long_ago,
                ))  # fmt: skip
    finally:
        db.dispose()
    return channels


@contextmanager
def throwaway_database() -> Iterator[str]:
    name = f"agentpm_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=3) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = ADMIN_DSN.rpartition("/")
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def local_slack(rate: float) -> Iterator[LocalSlack]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    slack = LocalSlack(team_id="T0BENCH", post_rate_per_channel=rate)
    asyncio.run_coroutine_threadsafe(slack.start(), loop).result(10)
    try:
        yield slack
    finally:
        asyncio.run_coroutine_threadsafe(slack.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=3, help="repeat, quoting medians (each round is a new day)"
    )
    parser.add_argument("--rate", type=float, default=1.0, help="LocalSlack's posts per second per channel")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the numbers here")
    args = parser.parse_args()
    try:
        psycopg.connect(ADMIN_DSN, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        where = ADMIN_DSN.rsplit("@", 1)[-1]
        print(
            f"digest_fanout: PostgreSQL is not reachable at {where} ({type(exc).__name__}); "
            "set AGENTPM_BENCH_PG to an admin DSN. Skipped."
        )
        return 0
    from core.db.schema import upgrade

    deadline = time.monotonic() + RUN_DEADLINE_S
    rounds: list[dict[str, Any]] = []
    with throwaway_database() as url, local_slack(args.rate) as slack:
        upgrade(url)
        channels = seed(url, args.subscriptions, slack)
        for number in range(args.rounds):
            if time.monotonic() > deadline:
                print("digest_fanout: run deadline reached; stopping early")
                break
            at = FIRST_AT + timedelta(days=number)
            # A different channel set for the baseline: a channel may take one post a second.
            baseline = run_phase(
                "baseline", args.workers, url, slack, at, [c.replace("CBENCH", "CBASE") for c in channels]
            )
            ours = run_phase("ours", args.workers, url, slack, at, channels)
            again = run_phase(
                "ours", args.workers, url, slack, at + timedelta(minutes=1), channels
            )  # next tick
            rounds.append({"baseline": baseline, "ours": ours, "next_tick": again})
            print(
                f"round {number + 1}: ours {ours['seconds']:.2f} s, {ours['messages']} messages "
                f"(per worker {ours['per_worker_sent']}, {ours['rate_limited']} answered 429); "
                f"baseline {baseline['seconds']:.2f} s; the next tick sent {again['messages']}"
            )
    if not rounds:
        return 1
    ours_s = statistics.median(r["ours"]["seconds"] for r in rounds)
    base_s = statistics.median(r["baseline"]["seconds"] for r in rounds)
    exact = all(
        r["ours"]["messages"] == args.subscriptions and r["next_tick"]["messages"] == 0 for r in rounds
    )
    summary = {
        "subscriptions": args.subscriptions, "workers": args.workers, "rounds": len(rounds),
        "median_seconds": round(ours_s, 3), "baseline_median_seconds": round(base_s, 3),
        "ratio": round(ours_s / base_s, 2), "messages_per_round": [r["ours"]["messages"] for r in rounds],
        "exactly_once": exact,
    }  # fmt: skip
    print(
        f"{args.subscriptions} subscriptions, {args.workers} workers: all delivered in {ours_s:.2f} s "
        f"(median of {len(rounds)}), {args.subscriptions / ours_s:.0f}/s; "
        f"baseline (same posts, no claims or content) {base_s:.2f} s; ratio {ours_s / base_s:.2f}x; "
        f"messages per round {summary['messages_per_round']} "
        f"(must be {args.subscriptions}): {'exactly once' if exact else 'NOT exactly once'}"
    )
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rounds": rounds}, indent=2))
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
