"""Load test: a steady open-loop mix of slash commands, events and button clicks against `agentpm serve`.

The real `agentpm serve` and two `agentpm worker` processes run as subprocesses on a throwaway PostgreSQL
database (created, migrated, seeded with the demo issues, dropped at the end) and a Redis DB of their own;
Slack (Web API and response_url webhooks) is a LocalSlack in this process, so every reply is recorded with
its time. Requests are sent at fixed intervals whatever the answers (open loop). A bare Bolt app that only
acks, served the same way at the same rate, is the baseline. Skips (exit 0) when PostgreSQL or Redis is
unreachable.

    python -m bench.load [--rate 20] [--seconds 60] [--find-max] [--json out.json]

Measured on a shared 2-core VM (load average about 6 from other work; client, servers, PostgreSQL 15 and
Redis on the same cores), `--rate 20 --seconds 60 --baseline-seconds 30 --find-max --step-seconds 20`:
20/s for 60 s: 1,200 requests, 20.0 acks/s, ack p50 4.7 ms / p99 37.6 ms (bare Bolt 1.5 / 8.0 ms: 3.2x /
4.7x), command to reply p50 16.7 ms / p95 60.6 ms, 0 errors, web pool in use at peak 2, 13 database
connections at peak; 30/s: ack p99 328 ms, 0 errors; 45/s: ack p99 1,335 ms. Highest good rate: 30/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import psycopg
import redis

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ack_latency import AGENTPM, BARE_SERVER, ENV_PREFIXES, HOST, free_port, spawn, tail
from bot.localslack import LocalSlack, SlackCall, signed_headers
from core.jobs.catalog import QUEUES

TEAM, CHANNEL, DOMAIN = "T0LOAD", "C0LOAD", "load.example"
USERS = [f"U0LOAD{i:03d}" for i in range(40)]
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=10)
START_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 60.0
SAMPLE_EVERY_S = 0.2
RUN_DEADLINE_S = 3600.0
ACK_P99_LIMIT_MS = 1000.0
FORM = "application/x-www-form-urlencoded"
# Every class far above what a run sends: the limits are not what is measured here.
RATE_LIMITS = ";".join(
    f"{c}=1000000/minute:1000000/minute" for c in ("read", "search", "llm", "sync", "admin")
)

# The mix, in requests per 100.
MIX: dict[str, int] = {
    "/pm help": 10,
    "/pm status": 10,
    "/pm search": 20,
    "/pm todo add": 15,
    "/pm todo list": 10,
    "app_mention": 5,
    "click More results": 15,
    "click TODO Done": 15,
}
SEARCHES = ["duplicate charges", "refund reconciliation", "checkout timeout", "login rate limit",
            "webhook retries", "idempotency key", "3DS challenge", "ledger deadlock"]  # fmt: skip
QUESTIONS = ["has anyone seen customers charged twice?", "why are JPY refunds too large?",
             "what is blocking the one-page checkout?", "who is working on login rate limiting?"]  # fmt: skip


# --- what was sent and what came back ------------------------------------------------------------------


@dataclass
class Sent:
    kind: str
    sent_at: float  # wall clock, comparable with LocalSlack's call times
    reply_key: str | None  # response_url id or "thread:<ts>"; None: the reply is the ack itself
    ack_ms: float | None = None
    error: str | None = None


@dataclass
class Phase:
    rate: float
    seconds: float
    sent: list[Sent] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)  # how late each request left (client saturation)
    duration_s: float = 0.0  # first send to last answer
    substituted: int = 0  # TODO Done clicks sent as `/pm todo list` (no TODO to click yet)
    pool_peak: int | None = None  # server's agentpm_db_pool_in_use
    pg_peak: int | None = None  # connections to the database (all processes)
    pg_active_peak: int | None = None  # ... of which running a query


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else math.nan


def response_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def find_values(obj: Any, action_id: str) -> list[str]:
    """Every button value with this action_id anywhere in a message."""
    found: list[str] = []
    if isinstance(obj, dict):
        if obj.get("action_id") == action_id and isinstance(obj.get("value"), str):
            found.append(obj["value"])
        for value in obj.values():
            found += find_values(value, action_id)
    elif isinstance(obj, list):
        for value in obj:
            found += find_values(value, action_id)
    return found


@dataclass
class Replies:
    """LocalSlack's calls indexed by the request they answer: first and last call time, warnings."""

    first: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    warned: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, calls: list[SlackCall]) -> Replies:
        out, message_thread = cls(), {}
        for call in calls:
            key = None
            if call.method == "response_url":
                key = response_id(str(call.args.get("url", "")))
            elif call.method == "chat.postMessage" and call.args.get("thread_ts"):
                key = f"thread:{call.args['thread_ts']}"
                message_thread[str(call.response.get("ts"))] = key
            elif call.method == "chat.update":
                key = message_thread.get(str(call.args.get("ts")))
            if key is None:
                continue
            out.first.setdefault(key, call.at)
            out.last[key] = call.at
            if ":warning:" in str(call.args.get("text", "")) or call.failed:
                out.warned.add(key)
        return out


# --- the load generator --------------------------------------------------------------------------------


class Load:
    def __init__(self, http: aiohttp.ClientSession, slack: LocalSlack, secret: str, url: str) -> None:
        self.http, self.slack, self.secret, self.url = http, slack, secret, url
        self.rng = random.Random(7)
        self.todo_adds: dict[str, str] = {}  # response id of a `/pm todo add` → its user
        self.todos: deque[tuple[str, str]] = deque()  # (user, Done button value) not clicked yet
        self._scanned = 0

    def _command(self, text: str, user: str) -> tuple[str, dict[str, str], str]:
        response_url = self.slack.new_response_url()
        body = urlencode({
            "token": "unused", "team_id": TEAM, "team_domain": "load", "channel_id": CHANNEL,
            "channel_name": "load", "user_id": user, "user_name": user.lower(), "command": "/pm",
            "text": text, "api_app_id": "A0LOAD", "response_url": response_url,
            "trigger_id": uuid.uuid4().hex,
        })  # fmt: skip
        return body, signed_headers(self.secret, body, FORM), response_id(response_url)

    def _click(self, action_id: str, value: str, user: str) -> tuple[str, dict[str, str], str]:
        response_url = self.slack.new_response_url()
        payload = {
            "type": "block_actions", "team": {"id": TEAM}, "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A0LOAD", "trigger_id": uuid.uuid4().hex, "channel": {"id": CHANNEL},
            "container": {"type": "message", "is_ephemeral": True}, "response_url": response_url,
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value}],
        }  # fmt: skip
        body = urlencode({"payload": json.dumps(payload)})
        return body, signed_headers(self.secret, body, FORM), response_id(response_url)

    def _mention(self, question: str, user: str) -> tuple[str, dict[str, str], str]:
        text = f"<@{self.slack.bot_user_id}> {question}"
        ts = self.slack.add_message(CHANNEL, text, user=user)
        event = {"type": "app_mention", "user": user, "channel": CHANNEL, "ts": ts, "text": text}
        payload = {
            "token": "unused", "team_id": TEAM, "api_app_id": "A0LOAD", "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:12].upper(), "event_time": int(time.time()), "event": event,
        }  # fmt: skip
        body = json.dumps(payload)
        return body, signed_headers(self.secret, body, "application/json"), f"thread:{ts}"

    def _harvest(self) -> None:
        """TODOs the bot reported added, with their Done button, become clicks for later."""
        calls = self.slack.calls
        for call in calls[self._scanned :]:
            user = self.todo_adds.get(response_id(str(call.args.get("url", ""))))
            if call.method == "response_url" and user:
                self.todos.extend((user, value) for value in find_values(call.args, "todo_done"))
        self._scanned = len(calls)

    def build(self, kind: str) -> tuple[str, str, dict[str, str], str | None]:
        user = self.rng.choice(USERS)
        if kind == "click TODO Done":
            self._harvest()
            if self.todos:
                user, value = self.todos.popleft()
                return (kind, *self._click("todo_done", value, user))
            kind = "/pm todo list (for Done)"
        if kind == "/pm help":
            body, headers, _ = self._command("help", user)
            return kind, body, headers, None  # answered in the ack
        if kind == "/pm status":
            return (kind, *self._command("status", user))
        if kind == "/pm search":
            return (kind, *self._command("search " + self.rng.choice(SEARCHES), user))
        if kind == "/pm todo add":
            body, headers, key = self._command(f"todo add load test item {uuid.uuid4().hex[:6]}", user)
            self.todo_adds[key] = user
            return kind, body, headers, key
        if kind.startswith("/pm todo list"):
            return (kind, *self._command("todo list", user))
        if kind == "app_mention":
            return (kind, *self._mention(self.rng.choice(QUESTIONS), user))
        if kind == "click More results":
            state = json.dumps({"q": self.rng.choice(SEARCHES), "offset": 5})
            return (kind, *self._click("search_more", state, user))
        if kind == "bare /pm":  # the baseline app only acks
            body, headers, _ = self._command("status", user)
            return kind, body, headers, None
        raise ValueError(kind)

    async def fire(self, kind: str, phase: Phase) -> None:
        kind, body, headers, key = self.build(kind)
        sent = Sent(kind, time.time(), key)
        phase.sent.append(sent)
        started = time.perf_counter()
        try:
            async with self.http.post(self.url, data=body, headers=headers, timeout=REQUEST_TIMEOUT) as resp:
                status, text = resp.status, await resp.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            sent.error = type(exc).__name__
            return
        sent.ack_ms = (time.perf_counter() - started) * 1000
        if status != 200:
            sent.error = f"HTTP {status}"
        elif ":warning:" in text:
            sent.error = "refused in ack"


def kinds(mix: dict[str, int], seed: int = 11) -> list[str]:
    """One shuffled cycle of the mix: every 100 requests hold exactly the mix."""
    cycle = [kind for kind, share in mix.items() for _ in range(share)]
    random.Random(seed).shuffle(cycle)
    return cycle


async def open_loop(load: Load, rate: float, seconds: float, mix: dict[str, int]) -> Phase:
    """Send rate x seconds requests at fixed intervals, never waiting for answers; then await them all."""
    phase, cycle = Phase(rate, seconds), kinds(mix)
    total, interval = max(1, round(rate * seconds)), 1.0 / rate
    tasks: list[asyncio.Task[None]] = []
    begin = time.perf_counter() + 0.05
    for i in range(total):
        due = begin + i * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        phase.lag_ms.append(max(0.0, time.perf_counter() - due) * 1000)
        tasks.append(asyncio.create_task(load.fire(cycle[i % len(cycle)], phase)))
    await asyncio.gather(*tasks)
    phase.duration_s = time.perf_counter() - begin
    for task in tasks:
        task.result()
    return phase


# --- samplers: the server's pool gauge and the database's connections ----------------------------------


class Sampler:
    def __init__(self, http: aiohttp.ClientSession, metrics_url: str, pg_url: str, database: str) -> None:
        self.http, self.metrics_url, self.pg_url, self.database = http, metrics_url, pg_url, database
        self.pool: list[int] = []
        self.pg: list[tuple[int, int]] = []

    def mark(self) -> tuple[int, int]:
        return len(self.pool), len(self.pg)

    def since(self, mark: tuple[int, int]) -> tuple[int | None, int | None, int | None]:
        pool, pg = self.pool[mark[0] :], self.pg[mark[1] :]
        return (max(pool) if pool else None, max((a for a, _ in pg), default=None),
                max((b for _, b in pg), default=None))  # fmt: skip

    async def run(self) -> None:
        gauge = re.compile(r"^agentpm_db_pool_in_use (\S+)$", re.MULTILINE)
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            query = (
                "SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()"
            )
            while True:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with self.http.get(self.metrics_url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if match := gauge.search(await r.text()):
                            self.pool.append(int(float(match.group(1))))
                row = await asyncio.to_thread(lambda: conn.execute(query, (self.database,)).fetchone())
                if row:
                    self.pg.append((int(row[0]), int(row[1])))
                await asyncio.sleep(SAMPLE_EVERY_S)


# --- processes -----------------------------------------------------------------------------------------


async def wait_healthy(http: aiohttp.ClientSession, base: str, procs: dict[str, Any], logs: Path) -> None:
    """/api/v1/health answers and /api/v1/ready reports both workers."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        for name, proc in procs.items():
            if proc.returncode is not None:
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{tail(logs / f'{name}.log')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready within {START_TIMEOUT_S:.0f} s:\n{tail(logs / 'serve.log')}")
        with contextlib.suppress(aiohttp.ClientError, TimeoutError, ValueError):
            async with http.get(f"{base}/api/v1/ready", timeout=aiohttp.ClientTimeout(total=5)) as r:
                worker = (await r.json()).get("checks", {}).get("worker", {})
                answering = re.match(r"(\d+) worker", str(worker.get("detail", "")))
                if worker.get("ok") and answering and int(answering.group(1)) >= 2:
                    return
        await asyncio.sleep(0.5)


async def stop(procs: dict[str, Any]) -> None:
    for proc in procs.values():
        if proc.returncode is None:
            proc.terminate()
    for proc in procs.values():
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@contextlib.asynccontextmanager
async def bare_server(env: dict[str, str], workdir: Path, http: aiohttp.ClientSession) -> AsyncIterator[str]:
    port = free_port()
    proc = await spawn([sys.executable, "-c", BARE_SERVER, str(port)], env, workdir, workdir / "bare.log")
    try:
        await wait_up(http, f"http://{HOST}:{port}", proc, workdir / "bare.log")
        yield f"http://{HOST}:{port}/slack/events"
    finally:
        await stop({"bare": proc})


async def wait_up(http: aiohttp.ClientSession, base: str, proc: Any, log: Path) -> None:
    deadline = time.monotonic() + 30
    while proc.returncode is None and time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.get(f"{base}/api/v1/health", timeout=aiohttp.ClientTimeout(total=1)) as r:
                if r.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{log.stem} did not start:\n{tail(log)}")


def seed(database_url: str, embed: bool) -> int:
    """The demo issues, stored as a sync would, and (``embed``) embedded so search and answers are hybrid."""
    from core.config import load_settings
    from core.db.session import Database, make_engine
    from core.demo import load_demo
    from core.search.engine import SearchEngine
    from core.search.indexer import index_pending

    settings = load_settings(agentpm_env="development", database_url=database_url, redis_url=None)
    db = Database(make_engine(settings))
    try:
        with db.session() as session:
            stored = load_demo(session)
        if embed:
            index_pending(db, SearchEngine(settings, db).embedder)
        return stored
    finally:
        db.dispose()


# --- the run -------------------------------------------------------------------------------------------


def summarize(phase: Phase, replies: Replies) -> dict[str, Any]:
    by_kind: dict[str, list[Sent]] = {}
    for s in phase.sent:
        by_kind.setdefault(s.kind, []).append(s)

    def stats(items: list[Sent]) -> dict[str, Any]:
        acks = [s.ack_ms for s in items if s.ack_ms is not None]
        errors = Counter(s.error for s in items if s.error)
        first, last, missing = [], [], 0
        for s in items:
            if s.error:
                continue
            if s.reply_key is None:  # answered in the ack
                first.append(s.ack_ms or 0.0)
                last.append(s.ack_ms or 0.0)
            elif s.reply_key in replies.first:
                first.append((replies.first[s.reply_key] - s.sent_at) * 1000)
                last.append((replies.last[s.reply_key] - s.sent_at) * 1000)
                if s.reply_key in replies.warned:
                    errors["error reply"] += 1
            else:
                missing += 1
        if missing:
            errors["no reply"] += missing
        return {
            "requests": len(items), "ack_p50_ms": pct(acks, 0.5), "ack_p99_ms": pct(acks, 0.99),
            "reply_p50_ms": pct(first, 0.5), "reply_p95_ms": pct(first, 0.95),
            "done_p95_ms": pct(last, 0.95), "errors": sum(errors.values()), "error_kinds": dict(errors),
        }  # fmt: skip

    acked = sum(1 for s in phase.sent if s.ack_ms is not None and not s.error)
    return {
        "rate": phase.rate, "seconds": phase.seconds,
        "acks_per_s": acked / phase.duration_s if phase.duration_s else math.nan,
        "client_lag_p99_ms": pct(phase.lag_ms, 0.99), "substituted_done_clicks": phase.substituted,
        "pool_in_use_peak": phase.pool_peak, "db_connections_peak": phase.pg_peak,
        "db_active_peak": phase.pg_active_peak,
        "all": stats(phase.sent), "kinds": {k: stats(v) for k, v in sorted(by_kind.items())},
    }  # fmt: skip


async def drain(slack: LocalSlack, phase: Phase) -> Replies:
    """Wait (bounded) until every request that expects a reply got one."""
    keys = {s.reply_key for s in phase.sent if s.reply_key and not s.error}
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while True:
        replies = Replies.of(slack.calls)
        if keys <= replies.first.keys() or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)  # answers finish with a chat.update after their first post
    return Replies.of(slack.calls)


async def measured(
    load: Load, slack: LocalSlack, sampler: Sampler | None, rate: float, seconds: float, mix: dict[str, int]
) -> dict[str, Any]:
    mark = sampler.mark() if sampler else (0, 0)
    phase = await open_loop(load, rate, seconds, mix)
    phase.substituted = sum(1 for s in phase.sent if s.kind.endswith("(for Done)"))
    replies = await drain(slack, phase)
    if sampler:
        phase.pool_peak, phase.pg_peak, phase.pg_active_peak = sampler.since(mark)
    return summarize(phase, replies)


async def measure(args: argparse.Namespace, workdir: Path, database: str, db_url: str) -> dict[str, Any]:
    secret = secrets.token_hex(16)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)}
    base_env |= {"AGENTPM_ENV": "development", "SLACK_SIGNING_SECRET": secret, "AGENTPM_LOG_FORMAT": "json"}
    results: dict[str, Any] = {"steps": []}
    connector = aiohttp.TCPConnector(limit=0)
    async with LocalSlack(team_id=TEAM) as slack, aiohttp.ClientSession(connector=connector) as http:
        for i, user in enumerate(USERS):
            slack.add_user(user, f"user{i}@{DOMAIN}", f"user{i}", team_id=TEAM)
        slack.add_channel(CHANNEL, "load", members=[*USERS, slack.bot_user_id])
        env = base_env | {
            "DATABASE_URL": db_url, "REDIS_URL": args.redis, "CELERY_BROKER_URL": args.redis,
            "SLACK_BOT_TOKEN": "xoxb-load-" + secrets.token_hex(8), "SLACK_API_URL": slack.api_url,
            "AGENTPM_ALLOWED_DOMAINS": DOMAIN, "AGENTPM_RATE_LIMITS": RATE_LIMITS,
        }  # fmt: skip

        print("baseline: a bare Bolt app that only acks ...", file=sys.stderr)
        async with bare_server(base_env, workdir, http) as bare_url:
            bare = Load(http, slack, secret, bare_url)
            await open_loop(bare, args.rate, 3, {"bare /pm": 1})  # warm-up
            results["baseline"] = await measured(bare, slack, None, args.rate, args.baseline_seconds,
                                                 {"bare /pm": 1})  # fmt: skip
        slack.clear()

        migrate = await spawn([*AGENTPM, "migrate", "upgrade"], env, workdir, workdir / "migrate.log")
        if await asyncio.wait_for(migrate.wait(), 120) != 0:
            raise RuntimeError(f"agentpm migrate upgrade failed:\n{tail(workdir / 'migrate.log')}")
        results["issues"] = await asyncio.to_thread(seed, db_url, not args.no_embed)
        port = free_port()
        procs: dict[str, Any] = {
            "serve": await spawn([*AGENTPM, "serve", "--host", HOST, "--port", str(port)], env, workdir,
                                 workdir / "serve.log"),
        }  # fmt: skip
        for n in (1, 2):
            argv = [*AGENTPM, "worker", "--concurrency", str(args.worker_concurrency), "-n", f"load{n}@%h"]
            procs[f"worker{n}"] = await spawn(argv, env, workdir, workdir / f"worker{n}.log")
        sampler_task: asyncio.Task[None] | None = None
        try:
            base = f"http://{HOST}:{port}"
            print("starting agentpm serve and two workers ...", file=sys.stderr)
            await wait_healthy(http, base, procs, workdir)
            sampler = Sampler(http, f"{base}/metrics", args.pg, database)
            sampler_task = asyncio.create_task(sampler.run())
            load = Load(http, slack, secret, f"{base}/slack/events")
            print(f"warm-up: {args.warmup_seconds:.0f} s at {args.rate:g}/s ...", file=sys.stderr)
            await measured(load, slack, sampler, args.rate, args.warmup_seconds, MIX)
            print(f"measuring: {args.seconds:.0f} s at {args.rate:g}/s ...", file=sys.stderr)
            results["main"] = await measured(load, slack, sampler, args.rate, args.seconds, MIX)
            if args.find_max:
                rate = args.rate
                while True:
                    rate = round(rate * args.step_factor, 1)
                    print(f"find-max: {args.step_seconds:.0f} s at {rate:g}/s ...", file=sys.stderr)
                    step = await measured(load, slack, sampler, rate, args.step_seconds, MIX)
                    results["steps"].append(step)
                    if not good(step) or rate >= args.max_rate:
                        break
        finally:
            if sampler_task:
                sampler_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sampler_task
            await stop(procs)
    return results


def good(step: dict[str, Any]) -> bool:
    return bool(step["all"]["ack_p99_ms"] < ACK_P99_LIMIT_MS and step["all"]["errors"] == 0)


# --- report --------------------------------------------------------------------------------------------


def fmt(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def table(title: str, result: dict[str, Any]) -> None:
    print(f"\n{title}: {result['rate']:g} requests/s for {result['seconds']:g} s")
    header = f"{'kind':<26}{'n':>6}{'ack p50':>9}{'ack p99':>9}{'reply p50':>11}{'reply p95':>11}"
    print(header + f"{'done p95':>10}{'errors':>8}")
    rows = [*result["kinds"].items(), ("all", result["all"])]
    for kind, s in rows:
        print(
            f"{kind:<26}{s['requests']:>6}{fmt(s['ack_p50_ms']):>9}{fmt(s['ack_p99_ms']):>9}"
            f"{fmt(s['reply_p50_ms']):>11}{fmt(s['reply_p95_ms']):>11}{fmt(s['done_p95_ms']):>10}{s['errors']:>8}"
        )
        for what, count in s["error_kinds"].items():
            print(f"{'':<8}error x{count}: {what}")
    print(
        f"acks/s {result['acks_per_s']:.1f}; client send lag p99 {fmt(result['client_lag_p99_ms'])} ms; "
        f"server pool in use at peak {result['pool_in_use_peak']}; database connections at peak "
        f"{result['db_connections_peak']} ({result['db_active_peak']} active)"
    )
    if result["substituted_done_clicks"]:
        print(
            f"{result['substituted_done_clicks']} Done clicks had no TODO yet and were sent as /pm todo list"
        )


def report(results: dict[str, Any]) -> dict[str, Any]:
    print(
        "(times in ms; reply = first Slack call answering the request; done = its last one, e.g. the answer"
    )
    print(" replacing the working indicator; /pm help is answered in the ack)")
    base, main = results["baseline"], results["main"]
    table("baseline, bare Bolt app (ack only)", base)
    table("agentpm serve + 2 workers", main)
    ratios = {
        "ack p50 ours/bare": main["all"]["ack_p50_ms"] / base["all"]["ack_p50_ms"],
        "ack p99 ours/bare": main["all"]["ack_p99_ms"] / base["all"]["ack_p99_ms"],
    }
    print("\n" + "\n".join(f"{k}: {v:.2f}x" for k, v in ratios.items()))
    print(f"errors: {main['all']['errors']} (target 0)")
    summary: dict[str, Any] = {"ratios": ratios}
    if results["steps"]:
        print(f"\n{'find-max rate/s':<18}{'acks/s':>8}{'ack p50':>9}{'ack p99':>9}{'reply p95':>11}"
              f"{'errors':>8}{'pool':>6}{'db conns':>10}{'lag p99':>9}")  # fmt: skip
        for step in [main, *results["steps"]]:
            s = step["all"]
            print(
                f"{step['rate']:<18g}{step['acks_per_s']:>8.1f}{fmt(s['ack_p50_ms']):>9}{fmt(s['ack_p99_ms']):>9}"
                f"{fmt(s['reply_p95_ms']):>11}{s['errors']:>8}{step['pool_in_use_peak']!s:>6}"
                f"{step['db_connections_peak']!s:>10}{fmt(step['client_lag_p99_ms']):>9}"
            )
        passing = [step["rate"] for step in [main, *results["steps"]] if good(step)]
        highest = max(passing) if passing else None
        last = results["steps"][-1]
        capped = good(last)
        print(
            f"highest rate with ack p99 < {ACK_P99_LIMIT_MS:.0f} ms and no errors: "
            + (f"{highest:g}/s" if highest else "none")
            + (" (stopped at --max-rate; the limit is higher)" if capped else "")
        )
        summary["highest_good_rate"] = highest
    return summary


# --- set-up and clean-up of the shared servers ---------------------------------------------------------


def reachable(pg: str, redis_url: str) -> str | None:
    try:
        with psycopg.connect(pg, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {pg} is unreachable ({type(exc).__name__})"
    try:
        with redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2) as client:
            client.ping()
    except redis.RedisError as exc:
        return f"Redis at {redis_url} is unreachable ({type(exc).__name__})"
    return None


def database_url(pg: str, name: str) -> str:
    head, _, _ = pg.rpartition("/")
    return head.replace("postgresql://", "postgresql+psycopg://", 1) + "/" + name


def create_database(pg: str, name: str) -> None:
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # the name is ours: agentpm_load_ and hex digits


def drop_database(pg: str, name: str) -> None:
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clean_redis(url: str) -> None:
    """What the run left in its Redis DB: queues, bindings, dedupe, limits, caches, results."""
    bindings = [f"_kombu.{kind}.{q}" for q in QUEUES for kind in ("binding", "binding_permanent")]
    with redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2) as client:
        keys = [*QUEUES, *bindings, "unacked", "unacked_index", "unacked_mutex"]
        for pattern in ("agentpm*", "celery-task-meta-*", "_kombu.*"):
            keys += list(client.scan_iter(pattern))
        if keys:
            client.delete(*keys)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second (default 20)")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds (default 60)")
    parser.add_argument("--find-max", action="store_true", help="then step the rate up until ack p99 >= 1 s")
    parser.add_argument("--step-seconds", type=float, default=20.0, help="seconds per --find-max step")
    parser.add_argument("--step-factor", type=float, default=1.5, help="rate multiplier per step")
    parser.add_argument("--max-rate", type=float, default=500.0, help="--find-max stops here")
    parser.add_argument("--warmup-seconds", type=float, default=10.0)
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="bare Bolt app at --rate")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="processes per worker (2 workers)")
    parser.add_argument("--no-embed", action="store_true", help="keyword search only (no local model)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12", help="a Redis DB of the run's own")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    if args.rate <= 0 or args.seconds <= 0 or args.step_factor <= 1:
        parser.error("--rate and --seconds must be positive, --step-factor above 1")
    if why := reachable(args.pg, args.redis):
        print(f"skipped: {why}")
        return 0
    database = f"agentpm_load_{secrets.token_hex(4)}"
    create_database(args.pg, database)
    try:
        with tempfile.TemporaryDirectory(prefix="agentpm-load-") as tmp:
            run = measure(args, Path(tmp), database, database_url(args.pg, database))
            try:
                results = asyncio.run(asyncio.wait_for(run, RUN_DEADLINE_S))
            except (RuntimeError, TimeoutError, KeyboardInterrupt) as exc:
                print(f"load test stopped: {str(exc) or type(exc).__name__}", file=sys.stderr)
                return 1
    finally:
        drop_database(args.pg, database)
        clean_redis(args.redis)
    summary = report(results)
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, **results, **summary},
                                        indent=2, default=str) + "\n")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
