"""Jira links unfurled (`link_shared`) with key, summary, status, assignee, priority and last update, and the
buttons under them: Assign to me, Move to… (the issue's transitions) and Comment. Each action runs as the
person who clicks (or the service account on their behalf), reports in the thread and refreshes the unfurl.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.errors import user_facing
from bot.guard import Access
from bot.listeners.registrar import Registrar
from bot.views.format import clip, escape
from bot.views.unfurl import action_result, comment_modal, issue_card, issue_of_block
from core.errors import AgentPMError, InvalidInput
from core.jira import actions
from core.jira.acting import Actor
from core.logging import get_logger
from core.notices import IssueRef
from core.ratelimit import Cost
from core.users.service import Identity

log = get_logger(__name__)

ACCESS = Access(cost=Cost.SEARCH)
MAX_LINKS = 5
_BROWSE = re.compile(r"/browse/([A-Z][A-Z0-9_]{0,254}-[0-9]{1,12})(?:[/?#]|$)")
_SELECTED = re.compile(r"[?&]selectedIssue=([A-Z][A-Z0-9_]{0,254}-[0-9]{1,12})")


class CommentOrigin(BaseModel):
    key: str
    url: str
    channel_id: str | None = None
    message_ts: str | None = None


def issue_key(url: str, jira_host: str) -> str | None:
    """The issue a Jira URL points at (``/browse/KEY-1`` or a board's ``selectedIssue=KEY-1``)."""
    parts = urlsplit(url)
    if not jira_host or parts.hostname != jira_host:
        return None
    match = _BROWSE.search(parts.path + ("?" + parts.query if parts.query else "")) or _SELECTED.search(
        "?" + parts.query
    )
    return match.group(1) if match else None


def register(reg: Registrar) -> None:
    services = reg.services
    settings = services.settings
    jira_host = urlsplit(settings.jira_base_url or "").hostname or ""

    async def unfurl(client: AsyncWebClient, event: dict[str, Any], links: list[tuple[str, str]]) -> None:
        unfurls: dict[str, Any] = {}
        for url, key in links:
            try:
                card = await actions.card(services.db, settings, key)
            except AgentPMError as exc:  # not found or not visible to the service account: no preview
                log.info("unfurl.skipped", key=key, reason=type(exc).__name__)
                continue
            if card is not None:
                unfurls[url] = issue_card(card)
        if not unfurls:
            return
        if event.get("source") == "composer" and event.get("unfurl_id"):
            await client.chat_unfurl(unfurl_id=event["unfurl_id"], source="composer", unfurls=unfurls)
        else:
            await client.chat_unfurl(channel=event["channel"], ts=event["message_ts"], unfurls=unfurls)

    @reg.event(ids.EVENT_LINK_SHARED, ACCESS)
    async def link_shared(event: dict[str, Any], client: AsyncWebClient) -> None:
        found = [
            (str(link.get("url")), issue_key(str(link.get("url")), jira_host))
            for link in event.get("links") or []
        ]
        links = [(url, key) for url, key in found if key][:MAX_LINKS]
        if links:
            services.after_ack.run(unfurl(client, event, links), None, "unfurl")

    # -- actions ---------------------------------------------------------------------------------

    def where(body: dict[str, Any]) -> tuple[str | None, str | None]:
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        return channel, container.get("message_ts")

    async def run_action(
        client: AsyncWebClient, body: dict[str, Any], identity: Identity, ref: IssueRef,
        act: Callable[[Actor], Awaitable[str]],
    ) -> None:  # fmt: skip
        """Do it as the person; report in the thread; refresh the unfurl. Failures go to them privately."""
        channel, ts = where(body)
        user_id = identity.slack_user_id or str(body["user"]["id"])
        try:
            actor = await asyncio.to_thread(actions.actor, services.db, services.vault, settings, identity)
            done = await act(actor)
        except Exception as exc:
            message, error_id = user_facing(exc)
            text = f"Could not do that to {ref.key}: {message}" + (
                f" (error ID {error_id})" if error_id else ""
            )
            if error_id:
                log.error("unfurl.action_failed", key=ref.key, error_id=error_id, exc_info=exc)
            if channel:
                await client.chat_postEphemeral(channel=channel, user=user_id, text=text)
            else:
                await client.chat_postMessage(channel=user_id, text=text)
            return
        if channel and ts:
            await client.chat_postMessage(channel=channel, thread_ts=ts, **action_result(user_id, done))
            card = await actions.card(services.db, settings, ref.key)
            if card is not None:
                await client.chat_unfurl(channel=channel, ts=ts, unfurls={ref.url: issue_card(card)})

    def ref_of(body: dict[str, Any]) -> IssueRef:
        """The issue, and the link as it was shared (what a refreshed unfurl must be keyed by)."""
        try:
            ref = IssueRef.model_validate_json(body["actions"][0]["value"])
        except (KeyError, IndexError, ValidationError) as exc:
            raise InvalidInput("That button is out of date.") from exc
        shared = str((body.get("container") or {}).get("app_unfurl_url") or "")
        return ref.model_copy(update={"url": shared}) if 0 < len(shared) <= 1000 else ref

    @reg.action(ids.ACTION_ISSUE_ASSIGN_ME, ACCESS)
    async def assign_me(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        ref = ref_of(body)
        await ack()
        identity: Identity = context["identity"]

        async def act(actor: Actor) -> str:
            await actions.assign_to_self(services.db, settings, actor, identity, ref.key)
            return f"assigned <{ref.url}|{ref.key}> to themself."

        services.after_ack.run(run_action(client, body, identity, ref, act), None, "unfurl.assign")

    @reg.action(ids.ACTION_ISSUE_TRANSITION, ACCESS)
    async def transition(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        action = (body.get("actions") or [{}])[0]
        key = issue_of_block(str(action.get("block_id") or ""))
        chosen = action.get("selected_option") or {}
        if not key or not chosen.get("value"):
            raise InvalidInput("That menu is out of date.")
        url = str((body.get("container") or {}).get("app_unfurl_url") or "") or (
            (settings.jira_base_url or "").rstrip("/") + "/browse/" + key
        )
        ref = IssueRef(key=key, url=url)
        name = str((chosen.get("text") or {}).get("text") or "the next status")
        await ack()
        identity: Identity = context["identity"]

        async def act(actor: Actor) -> str:
            issue = await actions.move(services.db, settings, actor, identity, key, str(chosen["value"]))
            return f"moved <{ref.url}|{key}> ({escape(name)}); it is now *{escape(issue.status or '?')}*."

        services.after_ack.run(run_action(client, body, identity, ref, act), None, "unfurl.transition")

    @reg.action(ids.ACTION_ISSUE_COMMENT, ACCESS)
    async def comment(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        ref = ref_of(body)
        await ack()
        channel, ts = where(body)
        origin = CommentOrigin(key=ref.key, url=ref.url, channel_id=channel, message_ts=ts)
        view = comment_modal(ref, origin.model_dump_json())
        services.after_ack.run(
            client.views_open(trigger_id=body["trigger_id"], view=view), None, "unfurl.comment"
        )

    @reg.view(ids.VIEW_ISSUE_COMMENT, ACCESS)
    async def comment_submitted(
        ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        values = view.get("state", {}).get("values", {})
        text = str(values.get(ids.BLOCK_COMMENT, {}).get(ids.ACTION_VALUE, {}).get("value") or "").strip()
        if not text:
            await ack(response_action="errors", errors={ids.BLOCK_COMMENT: "Write a comment first."})
            return
        try:
            origin = CommentOrigin.model_validate_json(view.get("private_metadata") or "")
        except ValidationError as exc:
            raise InvalidInput("That form is out of date.") from exc
        await ack()
        identity: Identity = context["identity"]
        ref = IssueRef(key=origin.key, url=origin.url)
        body = {"container": {"channel_id": origin.channel_id, "message_ts": origin.message_ts},
                "user": {"id": identity.slack_user_id}}  # fmt: skip

        async def act(actor: Actor) -> str:
            await actions.comment(services.db, settings, actor, identity, ref.key, text)
            return f"commented on <{ref.url}|{ref.key}>: “{escape(clip(text, 200))}”"

        services.after_ack.run(run_action(client, body, identity, ref, act), None, "unfurl.comment")
