"""LocalSlack driven by the real slack_sdk async clients, so the fake stays faithful to the wire."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.localslack import LocalSlack

XOXB = "xoxb-test"


@pytest_asyncio.fixture
async def slack() -> AsyncIterator[LocalSlack]:
    server = LocalSlack(tokens=[XOXB])
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def client(slack: LocalSlack, xoxb: str = XOXB) -> AsyncWebClient:
    return AsyncWebClient(token=xoxb, base_url=slack.api_url)


@pytest.mark.asyncio
async def test_auth_test_identifies_the_bot(slack: LocalSlack) -> None:
    resp = await client(slack).auth_test()
    assert resp["user_id"] == slack.bot_user_id
    assert resp["team_id"] == slack.team_id


@pytest.mark.asyncio
async def test_post_message_is_recorded_with_increasing_ts(slack: LocalSlack) -> None:
    web = client(slack)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    first = await web.chat_postMessage(channel="C1", text="hi", blocks=blocks)
    second = await web.chat_postMessage(channel="C1", text="again", thread_ts=first["ts"])
    assert first["channel"] == "C1"
    assert float(second["ts"]) > float(first["ts"])
    assert second["message"]["thread_ts"] == first["ts"]
    calls = await slack.wait_for("chat.postMessage", count=2)
    assert calls[0].args["blocks"] == blocks
    assert calls[0].token == XOXB
    assert not calls[0].failed


@pytest.mark.asyncio
async def test_update_and_delete_need_an_existing_message(slack: LocalSlack) -> None:
    web = client(slack)
    posted = await web.chat_postMessage(channel="C1", text="v1")
    updated = await web.chat_update(channel="C1", ts=posted["ts"], text="v2")
    assert updated["message"]["text"] == "v2"
    await web.chat_delete(channel="C1", ts=posted["ts"])
    with pytest.raises(SlackApiError) as err:
        await web.chat_update(channel="C1", ts=posted["ts"], text="v3")
    assert err.value.response["error"] == "message_not_found"


@pytest.mark.asyncio
async def test_sync_client_in_a_thread_with_form_encoding(slack: LocalSlack) -> None:
    web = WebClient(token=XOXB, base_url=slack.api_url)
    blocks = [{"type": "divider"}]
    resp = await asyncio.to_thread(
        web.api_call, "chat.postMessage", data={"channel": "C1", "text": "t", "blocks": json.dumps(blocks)}
    )
    assert resp["ok"]
    (call,) = await slack.wait_for("chat.postMessage")
    assert call.args["blocks"] == blocks


@pytest.mark.asyncio
async def test_users_info_reads_the_directory(slack: LocalSlack) -> None:
    slack.add_user("U1", "ada@example.com", "Ada", tz="Europe/London", is_restricted=True)
    resp = await client(slack).users_info(user="U1")
    assert resp["user"]["profile"]["email"] == "ada@example.com"
    assert resp["user"]["tz"] == "Europe/London"
    assert resp["user"]["is_restricted"] is True
    with pytest.raises(SlackApiError) as err:
        await client(slack).users_info(user="U404")
    assert err.value.response["error"] == "user_not_found"


@pytest.mark.asyncio
async def test_views_open_then_update_keeps_the_id(slack: LocalSlack) -> None:
    web = client(slack)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "New"}, "blocks": []}
    opened = await web.views_open(trigger_id="t1", view=view)
    updated = await web.views_update(view_id=opened["view"]["id"], view={**view, "blocks": []})
    assert updated["view"]["id"] == opened["view"]["id"]
    home = await web.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    again = await web.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    assert home["view"]["id"] == again["view"]["id"]


@pytest.mark.asyncio
async def test_rate_limit_is_retried_by_slack_sdk(slack: LocalSlack) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
    web = client(slack)
    web.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    resp = await web.chat_postMessage(channel="C1", text="hello")
    assert resp["ok"]
    calls = slack.calls_to("chat.postMessage")
    assert [c.failed for c in calls] == [True, False]


@pytest.mark.asyncio
async def test_injected_errors_surface_as_slack_api_errors(slack: LocalSlack) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found")
    slack.fail_next("users.info", status=503)
    with pytest.raises(SlackApiError) as err:
        await client(slack).chat_postMessage(channel="C404", text="x")
    assert err.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as err:
        await client(slack).users_info(user="U1")
    assert err.value.response.status_code == 503


@pytest.mark.asyncio
async def test_response_url_post_is_recorded(slack: LocalSlack) -> None:
    url = slack.new_response_url()
    resp = await AsyncWebhookClient(url).send(text="done", response_type="ephemeral", replace_original=True)
    assert resp.status_code == 200
    assert resp.body == "ok"
    (call,) = await slack.wait_for("response_url")
    assert call.args["url"] == url
    assert call.args["text"] == "done"
    assert call.args["replace_original"] is True


@pytest.mark.asyncio
async def test_response_url_failure_injection(slack: LocalSlack) -> None:
    slack.fail_next("response_url", status=404, error="expired_url")
    resp = await AsyncWebhookClient(slack.new_response_url()).send(text="late")
    assert resp.status_code == 404
    assert slack.calls_to("response_url")[0].failed


@pytest.mark.asyncio
async def test_invalid_or_missing_token_is_rejected(slack: LocalSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        await client(slack, "xoxb-wrong").auth_test()
    assert err.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(base_url=slack.api_url).auth_test()
    assert err.value.response["error"] == "not_authed"
    assert [c.failed for c in slack.calls_to("auth.test")] == [True, True]


@pytest.mark.asyncio
async def test_unknown_method_and_wait_for_timeout(slack: LocalSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        await client(slack).api_call("nope.never")
    assert err.value.response["error"] == "unknown_method"
    with pytest.raises(TimeoutError):
        await slack.wait_for("chat.postMessage", timeout=0.05)
    slack.clear()
    assert slack.calls == []
