"""Signed requests into the real app over HTTP; assertions on what reaches the fake Slack."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from core.jobs.inprocess import InProcessQueue
from tests.fakes.slack import LocalSlack
from tests.integration.harness import Running, bot_settings, running_bot

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def bot(slack: LocalSlack, signing_secret: str, migrated_pg: str) -> AsyncIterator[Running]:
    settings = bot_settings(slack, signing_secret, migrated_pg)
    async with running_bot(settings, slack, queue=InProcessQueue()) as running:
        yield running


async def test_help_is_answered_in_the_ack(bot: Running) -> None:
    status, text, headers = await bot.command("help")
    assert status == 200
    body = json.loads(text)
    assert body["response_type"] == "ephemeral"
    rendered = json.dumps(body["blocks"])
    assert "/pm status" in rendered
    assert "/pm help" in rendered
    assert headers["X-Request-ID"]
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_bare_pm_shows_help(bot: Running) -> None:
    status, text, _ = await bot.command("")
    assert status == 200
    assert "/pm status" in text


async def test_unknown_subcommand_gets_help_and_a_hint(bot: Running) -> None:
    status, text, _ = await bot.command("stauts now")
    body = json.loads(text)
    assert status == 200
    assert "I don't know `stauts`" in body["blocks"][0]["text"]["text"]
    assert "Did you mean `/pm status`?" in body["blocks"][0]["text"]["text"]


async def test_status_is_acknowledged_then_replied_privately_by_a_job(bot: Running) -> None:
    status, text, _ = await bot.command("status")
    assert status == 200
    assert text == ""
    calls = await bot.slack.wait_for("response_url", timeout=10)
    reply = calls[0].args
    assert reply["response_type"] == "ephemeral"
    assert "Agent PM status" in json.dumps(reply["blocks"])


async def test_invalid_signature_is_refused_and_nothing_runs(bot: Running) -> None:
    body, headers = bot.requests.command("status")
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    status, _, _ = await bot.post(body, headers)
    assert status == 401
    await bot.drain()
    assert bot.slack.calls_to("response_url") == []


async def test_replayed_old_request_is_refused(bot: Running) -> None:
    body, _ = bot.requests.command("status")
    headers = bot.requests.headers(
        body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 600
    )
    status, _, _ = await bot.post(body, headers)
    assert status == 401


async def test_redelivered_command_causes_nothing_more(bot: Running) -> None:
    body, headers = bot.requests.command("status", trigger_id="trigger-1")
    first = await bot.post(body, headers)
    again = await bot.post(body, {**headers, "X-Slack-Retry-Num": "1"})
    assert first[0] == again[0] == 200
    await bot.drain()
    await asyncio.sleep(0.1)
    assert len(bot.slack.calls_to("response_url")) == 1


async def test_redelivered_event_gets_200_and_nothing_else(bot: Running) -> None:
    event = {"type": "app_mention", "user": "U0ALICE", "channel": "C0TEST", "ts": "1.0", "text": "hi"}
    body, headers = bot.requests.event(event, event_id="Ev0DUP")
    await bot.post(body, headers)
    body, headers = bot.requests.event(event, event_id="Ev0DUP", retry_num=1)
    status, text, _ = await bot.post(body, headers)
    assert status == 200
    assert text == ""


async def test_oversized_body_is_refused_before_parsing(bot: Running) -> None:
    status, _, _ = await bot.command("help " + "x" * (1024 * 1024 + 10))
    assert status == 413


async def test_too_long_command_text_gets_a_clear_message(bot: Running) -> None:
    status, text, _ = await bot.command("status " + "x" * 5000)
    body = json.loads(text)
    assert status == 200
    assert "too long" in body["text"]
    assert "Traceback" not in text


async def test_health_ready_and_metrics(bot: Running) -> None:
    await bot.command("help")
    async with bot.http.get(f"{bot.base_url}/api/v1/health") as resp:
        assert resp.status == 200
        assert (await resp.json())["status"] == "ok"
    async with bot.http.get(f"{bot.base_url}/api/v1/ready") as resp:
        report = await resp.json()
        assert resp.status == 200, report
        assert set(report["checks"]) >= {"database", "redis", "worker", "slack"}
        assert report["checks"]["slack"]["ok"] is True
        assert all(isinstance(c["latency_ms"], float) for c in report["checks"].values())
    async with bot.http.get(f"{bot.base_url}/metrics") as resp:
        metrics = await resp.text()
    assert "agentpm_ack_latency_seconds_bucket" in metrics
    assert 'agentpm_slack_requests_total{kind="command",outcome="200"}' in metrics


async def test_ready_is_503_and_names_slack_when_slack_is_down(bot: Running) -> None:
    bot.slack.fail_next("auth.test", status=503, times=10)
    async with bot.http.get(f"{bot.base_url}/api/v1/ready") as resp:
        report = await resp.json()
    assert resp.status == 503
    assert report["status"] == "degraded"
    assert report["checks"]["slack"]["ok"] is False
    assert "xoxb" not in json.dumps(report)


async def test_a_rejected_request_is_logged_without_its_body(
    bot: Running, caplog: pytest.LogCaptureFixture
) -> None:
    body, headers = bot.requests.command("status secret-words-in-the-body")
    headers["X-Slack-Signature"] = "v0=" + "1" * 64
    with caplog.at_level("INFO"):
        status, _, _ = await bot.post(body, headers)
    assert status == 401
    assert any("slack.request_rejected" in r.getMessage() for r in caplog.records)
    assert not any("secret-words-in-the-body" in r.getMessage() for r in caplog.records)


async def test_over_the_rate_limit_nothing_is_enqueued(
    slack: LocalSlack, signing_secret: str, migrated_pg: str
) -> None:
    settings = bot_settings(
        slack, signing_secret, migrated_pg, agentpm_rate_limits="read=2/minute:100/minute"
    )
    async with running_bot(settings, slack, queue=InProcessQueue()) as running:
        for _ in range(2):
            status, text, _ = await running.command("status")
            assert text == ""
        status, text, _ = await running.command("status")
        await running.drain()
        assert status == 200
        assert "You are sending requests too fast; please try again in" in json.loads(text)["text"]
        assert len(slack.calls_to("response_url")) == 2


async def test_with_redis_down_the_bot_still_answers(
    slack: LocalSlack, signing_secret: str, migrated_pg: str
) -> None:
    """Dedupe, the identity cache and rate limits fall back to memory; jobs here run in-process."""
    settings = bot_settings(
        slack,
        signing_secret,
        migrated_pg,
        redis_url="redis://127.0.0.1:1/0",
        agentpm_rate_limits="read=3/minute",
    )
    async with running_bot(settings, slack, queue=InProcessQueue()) as running:
        status, text, _ = await running.command("help")
        assert status == 200
        assert "/pm status" in text
        body, headers = running.requests.command("status", trigger_id="same-trigger")
        assert (await running.post(body, headers))[0] == 200
        assert (await running.post(body, headers))[1] == ""  # deduped in memory
        await running.drain()
        assert len(slack.calls_to("response_url")) == 1
        await running.command("status")
        _, text, _ = await running.command("status")
        assert "too fast" in text  # still limited, in memory
