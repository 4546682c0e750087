"""TODOs: `/pm todo add|list|done|snooze`, the "Add as TODO" message shortcut, and the Done / Snooze / Edit
buttons wherever a TODO is shown (a message or the App Home). Changes refresh the Home of those involved."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.commands import parse_pm
from bot.errors import user_facing
from bot.guard import Access
from bot.listeners.home import publish_home
from bot.listeners.registrar import Registrar
from bot.views.errors import error_message
from bot.views.todo import TodoOrigin, TodoRef, form_values, todo_form, todo_list_message, todo_message
from bot.wiring import Services
from core.errors import InvalidInput
from core.jira.markup import slack_to_text
from core.logging import get_logger
from core.ratelimit import Cost
from core.todos import flows
from core.todos.flows import TodoItem
from core.users.service import Identity, identity_by_slack_id

log = get_logger(__name__)

USAGE = (
    "todo add <text> [due:fri] [@owner] · todo list [mine|all|@user] · todo done <id> · "
    "todo snooze <id> [1d|1w]"
)
ACCESS = Access(cost=Cost.READ)


def register(reg: Registrar) -> None:
    services = reg.services
    db = services.db

    async def refresh(client: AsyncWebClient, identity: Identity, item: TodoItem) -> None:
        """The Home of the person acting and of the TODO's owner show the change."""
        await publish_home(services, client, identity)
        if item.owner != identity.slack_user_id:
            owner = await asyncio.to_thread(_identity_of, services, item.owner)
            if owner is not None:
                await publish_home(services, client, owner)

    async def tell_owner(client: AsyncWebClient, identity: Identity, item: TodoItem) -> None:
        if item.owner != identity.slack_user_id and item.owner.startswith(("U", "W")):
            message = todo_message(item, f"<@{identity.slack_user_id}> gave you a TODO")
            await client.chat_postMessage(channel=item.owner, **message)

    @reg.subcommand("todo", usage=USAGE, description="Your TODOs: add, list, done, snooze.", access=ACCESS)
    async def todo(
        ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:  # fmt: skip
        identity: Identity = context["identity"]
        parsed = parse_pm(command.get("text"))
        action = parsed.args[0].lower() if parsed.args else "list"
        rest = parsed.rest.split(maxsplit=1)[1] if len(parsed.rest.split(maxsplit=1)) > 1 else ""
        if action not in ("add", "list", "done", "snooze"):
            raise InvalidInput(f"Usage: `/pm {USAGE}`")
        if action in ("done", "snooze") and not rest:
            raise InvalidInput(f"Which TODO? `/pm todo {action} 12` (`/pm todo list` shows the numbers).")
        await ack()

        async def run() -> None:
            if action == "add":
                item = await asyncio.to_thread(
                    flows.add, db, identity, rest, channel_id=command.get("channel_id")
                )
                await respond(response_type="ephemeral", **todo_message(item, "Added"))
                await tell_owner(client, identity, item)
                await refresh(client, identity, item)
            elif action == "list":
                label, items = await asyncio.to_thread(flows.listing, db, identity, rest)
                await respond(response_type="ephemeral", **todo_list_message(label, items))
            else:
                words = rest.split()
                if action == "done":
                    item = await asyncio.to_thread(flows.complete, db, identity, words[0])
                    headline = "Done"
                else:
                    duration = words[1] if len(words) > 1 else None
                    item = await asyncio.to_thread(flows.snooze, db, identity, words[0], duration)
                    headline = "Snoozed"
                await respond(response_type="ephemeral", **todo_message(item, headline))
                await refresh(client, identity, item)

        services.after_ack.run(run(), respond, f"todo.{action}")

    # -- "Add as TODO" on a message --------------------------------------------------------------

    @reg.shortcut(ids.SHORTCUT_ADD_TODO, ACCESS)
    async def from_message(
        ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        message = shortcut.get("message") or {}
        await ack()
        origin = TodoOrigin(
            channel_id=(shortcut.get("channel") or {}).get("id"), message_ts=message.get("ts")
        )
        text = slack_to_text(str(message.get("text") or "")).strip()
        view = todo_form(
            ids.VIEW_ADD_TODO, "Add as TODO", "Add", origin.model_dump_json(exclude_none=True), text=text,
            owner=context["identity"].slack_user_id,
        )  # fmt: skip
        services.after_ack.run(
            client.views_open(trigger_id=shortcut["trigger_id"], view=view), None, "todo.form"
        )

    @reg.view(ids.VIEW_ADD_TODO, ACCESS)
    async def add_submitted(
        ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        identity: Identity = context["identity"]
        text, owner, due = form_values(view)
        if not text:
            await ack(response_action="errors", errors={ids.BLOCK_TODO_TEXT: "What is the TODO?"})
            return
        try:
            origin = TodoOrigin.model_validate_json(view.get("private_metadata") or "{}")
        except ValidationError:
            origin = TodoOrigin()
        await ack()

        async def add() -> None:
            permalink = None
            if origin.channel_id and origin.message_ts:
                try:
                    link = await client.chat_getPermalink(
                        channel=origin.channel_id, message_ts=origin.message_ts
                    )
                    permalink = str(link.get("permalink") or "") or None
                except Exception as exc:  # the TODO matters more than the link back
                    log.info("todo.permalink_failed", error=type(exc).__name__)
            item = await asyncio.to_thread(
                flows.add, db, identity, text, channel_id=origin.channel_id, permalink=permalink,
                owner=owner, due=due, from_form=True,
            )  # fmt: skip
            await notify(client, identity, origin.channel_id, todo_message(item, "Added"))
            await tell_owner(client, identity, item)
            await refresh(client, identity, item)

        services.after_ack.run(_reported(add(), client, identity), None, "todo.add")

    # -- buttons ---------------------------------------------------------------------------------

    def ref_of(body: dict[str, Any]) -> TodoRef:
        try:
            return TodoRef.model_validate_json(body["actions"][0]["value"])
        except (KeyError, IndexError, ValidationError) as exc:
            raise InvalidInput("That button is out of date.") from exc

    async def after_button(
        body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, identity: Identity,
        item: TodoItem, headline: str,
    ) -> None:  # fmt: skip
        """A message shows the TODO's new state in place; on the Home the tab is republished."""
        if (body.get("container") or {}).get("type") == "message" and body.get("response_url"):
            await respond(replace_original=True, **todo_message(item, headline))
        await refresh(client, identity, item)

    @reg.action(ids.ACTION_TODO_DONE, ACCESS)
    async def done(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:  # fmt: skip
        ref = ref_of(body)
        await ack()
        identity: Identity = context["identity"]

        async def run() -> None:
            item = await asyncio.to_thread(flows.complete, db, identity, ref.id)
            await after_button(body, respond, client, identity, item, "Done")

        services.after_ack.run(_reported(run(), client, identity, body, respond), None, "todo.done")

    @reg.action(ids.ACTION_TODO_SNOOZE, ACCESS)
    async def snooze(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:  # fmt: skip
        ref = ref_of(body)
        await ack()
        identity: Identity = context["identity"]

        async def run() -> None:
            item = await asyncio.to_thread(flows.snooze, db, identity, ref.id, "1d")
            await after_button(body, respond, client, identity, item, "Snoozed for a day")

        services.after_ack.run(_reported(run(), client, identity, body, respond), None, "todo.snooze")

    @reg.action(ids.ACTION_TODO_EDIT, ACCESS)
    async def edit(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:  # fmt: skip
        ref = ref_of(body)
        await ack()
        identity: Identity = context["identity"]

        async def run() -> None:
            item = await asyncio.to_thread(flows.get, db, identity, ref.id)
            view = todo_form(ids.VIEW_EDIT_TODO, f"Edit TODO #{item.id}"[:24], "Save", ref.model_dump_json(),
                             text=item.text, owner=item.owner, due=item.due)  # fmt: skip
            await client.views_open(trigger_id=body["trigger_id"], view=view)

        services.after_ack.run(_reported(run(), client, identity, body, respond), None, "todo.edit")

    @reg.view(ids.VIEW_EDIT_TODO, ACCESS)
    async def edit_submitted(
        ack: AsyncAck, view: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        identity: Identity = context["identity"]
        text, owner, due = form_values(view)
        if not text:
            await ack(response_action="errors", errors={ids.BLOCK_TODO_TEXT: "A TODO needs some text."})
            return
        try:
            ref = TodoRef.model_validate_json(view.get("private_metadata") or "")
        except ValidationError as exc:
            raise InvalidInput("That form is out of date.") from exc
        try:
            item = await asyncio.to_thread(flows.edit, db, identity, ref.id, text=text, owner=owner, due=due)
        except InvalidInput as exc:  # e.g. not theirs to change: said in the form
            await ack(response_action="errors", errors={ids.BLOCK_TODO_TEXT: exc.user_message[:150]})
            return
        await ack()
        services.after_ack.run(refresh(client, identity, item), None, "todo.edited")


def _identity_of(services: Services, slack_user_id: str) -> Identity | None:
    with services.db.session() as session:
        return identity_by_slack_id(session, slack_user_id)


async def notify(
    client: AsyncWebClient, identity: Identity, channel_id: str | None, message: dict[str, Any]
) -> None:
    """Privately in the channel where it happened, else by DM."""
    if channel_id and identity.slack_user_id:
        try:
            await client.chat_postEphemeral(channel=channel_id, user=identity.slack_user_id, **message)
            return
        except Exception as exc:  # not in the channel: a DM instead
            log.info("todo.ephemeral_failed", error=type(exc).__name__)
    if identity.slack_user_id:
        await client.chat_postMessage(channel=identity.slack_user_id, **message)


async def _reported(
    work: Any, client: AsyncWebClient, identity: Identity, body: dict[str, Any] | None = None,
    respond: AsyncRespond | None = None,
) -> None:  # fmt: skip
    """Work after the ack whose failure must reach the person: through the button's response_url when it has
    one, else privately in the channel or by DM (forms and the Home have no response_url)."""
    try:
        await work
    except Exception as exc:
        message, error_id = user_facing(exc)
        if error_id:
            log.error("todo.failed", error_id=error_id, exc_info=exc)
        reply = error_message(message, error_id)
        if respond is not None and (body or {}).get("response_url"):
            await respond(response_type="ephemeral", replace_original=False, **reply)
            return
        channel = ((body or {}).get("channel") or {}).get("id")
        await notify(client, identity, channel, reply)
