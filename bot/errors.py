"""The single error handler: a short private message with an error ID; the trace only in the log."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.views.errors import error_message
from core.errors import AgentPMError, new_error_id
from core.logging import get_logger
from core.metrics import ERRORS

log = get_logger(__name__)


def user_facing(error: BaseException) -> tuple[str, str | None]:
    """The message and error ID a user sees for ``error``; domain errors carry their own wording."""
    if isinstance(error, AgentPMError):
        return error.user_message, None
    return "Something went wrong on our side.", new_error_id()


async def handle_error(
    error: Exception,
    body: dict[str, Any],
    response: BoltResponse | None,
    respond: AsyncRespond | None,
    client: AsyncWebClient,
    context: dict[str, Any],
) -> None:
    message, error_id = user_facing(error)
    kind = context.get("agentpm_kind", "other")
    ERRORS.labels(where=kind).inc()
    if error_id:
        log.error("slack.listener_failed", error_id=error_id, exc_info=error)
    else:
        log.info("slack.request_refused", reason=message)
    payload = error_message(message, error_id)
    acked = context.get("ack") is not None and getattr(context["ack"], "response", None) is not None
    if response is not None:
        response.status = 200  # a non-2xx makes Slack retry or show a generic failure; we answer ourselves
    if kind == "command" and response is not None and not _already_answered(context):
        response.body = json.dumps({"response_type": "ephemeral", **payload})
        response.headers["content-type"] = ["application/json"]
        return
    try:
        if respond is not None and body.get("response_url"):
            await respond(response_type="ephemeral", replace_original=False, **payload)
            return
        user, channel = _user_and_channel(body)
        if user and channel:
            await client.chat_postEphemeral(channel=channel, user=user, **payload)
        elif user:
            await client.chat_postMessage(channel=user, **payload)
    except Exception:
        log.exception("slack.error_message_failed", error_id=error_id, acked=acked)


def _already_answered(context: dict[str, Any]) -> bool:
    ack = context.get("ack")
    return (
        ack is not None
        and getattr(ack, "response", None) is not None
        and ack.response.status == 200
        and bool(ack.response.body)
    )


def _user_and_channel(body: dict[str, Any]) -> tuple[str | None, str | None]:
    event = body.get("event") or {}
    user = body.get("user_id") or (body.get("user") or {}).get("id") or event.get("user")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id") or event.get("channel")
    return user, channel
