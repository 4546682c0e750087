"""What users see when things break: one short private message with an error ID, never a trace."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.jobqueue import CeleryQueue, make_celery
from bot.notifier import SlackNotifier
from bot.sender import SlackSender, SlackSendError
from core.errors import Retryable
from core.notices import ErrorNotice, ReplyTarget
from tests.fakes.slack import LocalSlack
from tests.integration.harness import bot_settings, running_bot

pytestmark = pytest.mark.integration


class CrashingQueue:
    """A job-queue port whose broker fails in an unexpected way."""

    backend = "crashing"

    def enqueue(self, name: str, payload: dict[str, Any]) -> str:
        raise RuntimeError("boom with xoxb-secret-token-123456 inside")

    def pending(self) -> int | None:
        return None

    def ping(self, timeout: float) -> int:
        return 0


async def test_an_unexpected_error_becomes_a_message_with_an_error_id(
    slack: LocalSlack, signing_secret: str, migrated_pg: str
) -> None:
    settings = bot_settings(slack, signing_secret, migrated_pg)
    async with running_bot(settings, slack, queue=CrashingQueue()) as bot:
        status, text, _ = await bot.command("status")
        assert status == 200
        assert text == ""  # acknowledged first; the failure to enqueue is reported right after
        reply = (await slack.wait_for("response_url"))[0].args
        assert reply["response_type"] == "ephemeral"
        assert "Something went wrong on our side." in reply["text"]
        assert "error ID `E" in reply["text"]
        assert "boom" not in json.dumps(reply)
        assert "Traceback" not in json.dumps(reply)
        async with bot.http.get(f"{bot.base_url}/api/v1/ready") as resp:
            report = await resp.json()
        assert resp.status == 503
        assert report["checks"]["worker"]["detail"] == "RuntimeError: no worker answered"


async def test_a_dead_broker_gets_a_clear_message(
    slack: LocalSlack, signing_secret: str, migrated_pg: str
) -> None:
    settings = bot_settings(slack, signing_secret, migrated_pg, redis_url="redis://127.0.0.1:1/0")
    queue = CeleryQueue(make_celery(settings), settings)
    async with running_bot(settings, slack, queue=queue) as bot:
        status, _, _ = await bot.command("status")
        reply = (await slack.wait_for("response_url", timeout=10))[0].args
    assert status == 200
    assert "Background jobs are unavailable right now" in reply["text"]
    assert queue.pending() is None


def test_notifier_picks_the_surface(slack_sync: tuple[LocalSlack, SlackSender]) -> None:
    slack, sender = slack_sync
    notifier = SlackNotifier(sender)
    notice = ErrorNotice(message="hello")
    notifier.send(ReplyTarget(channel_id="C0TEST", user_id="U0ALICE"), notice)
    notifier.send(ReplyTarget(channel_id="C0TEST", thread_ts="1.000100", private=False), notice)
    notifier.send(ReplyTarget(user_id="U0ALICE", private=False), notice)
    notifier.send(ReplyTarget(response_url=slack.new_response_url(), private=False), notice)
    methods = [c.method for c in slack.calls]
    assert methods == ["chat.postEphemeral", "chat.postMessage", "chat.postMessage", "response_url"]
    assert slack.calls[1].args["thread_ts"] == "1.000100"
    assert slack.calls[2].args["channel"] == "U0ALICE"
    assert slack.calls[3].args["response_type"] == "in_channel"
    with pytest.raises(ValueError, match="names no channel"):
        notifier.send(ReplyTarget(), notice)


def test_sender_maps_slack_failures(slack_sync: tuple[LocalSlack, SlackSender]) -> None:
    slack, sender = slack_sync
    slack.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackSendError, match="channel_not_found"):
        sender.post_message("C0NOPE", {"text": "x"})
    slack.fail_next("chat.postMessage", status=503, times=3)  # the call and its two retries
    with pytest.raises(Retryable):
        sender.post_message("C0TEST", {"text": "x"})
    url = slack.new_response_url()
    slack.fail_next("response_url", status=404)
    with pytest.raises(SlackSendError):
        sender.respond(url, {"text": "x"})
    slack.fail_next("response_url", status=500, times=3)
    with pytest.raises(Retryable):
        sender.respond(url, {"text": "x"})
    slack.fail_next("chat.postMessage", status=429, retry_after=0, times=1)
    assert sender.post_message("C0TEST", {"text": "after a rate limit"})["ok"] is True


def test_sender_maps_connection_errors() -> None:
    sender = SlackSender("xoxb-x", "http://127.0.0.1:1/api/")
    with pytest.raises(Retryable):
        sender.post_message("C0TEST", {"text": "x"})
    with pytest.raises(Retryable):
        sender.respond("http://127.0.0.1:1/respond/x", {"text": "x"})
