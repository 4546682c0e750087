"""Global Bolt middleware: request ID and log context, then dedupe of Slack's redeliveries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from core.context import bind_request_id, new_request_id
from core.logging import get_logger
from core.ports import Deduper

DEDUPE_TTL_SECONDS = 3600  # Slack retries within minutes; an hour is plenty and keeps Redis small

log = get_logger(__name__)

Next = Callable[[], Awaitable[BoltResponse]]


def request_kind(body: dict[str, Any]) -> str:
    if "command" in body:
        return "command"
    if body.get("type") == "event_callback":
        return "event"
    return str(body.get("type") or "other")


def dedupe_key(body: dict[str, Any]) -> str | None:
    """``event_id`` for events; ``trigger_id`` (unique per invocation) for commands and interactions."""
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    return None


async def bind_request(req: AsyncBoltRequest, resp: BoltResponse, next: Next) -> BoltResponse:
    """A request ID per Slack request, in the Bolt context and in every log line while it is handled."""
    body = req.body
    kind = request_kind(body)
    rid = new_request_id()
    req.context["request_id"] = rid
    req.context["agentpm_kind"] = kind
    user = body.get("user_id") or (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user")
    bind_request_id(rid, kind=kind, team=req.context.team_id, user=user)
    return await next()


def make_dedupe(
    deduper: Deduper,
) -> Callable[[AsyncBoltRequest, BoltResponse, Next], Awaitable[BoltResponse]]:
    async def dedupe(req: AsyncBoltRequest, resp: BoltResponse, next: Next) -> BoltResponse:
        key = dedupe_key(req.body)
        if key is not None and not await deduper.first_time(key, DEDUPE_TTL_SECONDS):
            retry = req.headers.get("x-slack-retry-num", [None])[0]
            log.info("slack.redelivery_ignored", key=key, retry_num=retry)
            req.context["agentpm_duplicate"] = True
            return BoltResponse(status=200, body="")
        return await next()

    return dedupe
