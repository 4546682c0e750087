"""Channel knowledge: `/pm index channel on|off`, and the channel `message` events that keep an opted-in
channel's messages current (new, edited, deleted, thread replies). The events are ingestion, not requests:
nobody is answered, so they carry no access check; only opted-in channels are stored."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.commands import parse_pm
from bot.guard import Access
from bot.listeners.registrar import Registrar
from bot.views.channels import indexing_off_message, indexing_on_message
from core.channels import access as channels
from core.errors import Forbidden, InvalidInput
from core.notices import ReplyTarget
from core.ratelimit import Cost
from core.users.service import Identity

USAGE = "index channel on|off"
BACKFILL_JOB = "agentpm.channels.backfill"
EVENT_JOB = "agentpm.channels.event"
INDEXED_TTL_SECONDS = 10.0  # a channel turned on starts receiving events within this long


def register(reg: Registrar) -> None:
    services = reg.services
    db = services.db
    indexed: dict[str, Any] = {"ids": frozenset(), "at": 0.0}

    async def indexed_ids() -> frozenset[str]:
        if time.monotonic() - indexed["at"] > INDEXED_TTL_SECONDS:

            def read() -> frozenset[str]:
                with db.session() as session:
                    return frozenset(channels.indexed_channel_ids(session))

            indexed["ids"], indexed["at"] = await asyncio.to_thread(read), time.monotonic()
        ids_now: frozenset[str] = indexed["ids"]
        return ids_now

    @reg.subcommand(
        "index", usage=USAGE, description="Make this channel searchable (to its members).",
        access=Access(cost=Cost.SEARCH),
    )  # fmt: skip
    async def index(
        ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:  # fmt: skip
        args = [a.lower() for a in parse_pm(command.get("text")).args]
        if len(args) != 2 or args[0] != "channel" or args[1] not in ("on", "off"):
            raise InvalidInput(f"Usage: `/pm {USAGE}`")
        channel = str(command.get("channel_id") or "")
        if not channel.startswith(("C", "G")):
            raise InvalidInput("Use this in the channel to index (not in a direct message).")
        identity: Identity = context["identity"]
        await ack()
        if args[1] == "on":
            services.after_ack.run(turn_on(client, respond, identity, command, channel), respond, "index.on")
        else:
            services.after_ack.run(turn_off(respond, identity, channel), respond, "index.off")

    async def turn_on(
        client: AsyncWebClient,
        respond: AsyncRespond,
        identity: Identity,
        command: dict[str, Any],
        channel: str,
    ) -> None:
        info = (await client.conversations_info(channel=channel)).get("channel") or {}
        is_private = bool(info.get("is_private"))
        refusal = channels.can_enable(identity.role, is_private, bool(info.get("is_member")))
        if refusal:
            raise Forbidden(refusal)
        if not is_private and not info.get("is_member"):
            await client.conversations_join(channel=channel)  # Slack sends message events to members only

        def write() -> None:
            with db.session() as session:
                channels.enable(
                    session, team_id=command.get("team_id"), channel_id=channel, is_private=is_private,
                    name=str(info.get("name") or ""), user_slack_id=identity.slack_user_id or identity.email,
                )  # fmt: skip

        await asyncio.to_thread(write)
        indexed["at"] = 0.0
        target = ReplyTarget(user_id=identity.slack_user_id, channel_id=channel, private=True)
        await asyncio.to_thread(
            services.queue.enqueue, BACKFILL_JOB, {"channel_id": channel, "target": target.model_dump()}
        )
        await respond(response_type="in_channel", **indexing_on_message(identity.slack_user_id, is_private))

    async def turn_off(respond: AsyncRespond, identity: Identity, channel: str) -> None:
        def write() -> int:
            with db.session() as session:
                return channels.disable(session, channel, identity.slack_user_id)

        removed = await asyncio.to_thread(write)
        indexed["at"] = 0.0
        await respond(response_type="in_channel", **indexing_off_message(identity.slack_user_id, removed))

    def of_type(*channel_types: str) -> Any:
        async def matches(event: dict[str, Any]) -> bool:
            return event.get("channel_type") in channel_types

        return matches

    async def ingest(event: dict[str, Any]) -> None:
        if event.get("channel") in await indexed_ids():
            services.after_ack.submit(EVENT_JOB, {"event": event})

    reg.event(ids.EVENT_MESSAGE, None, manifest_name="message.channels", matchers=[of_type("channel")])(
        ingest
    )
    reg.event(ids.EVENT_MESSAGE, None, manifest_name="message.groups", matchers=[of_type("group")])(ingest)
