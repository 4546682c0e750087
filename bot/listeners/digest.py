"""`/pm digest subscribe [HH:MM] [project:KEY …] [days] | list | unsubscribe | now | personal on|off`."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import parse_pm
from bot.guard import Access
from bot.listeners.home import publish_home
from bot.listeners.registrar import Registrar
from bot.views.subscriptions import (
    digest_requested_message,
    personal_message,
    subscribed_message,
    subscriptions_message,
    unsubscribed_message,
)
from core.digests import service as digests
from core.digests.parse import parse_subscribe, parse_time
from core.errors import InvalidInput
from core.home import SubscriptionLine
from core.notices import ReplyTarget
from core.ratelimit import Cost
from core.users.service import Identity

USAGE = (
    "digest subscribe [HH:MM] [project:KEY …] [mon-fri] · digest list · digest unsubscribe · digest now · "
    "digest personal on|off [HH:MM]"
)
NOW_JOB = "agentpm.digest.now"
ACCESS = Access(cost=Cost.READ)


def line(subscription: Any) -> SubscriptionLine:
    return SubscriptionLine(
        channel_id=subscription.channel_id, local_time=subscription.local_time, tz=subscription.tz,
        weekdays=list(subscription.weekdays or []), projects=list(subscription.projects or []),
    )  # fmt: skip


def register(reg: Registrar) -> None:
    services = reg.services
    db = services.db

    @reg.subcommand(
        "digest", usage=USAGE, description="A daily digest in this channel, or by DM.", access=ACCESS
    )
    async def digest(
        ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:  # fmt: skip
        identity: Identity = context["identity"]
        args = parse_pm(command.get("text")).args
        action = args[0].lower() if args else ""
        channel = command.get("channel_id")
        team = command.get("team_id")
        me = identity.slack_user_id or identity.email
        if action == "subscribe":
            if not channel:
                raise InvalidInput("Subscribe from the channel that should get the digest.")
            request = parse_subscribe(args[1:])
            await ack()

            def write() -> SubscriptionLine:
                with db.session() as session:
                    return line(digests.subscribe(
                        session, team_id=team, channel_id=channel, user_id=me, tz=identity.tz, request=request
                    ))  # fmt: skip

            async def run() -> None:
                created = await asyncio.to_thread(write)
                await respond(
                    response_type="in_channel", **subscribed_message(identity.slack_user_id, created)
                )
                await publish_home(services, client, identity)

            services.after_ack.run(run(), respond, "digest.subscribe")
        elif action == "unsubscribe":
            await ack()

            def stop() -> bool:
                with db.session() as session:
                    return digests.unsubscribe(session, channel or "")

            async def run_stop() -> None:
                removed = await asyncio.to_thread(stop)
                kind = "in_channel" if removed else "ephemeral"
                await respond(response_type=kind, **unsubscribed_message(identity.slack_user_id, removed))
                await publish_home(services, client, identity)

            services.after_ack.run(run_stop(), respond, "digest.unsubscribe")
        elif action == "list":
            await ack()

            def read() -> list[SubscriptionLine]:
                with db.session() as session:
                    return [line(s) for s in digests.subscriptions(session, team)]

            async def run_list() -> None:
                await respond(
                    response_type="ephemeral", **subscriptions_message(await asyncio.to_thread(read))
                )

            services.after_ack.run(run_list(), respond, "digest.list")
        elif action == "now":
            if not channel:
                raise InvalidInput("Ask for the digest in the channel that should get it.")
            await ack(response_type="ephemeral", **digest_requested_message())
            target = ReplyTarget(
                channel_id=channel, user_id=command.get("user_id"), response_url=command.get("response_url")
            )
            payload = {"channel": channel, "requester": command.get("user_id"), "team_id": team,
                       "tz": identity.tz, "target": target.model_dump()}  # fmt: skip
            services.after_ack.submit(NOW_JOB, payload, respond)
        elif action == "personal":
            switch = args[1].lower() if len(args) > 1 else ""
            if switch not in ("on", "off"):
                raise InvalidInput("`/pm digest personal on [HH:MM]` or `/pm digest personal off`.")
            time = parse_time(args[2]) if len(args) > 2 else None
            await ack()

            def personal() -> tuple[bool, str, str]:
                with db.session() as session:
                    row = digests.set_personal(session, me, switch == "on", time, identity.tz, team_id=team)
                    return row.enabled, row.local_time, row.tz

            async def run_personal() -> None:
                enabled, at, tz = await asyncio.to_thread(personal)
                await respond(response_type="ephemeral", **personal_message(enabled, at, tz))
                await publish_home(services, client, identity)

            services.after_ack.run(run_personal(), respond, "digest.personal")
        else:
            raise InvalidInput(f"Usage: `/pm {USAGE}`")
