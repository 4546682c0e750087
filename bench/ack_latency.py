"""Ack latency of signed `/pm status` slash commands over HTTP: the real server against a bare Bolt app.

Each server is a subprocess on 127.0.0.1; Slack (Web API, response_url) is a LocalSlack in this process.
Nothing external is needed unless ``--redis URL`` sends the jobs to that Celery broker. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import redis
from slack_sdk.signature import SignatureVerifier

from bot.localslack import LocalSlack
from core.jobs.catalog import QUEUES

HOST = "127.0.0.1"
WARMUP = 100
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=5)
START_TIMEOUT_S = 30.0
DRAIN_TIMEOUT_S = 120.0
RUN_DEADLINE_S = 1800.0  # the whole run stops by itself
AGENTPM = [sys.executable, "-m", "bot"]  # the same entry point as the `agentpm` console script
# the project's settings variables are dropped from the inherited environment so the run is hermetic
Env = dict[str, str]
ENV_PREFIXES = ("AGENTPM_", "SLACK_", "JIRA_", "OPENAI_", "PINECONE_", "DATABASE_", "REDIS_", "CELERY_")

# `agentpm serve`, except with Bolt's default: handlers run as tasks and the ack is polled for.
POLLING_SERVER = """
import sys
from aiohttp import web
from bot.app import build_app
from bot.cli import require_schema, settings_or_exit
from bot.server import build_web_app
from bot.wiring import build_services
settings = settings_or_exit()
require_schema(settings)
bot = build_app(build_services(settings), process_before_response=False)
web.run_app(build_web_app(bot), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""
# The floor: Bolt's own request verification and dispatch, a handler that only acks, nothing else.
BARE_SERVER = """
import os, sys
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
async def authorize(enterprise_id, team_id):
    return AuthorizeResult(enterprise_id=None, team_id=team_id, bot_token="xoxb-x")
app = AsyncApp(signing_secret=os.environ["SLACK_SIGNING_SECRET"], authorize=authorize,
               process_before_response=True)
@app.command("/pm")
async def pm(ack):
    await ack()
async def events(request):
    return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))
async def health(request):
    return web.json_response({"status": "ok"})
web_app = web.Application()
web_app.add_routes([web.post("/slack/events", events), web.get("/api/v1/health", health)])
web.run_app(web_app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


@dataclass
class Target:
    name: str
    argv: list[str]  # the server command; the port is appended
    replies: bool  # each request's job answers on the response_url (in-process jobs only)


@dataclass
class Run:
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        p99 = ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)] if ordered else math.nan
        median = statistics.median(ordered) if ordered else math.nan
        errors = {"errors": sum(self.errors.values()), "error_kinds": dict(self.errors)}
        return {"median_ms": median, "p99_ms": p99, **errors}


class Client:
    """Freshly signed `/pm status` requests, each with its own trigger_id (the bot dedupes on it)."""

    def __init__(self, http: aiohttp.ClientSession, slack: LocalSlack, secret: str) -> None:
        self.http, self.slack, self.verifier = http, slack, SignatureVerifier(secret)

    def _signed(self) -> tuple[str, dict[str, str]]:
        body = urlencode({
            "token": "unused", "team_id": "T0BENCH", "team_domain": "bench", "channel_id": "C0BENCH",
            "channel_name": "bench", "user_id": "U0BENCH", "user_name": "bench", "command": "/pm",
            "text": "status", "api_app_id": "A0BENCH", "response_url": self.slack.new_response_url(),
            "trigger_id": uuid.uuid4().hex,
        })  # fmt: skip
        timestamp = str(int(time.time()))
        signature = self.verifier.generate_signature(timestamp=timestamp, body=body) or ""
        return body, {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature,
        }  # fmt: skip

    async def one(self, url: str, run: Run) -> None:
        body, headers = self._signed()  # signing is the client's cost, outside the timed part
        started = time.perf_counter()
        try:
            async with self.http.post(url, data=body, headers=headers, timeout=REQUEST_TIMEOUT) as resp:
                status, text = resp.status, await resp.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            run.errors[type(exc).__name__] += 1
            return
        run.latencies_ms.append((time.perf_counter() - started) * 1000)
        if status != 200:
            run.errors[f"HTTP {status} {text[:60]!r}"] += 1
        elif ":warning:" in text:  # refused or failed: a 200 that is not the path being measured
            run.errors[f"refused {text[:80]!r}"] += 1

    async def sequential(self, url: str, n: int) -> Run:
        run = Run()
        for _ in range(n):
            await self.one(url, run)
        return run

    async def concurrent(self, url: str, n: int, concurrency: int) -> Run:
        run, gate = Run(), asyncio.Semaphore(concurrency)

        async def limited() -> None:
            async with gate:
                await self.one(url, run)

        await asyncio.gather(*(limited() for _ in range(n)))
        return run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


async def spawn(argv: list[str], env: Env, cwd: Path, log_path: Path) -> asyncio.subprocess.Process:
    with log_path.open("ab") as log:  # the child keeps its own descriptor
        return await asyncio.create_subprocess_exec(*argv, env=env, cwd=cwd, stdout=log, stderr=log)


@contextlib.asynccontextmanager
async def serving(target: Target, env: Env, cwd: Path, http: aiohttp.ClientSession) -> AsyncIterator[str]:
    """Start the target's server, wait for /api/v1/health, yield its Slack URL; always stop it."""
    port, log_path = free_port(), cwd / f"{target.name}.log"
    proc = await spawn([*target.argv, str(port)], env, cwd, log_path)
    try:
        base, deadline = f"http://{HOST}:{port}", time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{target.name} did not become healthy:\n{tail(log_path)}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(f"{base}/api/v1/health", timeout=aiohttp.ClientTimeout(total=1)) as r:
                    if r.status == 200:
                        break
            await asyncio.sleep(0.1)
        yield f"{base}/slack/events"
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def drain(slack: LocalSlack, target: Target, expected: int) -> None:
    """Let the previous phase's jobs finish so they don't run during the next one."""
    if target.replies:
        try:
            await slack.wait_for("response_url", expected, timeout=DRAIN_TIMEOUT_S)
        except TimeoutError as exc:
            print(f"  warning: {target.name}: jobs not drained: {exc}", file=sys.stderr)
    slack.clear()


async def measure(args: argparse.Namespace, workdir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    n, c = args.requests, args.concurrency
    secret = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)}
    env |= {"AGENTPM_ENV": "development", "SLACK_SIGNING_SECRET": secret, "AGENTPM_LOG_FORMAT": "json"}
    results: dict[str, dict[str, dict[str, Any]]] = {}
    async with LocalSlack() as slack, aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as http:
        db_url, token = f"sqlite:///{workdir / 'bench.db'}", "xoxb-bench-" + secrets.token_hex(8)
        slack.add_user("U0BENCH", "bench@bench.example", "bench", team_id="T0BENCH")
        ours_env = env | {
            "DATABASE_URL": db_url, "SLACK_BOT_TOKEN": token, "SLACK_API_URL": slack.api_url,
            # The benchmark's user is allowed in, and the limits are far above what the run sends.
            "AGENTPM_ALLOWED_DOMAINS": "bench.example",
            "AGENTPM_RATE_LIMITS": "read=1000000/minute:1000000/minute",
        }  # fmt: skip
        if args.redis:
            ours_env |= {"REDIS_URL": args.redis, "CELERY_BROKER_URL": args.redis}
        migrate = await spawn([*AGENTPM, "migrate", "upgrade"], ours_env, workdir, workdir / "migrate.log")
        if await asyncio.wait_for(migrate.wait(), 60) != 0:
            raise RuntimeError(f"agentpm migrate upgrade failed:\n{tail(workdir / 'migrate.log')}")
        targets = [
            (Target("ours", [*AGENTPM, "serve", "--host", HOST, "--port"], not args.redis), ours_env),
            (Target("ours-polling", [sys.executable, "-c", POLLING_SERVER], not args.redis), ours_env),
            (Target("bare", [sys.executable, "-c", BARE_SERVER], False), env),
        ]
        client = Client(http, slack, secret)
        for target, target_env in targets:
            print(f"measuring {target.name} ...", file=sys.stderr)
            async with serving(target, target_env, workdir, http) as url:
                await client.concurrent(url, WARMUP, c)
                await drain(slack, target, WARMUP)
                sequential = await client.sequential(url, n)
                await drain(slack, target, n)
                parallel = await client.concurrent(url, n, c)
                await drain(slack, target, n)
            results[target.name] = {"sequential": sequential.summary(), f"concurrent {c}": parallel.summary()}
    return results


def flush_redis(url: str) -> None:
    """Remove what the run left in the broker database: queued status jobs, bindings, dedupe keys."""
    bindings = [f"_kombu.{kind}.{q}" for q in QUEUES for kind in ("binding", "binding_permanent")]
    with redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) as client:
        client.delete(*QUEUES, *bindings, *client.scan_iter("agentpm:seen:*"))


def report(results: dict[str, dict[str, dict[str, Any]]], c: int) -> dict[str, Any]:
    modes = ["sequential", f"concurrent {c}"]
    print(f"\n{'target':<14}{'mode':<16}{'median ms':>10}{'p99 ms':>10}{'errors':>8}")
    for name, by_mode in results.items():
        for mode in modes:
            s = by_mode[mode]
            print(f"{name:<14}{mode:<16}{s['median_ms']:>10.2f}{s['p99_ms']:>10.2f}{s['errors']:>8}")
            for kind, count in s["error_kinds"].items():
                print(f"{'':<30}error x{count}: {kind}")
    bare = results["bare"]
    ratios = {
        f"{name}/bare median {mode}": results[name][mode]["median_ms"] / bare[mode]["median_ms"]
        for name in ("ours", "ours-polling")
        for mode in modes
    }
    ours_p99 = results["ours"][modes[1]]["p99_ms"]
    met = {
        "median within 1.5x of bare": all(ratios[f"ours/bare median {m}"] <= 1.5 for m in modes),
        f"p99 < 20 ms at {c} concurrent": ours_p99 < 20,
    }
    faster = {m: results["ours"][m]["median_ms"] <= results["ours-polling"][m]["median_ms"] for m in modes}
    print("\n" + "\n".join(f"{key}: {value:.2f}x" for key, value in ratios.items()))
    print(f"ours p99 at {c} concurrent: {ours_p99:.2f} ms")
    print("\n".join(f"target {key}: {'met' if ok else 'NOT met'}" for key, ok in met.items()))
    print("\n".join(f"faster by median ({m}): process_before_response={ok}" for m, ok in faster.items()))
    return {"ratios": ratios, "ours_p99_concurrent_ms": ours_p99, "targets_met": met, "faster": faster}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per target and mode")
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight, concurrent mode")
    parser.add_argument("--redis", metavar="URL", help="Celery broker for ours, e.g. redis://127.0.0.1/14")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be at least 1")
    with tempfile.TemporaryDirectory(prefix="agentpm-bench-") as tmp:
        try:
            results = asyncio.run(asyncio.wait_for(measure(args, Path(tmp)), RUN_DEADLINE_S))
        except (RuntimeError, TimeoutError, KeyboardInterrupt) as exc:
            print(f"bench stopped: {str(exc) or type(exc).__name__} (subprocesses stopped)", file=sys.stderr)
            return 1
        finally:
            if args.redis:
                flush_redis(args.redis)
    summary = report(results, args.concurrency)
    if args.json:
        meta = {"requests": args.requests, "concurrency": args.concurrency, "redis": bool(args.redis)}
        args.json.write_text(json.dumps({**meta, "results": results, **summary}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
