"""The App Home: published when someone opens it, and again after anything on it changes."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.guard import Access
from bot.listeners.registrar import Registrar
from bot.views.home import home_view
from bot.wiring import Services
from core.digests import service as digests
from core.home import home_data
from core.logging import get_logger
from core.ratelimit import Cost
from core.users.service import Identity

log = get_logger(__name__)
ACCESS = Access(cost=Cost.READ)


async def publish_home(services: Services, client: AsyncWebClient, identity: Identity) -> None:
    """Publish ``identity``'s Home tab; a failure is logged (the Home is refreshed next time it opens)."""
    if not identity.slack_user_id:
        return
    jira = bool(services.settings.jira_base_url)
    try:
        data = await asyncio.to_thread(home_data, services.db, identity, jira_configured=jira)
        await client.views_publish(user_id=identity.slack_user_id, view=home_view(data))
    except Exception as exc:
        log.warning("home.publish_failed", error=type(exc).__name__)


def register(reg: Registrar) -> None:
    services = reg.services

    @reg.event(ids.EVENT_APP_HOME_OPENED, ACCESS)
    async def opened(event: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            services.after_ack.run(publish_home(services, client, context["identity"]), None, "home.publish")

    @reg.action(ids.ACTION_HOME_PERSONAL_DIGEST, ACCESS)
    async def personal_digest(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        await ack()
        identity: Identity = context["identity"]
        enabled = (body.get("actions") or [{}])[0].get("value") == "on"

        def write() -> None:
            with services.db.session() as session:
                digests.set_personal(
                    session, identity.slack_user_id or identity.email, enabled, None, identity.tz,
                    team_id=identity.team_id,
                )  # fmt: skip

        async def toggle() -> None:
            await asyncio.to_thread(write)
            await publish_home(services, client, identity)

        services.after_ack.run(toggle(), None, "home.personal_digest")
