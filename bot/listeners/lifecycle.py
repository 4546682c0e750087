"""`app_uninstalled` and `tokens_revoked`: forget the workspace's tokens (OAuth mode), and record it."""

from __future__ import annotations

import asyncio
from typing import Any

from bot import ids
from bot.listeners.registrar import Registrar
from core.logging import get_logger
from core.users import audit

log = get_logger(__name__)


def register(reg: Registrar) -> None:
    services = reg.services
    store = reg.installations

    def record(action: str, team_id: str | None, detail: dict[str, Any]) -> None:
        with services.db.session() as session:
            audit.record(session, action=action, outcome="ok", target=team_id, detail=detail)

    @reg.event(ids.EVENT_APP_UNINSTALLED, access=None)  # sent by Slack itself, not by a person
    async def uninstalled(body: dict[str, Any], context: dict[str, Any]) -> None:
        team_id, enterprise_id = body.get("team_id"), body.get("enterprise_id")
        if store is not None:
            await store.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
        else:
            log.error("slack.app_uninstalled", hint="the bot token no longer works; reinstall the app")
        await asyncio.to_thread(record, "app.uninstalled", team_id, {"tokens_deleted": store is not None})

    @reg.event(ids.EVENT_TOKENS_REVOKED, access=None)
    async def revoked(body: dict[str, Any], event: dict[str, Any]) -> None:
        team_id, enterprise_id = body.get("team_id"), body.get("enterprise_id")
        tokens = event.get("tokens") or {}
        users = list(tokens.get("oauth") or [])
        bots = list(tokens.get("bot") or [])
        if store is not None:
            for user_id in users:
                await store.async_delete_installation(
                    enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
                )
            if bots:
                await store.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        else:
            log.error("slack.tokens_revoked", bots=len(bots), users=len(users))
        await asyncio.to_thread(
            record, "app.tokens_revoked", team_id, {"bots": len(bots), "users": len(users)}
        )
