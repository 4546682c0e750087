"""`/pm connect jira` (a modal, verified with Jira `/myself`, stored encrypted) and `/pm disconnect jira`."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.commands import parse_pm
from bot.guard import Access
from bot.listeners.registrar import Registrar
from bot.views.connect import connect_jira_modal, connected_message, disconnected_message
from core import credentials
from core.errors import AgentPMError, InvalidInput
from core.jira.auth import verify
from core.users.service import Identity

MAX_TOKEN_LENGTH = 1000


def _system(args: list[str]) -> str:
    system = args[0].lower() if args else ""
    if system != "jira":
        raise InvalidInput("Only Jira can be connected: `/pm connect jira`.")
    return system


def submitted(view: dict[str, Any], block_id: str) -> str:
    values = view.get("state", {}).get("values", {})
    value = values.get(block_id, {}).get(ids.ACTION_VALUE, {}).get("value")
    return str(value).strip() if value else ""


def register(reg: Registrar) -> None:
    services = reg.services
    settings = services.settings

    @reg.subcommand(
        "connect", usage="connect jira", description="Let Agent PM act in Jira as you.", access=Access()
    )
    async def connect(
        ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        _system(parse_pm(command.get("text")).args)
        if not settings.jira_base_url:
            raise InvalidInput("Jira is not configured for this workspace (JIRA_BASE_URL is not set).")
        await ack()
        view = connect_jira_modal(settings.jira_base_url)
        services.after_ack.run(
            client.views_open(trigger_id=command["trigger_id"], view=view), respond, "connect.open_modal"
        )

    @reg.subcommand(
        "disconnect", usage="disconnect jira", description="Delete your stored Jira token.", access=Access()
    )
    async def disconnect(
        ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], context: dict[str, Any]
    ) -> None:
        kind = _system(parse_pm(command.get("text")).args)
        owner: Identity = context["identity"]
        await ack()

        async def remove() -> None:
            def write() -> bool:
                with services.db.session() as session:
                    return credentials.delete(session, owner, kind)

            await respond(response_type="ephemeral", **disconnected_message(await asyncio.to_thread(write)))

        services.after_ack.run(remove(), respond, "disconnect")

    @reg.view(ids.VIEW_CONNECT_JIRA, Access())
    async def save(
        ack: AsyncAck, view: dict[str, Any], context: dict[str, Any], client: AsyncWebClient
    ) -> None:
        owner: Identity = context["identity"]
        email = submitted(view, ids.BLOCK_JIRA_EMAIL) or None
        token = submitted(view, ids.BLOCK_JIRA_TOKEN)
        if not token or len(token) > MAX_TOKEN_LENGTH or any(ch.isspace() for ch in token):
            await ack(response_action="errors", errors={ids.BLOCK_JIRA_TOKEN: "Paste the token itself."})
            return
        try:
            account = await verify(settings.jira_base_url or "", email, token)
        except AgentPMError as exc:
            await ack(response_action="errors", errors={ids.BLOCK_JIRA_TOKEN: exc.user_message})
            return
        credential = credentials.JiraCredential(email=email, token=token, account_id=account.account_id)

        def write() -> None:
            with services.db.session() as session:
                credentials.save_jira(session, services.vault, owner, credential, account.display_name)

        await asyncio.to_thread(write)
        await ack()
        if owner.slack_user_id:
            services.after_ack.run(
                client.chat_postMessage(
                    channel=owner.slack_user_id, **connected_message(account.display_name)
                ),
                None,
                "connect.confirm",
            )
