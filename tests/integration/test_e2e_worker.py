"""End to end: a signed `/pm status` is acknowledged, runs on a real worker, and reaches the fake Slack."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.jobqueue import CeleryQueue
from tests.fakes.slack import LocalSlack
from tests.integration.harness import bot_settings, running_bot

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture
def worker_env(migrated_pg: str, redis_url: str, signing_secret: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "JIRA_", "OPENAI_", "PINECONE_"))
    }
    env.update(
        DATABASE_URL=migrated_pg,
        REDIS_URL=redis_url,
        SLACK_SIGNING_SECRET=signing_secret,
        AGENTPM_LOG_FORMAT="json",
        AGENTPM_ENV="development",
    )
    return env


@pytest.fixture
def start_worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[object]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(slack_api_url: str) -> Path:
        log = tmp_path / "worker.log"
        env = {**worker_env, "SLACK_API_URL": slack_api_url, "SLACK_BOT_TOKEN": "xoxb-test-token"}
        with log.open("wb") as out:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot", "worker", "--concurrency", "1"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        return log

    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_for_worker(queue: CeleryQueue, log: Path, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await asyncio.to_thread(queue.ping, 1.0) >= 1:
            return
        await asyncio.sleep(0.5)
    tail = (await asyncio.to_thread(log.read_text))[-3000:]
    pytest.fail("the worker never answered a ping:\n" + tail)


async def test_status_runs_on_a_real_worker(
    slack: LocalSlack, signing_secret: str, migrated_pg: str, redis_url: str, start_worker: object
) -> None:
    settings = bot_settings(slack, signing_secret, migrated_pg, redis_url=redis_url)
    log = start_worker(slack.api_url)  # type: ignore[operator]
    async with running_bot(settings, slack) as bot:
        queue = bot.bot.services.queue
        assert isinstance(queue, CeleryQueue)
        await wait_for_worker(queue, log)

        started = time.perf_counter()
        status, text, headers = await bot.command("status")
        ack_seconds = time.perf_counter() - started
        assert status == 200
        assert text == ""
        assert ack_seconds < 3  # Slack's limit; the benchmark measures the real figure

        calls = await slack.wait_for("response_url", timeout=30)
        reply = calls[0].args
        assert reply["response_type"] == "ephemeral"
        assert "Agent PM status" in json.dumps(reply["blocks"])

        # The request ID of the web request is in the worker's log lines for the job (task headers).
        request_id = headers["X-Request-ID"]
        deadline = time.monotonic() + 10
        lines: list[dict[str, object]] = []
        text = ""
        while time.monotonic() < deadline and not lines:
            text = await asyncio.to_thread(log.read_text)
            lines = [json.loads(ln) for ln in text.splitlines() if ln.startswith("{") and request_id in ln]
            await asyncio.sleep(0.2)
        assert any(line.get("event") == "job.done" and line.get("outcome") == "ok" for line in lines), lines
        assert "xoxb-test-token" not in text
