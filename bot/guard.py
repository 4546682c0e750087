"""Listener middleware that every listener declares at registration: identity, role, then rate limit.

A refused request gets one private message and nothing else: no job, no data read beyond the identity check.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.identity import IdentityService, Refused
from bot.views.errors import error_message
from core.config import Role
from core.db.session import Database
from core.logging import get_logger
from core.ratelimit import Cost, RateLimiter
from core.users import audit
from core.users.identity import REFUSAL_MESSAGES, Refusal, check_role

log = get_logger(__name__)

Next = Callable[[], Awaitable[BoltResponse]]
REFUSAL_AUDIT_EVERY_SECONDS = 60
Middleware = Callable[[AsyncBoltRequest, BoltResponse, Next], Awaitable[BoltResponse]]


@dataclass(frozen=True)
class Access:
    """What a listener needs: the least role, and the rate-limit class it counts against."""

    role: Role = Role.USER
    cost: Cost = Cost.READ


def who(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(team ID, user ID) of whoever sent a command, event or interaction."""
    if "command" in body:
        return body.get("team_id"), body.get("user_id")
    event = body.get("event")
    if isinstance(event, dict):
        return body.get("team_id"), event.get("user")
    user: dict[str, Any] = body["user"] if isinstance(body.get("user"), dict) else {}
    team: dict[str, Any] = body["team"] if isinstance(body.get("team"), dict) else {}
    return team.get("id") or user.get("team_id"), user.get("id")


def _where(body: dict[str, Any]) -> str | None:
    event: dict[str, Any] = body["event"] if isinstance(body.get("event"), dict) else {}
    channel: dict[str, Any] = body["channel"] if isinstance(body.get("channel"), dict) else {}
    return body.get("channel_id") or event.get("channel") or channel.get("id")


class Guard:
    def __init__(self, identities: IdentityService, limiter: RateLimiter, db: Database) -> None:
        self.identities = identities
        self.limiter = limiter
        self.db = db

    def __call__(self, access: Access) -> list[Middleware]:
        async def guard(req: AsyncBoltRequest, resp: BoltResponse, next: Next) -> BoltResponse:
            return await self._check(access, req, next)

        return [guard]

    async def _check(self, access: Access, req: AsyncBoltRequest, next: Next) -> BoltResponse:
        body = req.body
        team_id, user_id = who(body)
        if not user_id:
            return await self._refuse(req, None, Refusal.UNVERIFIED, REFUSAL_MESSAGES[Refusal.UNVERIFIED])
        try:
            identity = await self.identities.identify(team_id, user_id, req.context.client)
        except Refused as refused:
            return await self._refuse(req, user_id, refused.refusal, refused.user_message)
        refusal = check_role(identity.role, access.role)
        if refusal is not None:
            return await self._refuse(req, user_id, refusal, REFUSAL_MESSAGES[refusal], email=identity.email)
        decision = await self.limiter.hit(access.cost, team_id or "-", user_id)
        if not decision.allowed:
            log.info("ratelimit.refused", cost=access.cost.value, scope=decision.scope)
            wait = int(decision.retry_after + 0.999)
            who_ = "You are" if decision.scope == "user" else "This workspace is"
            message = f"{who_} sending requests too fast; please try again in {wait} s."
            return await self._answer(req, user_id, message)
        req.context["identity"] = identity
        return await next()

    async def _refuse(
        self,
        req: AsyncBoltRequest,
        user_id: str | None,
        refusal: Refusal,
        message: str,
        email: str | None = None,
    ) -> BoltResponse:
        log.info("access.refused", refusal=refusal.value)
        await asyncio.to_thread(self._audit, user_id, email, refusal, _action(req.body))
        if refusal is Refusal.BOT:
            return BoltResponse(status=200, body="")  # nobody to tell
        return await self._answer(req, user_id, message)

    def _audit(self, user_id: str | None, email: str | None, refusal: Refusal, action: str) -> None:
        try:
            with self.db.session() as session:
                audit.record(
                    session,
                    action=action,
                    outcome=f"refused:{refusal.value}",
                    actor_slack_id=user_id,
                    actor_email=email,
                )
        except Exception:  # the refusal stands even when it cannot be recorded
            log.exception("audit.write_failed")

    async def _answer(self, req: AsyncBoltRequest, user_id: str | None, message: str) -> BoltResponse:
        payload = error_message(message)
        body = req.body
        if "command" in body:
            return BoltResponse(
                status=200,
                body=json.dumps({"response_type": "ephemeral", **payload}),
                headers={"content-type": ["application/json"]},
            )
        client = req.context.client
        channel = _where(body)
        try:
            if client is not None and user_id and channel:
                await client.chat_postEphemeral(channel=channel, user=user_id, **payload)
            elif client is not None and user_id:
                await client.chat_postMessage(channel=user_id, **payload)
        except Exception:
            log.exception("slack.refusal_message_failed")
        if body.get("type") == "view_submission":
            return BoltResponse(
                status=200,
                body=json.dumps({"response_action": "clear"}),
                headers={"content-type": ["application/json"]},
            )
        return BoltResponse(status=200, body="")


def _action(body: dict[str, Any]) -> str:
    if "command" in body:
        return f"command:{str(body.get('text') or '').split(' ', 1)[0][:32] or 'help'}"
    if isinstance(body.get("event"), dict):
        return f"event:{body['event'].get('type', '?')}"
    return f"{body.get('type', 'request')}"
