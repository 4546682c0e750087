"""`/pm status`: acknowledge at once, count in a job, reply privately through the response_url."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot.commands import parse_pm
from bot.guard import Access
from bot.listeners.registrar import Registrar
from core.notices import ReplyTarget

JOB = "agentpm.status.report"


def register(reg: Registrar) -> None:
    services = reg.services

    @reg.subcommand(
        "status",
        usage="status",
        description="What is synced and indexed, and how fresh it is.",
        access=Access(),
    )
    async def status(ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any]) -> None:
        parse_pm(command.get("text"))  # refuses text Slack would never send
        target = ReplyTarget(
            channel_id=command.get("channel_id"),
            user_id=command.get("user_id"),
            response_url=command.get("response_url"),
        )
        await ack()
        services.after_ack.submit(JOB, {"target": target.model_dump()}, respond)
