"""Meeting notes: `/pm meeting` (a modal to paste notes), notes files shared with the bot in a DM, and the
Add TODO / Create Jira issue / Dismiss buttons on each action item found in them.

Notes pasted in a channel are posted there as a short message whose thread gets the action items (found by
the job ``agentpm.meetings.process``); pasted in a DM, or shared as a file in the bot's DM, they stay the
person's own. A button's decision redraws the action items' message in place; an item decided already is
refused privately, saying what became of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.errors import user_facing
from bot.guard import Access
from bot.listeners.home import publish_home
from bot.listeners.registrar import Registrar
from bot.views.errors import error_message
from bot.views.meeting import (
    MeetingOrigin,
    action_items_part,
    file_received_message,
    meeting_modal,
    modal_values,
    notes_message,
)
from bot.views.ticket import TicketOrigin, ticket_modal
from bot.views.todo import todo_message
from bot.wiring import Services
from core.errors import AgentPMError, InvalidInput
from core.logging import get_logger
from core.meetings import decisions, sharing
from core.meetings.formats import MAX_BYTES, format_of
from core.notices import ActionItemRef, ActionItemsNotice, ReplyTarget, SearchHit
from core.ratelimit import Cost
from core.search.jobs import has_vectors
from core.search.service import Viewer
from core.search.similar import possible_duplicates
from core.todos.flows import TodoItem
from core.users.service import Identity, identity_by_slack_id

log = get_logger(__name__)

USAGE = "meeting"
ACCESS = Access(cost=Cost.READ)  # the modal and the buttons
SHARE_ACCESS = Access(cost=Cost.SEARCH)  # storing notes (and finding their action items)
JIRA_ACCESS = Access(cost=Cost.SEARCH)  # as `/pm ticket`: the form looks for duplicates
# A file shared in the bot's DM is a `message.im` event, like a question to it: the same class of cost
# (finding action items may call the language model, as answering does).
FILE_ACCESS = Access(cost=Cost.LLM)
MAX_FILES = 5  # files shared in one message


def is_file_share(event: dict[str, Any]) -> bool:
    """A person sharing files in the bot's DM (questions in the DM are `bot/listeners/ask.py`'s)."""
    return (
        event.get("channel_type") == "im"
        and event.get("subtype") == "file_share"
        and not event.get("bot_id")
        and bool(event.get("user"))
        and bool(event.get("files"))
    )


def clicked_message(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(channel, ts, thread ts) of the message a button was clicked in."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts") or message.get("ts")
    return channel, ts, message.get("thread_ts") or container.get("thread_ts")


def ref_of(body: dict[str, Any]) -> ActionItemRef:
    try:
        return ActionItemRef.model_validate_json(body["actions"][0]["value"])
    except (KeyError, IndexError, ValidationError) as exc:
        raise InvalidInput("That button is out of date.") from exc


async def permalink(client: AsyncWebClient, channel: str, ts: str) -> str | None:
    try:
        link = await client.chat_getPermalink(channel=channel, message_ts=ts)
    except SlackApiError as exc:  # the notes matter more than a link back to them
        log.info("meeting.permalink_failed", error=str(exc.response.get("error")))
        return None
    return str(link.get("permalink") or "") or None


async def told(
    work: Awaitable[None], client: AsyncWebClient, user: str, channel: str | None = None,
    thread_ts: str | None = None, what: str | None = None,
) -> None:  # fmt: skip
    """Work after the ack whose failure the person hears about: in the thread it belongs to, else by DM."""
    try:
        await work
    except Exception as exc:
        message, error_id = user_facing(exc)
        if error_id:
            log.error("meeting.failed", error_id=error_id, exc_info=exc)
        reply = error_message(f"{what}: {message}" if what else message, error_id)
        await client.chat_postMessage(channel=channel or user, thread_ts=thread_ts, **reply)


async def issue_created(
    services: Services, client: AsyncWebClient, identity: Identity, origin: TicketOrigin, key: str
) -> None:
    """The Jira issue made from an action item (the create-issue form): the item is marked and its message
    redrawn. Decided otherwise meanwhile: the issue stands, and its creator hears why the item is unmarked."""
    if origin.action_item_id is None:
        return
    try:
        notice = await asyncio.to_thread(
            decisions.record_issue, services.db, identity, origin.action_item_id, key
        )
    except AgentPMError as exc:
        if identity.slack_user_id:
            text = f"{key} was created, but the action item was not marked: {exc.user_message}"
            await client.chat_postMessage(channel=identity.slack_user_id, **error_message(text))
        return
    if origin.channel_id and origin.message_ts:
        message = action_items_part(notice, origin.action_item_id)
        await client.chat_update(channel=origin.channel_id, ts=origin.message_ts, **message)


def register(reg: Registrar) -> None:
    services = reg.services
    db = services.db

    # -- pasted notes ----------------------------------------------------------------------------

    @reg.subcommand(
        "meeting", usage=USAGE, access=ACCESS,
        description="Paste meeting notes (a form opens); their action items become TODOs or Jira issues.",
    )  # fmt: skip
    async def meeting(
        ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        view = meeting_modal(MeetingOrigin(channel_id=command.get("channel_id")))
        services.after_ack.run(
            client.views_open(trigger_id=command["trigger_id"], view=view), respond, "meeting.open"
        )

    @reg.view(ids.VIEW_MEETING_NOTES, SHARE_ACCESS)
    async def submitted(
        ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:  # fmt: skip
        title, notes = modal_values(view)
        if not notes:
            await ack(response_action="errors", errors={ids.BLOCK_MEETING_NOTES: "Paste the meeting notes."})
            return
        try:
            origin = MeetingOrigin.model_validate_json(view.get("private_metadata") or "{}")
        except ValidationError:
            origin = MeetingOrigin()
        await ack()
        identity: Identity = context["identity"]
        user = str(body["user"]["id"])
        team = (body.get("team") or {}).get("id") or identity.team_id
        work = share(client, user, team, origin, title, notes)
        services.after_ack.run(told(work, client, user), None, "meeting.share")

    async def share(
        client: AsyncWebClient, user: str, team_id: str | None, origin: MeetingOrigin, title: str, notes: str
    ) -> None:
        shared = await asyncio.to_thread(
            sharing.share_notes, db, team_id=team_id, channel_id=origin.channel_id, user=user,
            title=title or None, text=notes,
        )  # fmt: skip
        private, posted = shared.private, None
        if not private and origin.channel_id:
            try:
                posted = await client.chat_postMessage(
                    channel=origin.channel_id, **notes_message(shared.title, user)
                )
            except SlackApiError as exc:  # e.g. a private channel the bot is not in: the person's DM
                log.info("meeting.channel_refused", error=str(exc.response.get("error")))
                private = True
        if posted is None:
            note = None if shared.private else "I can't post in that channel, so these notes are yours alone."
            posted = await client.chat_postMessage(channel=user, **notes_message(shared.title, user, note))
        channel, ts = str(posted["channel"]), str(posted["ts"])
        link = await permalink(client, channel, ts)
        await asyncio.to_thread(
            sharing.place, db, shared.meeting_id, channel_id=channel, thread_ts=ts, url=link, private=private
        )
        target = ReplyTarget(channel_id=channel, user_id=user, thread_ts=ts, private=False)
        payload = sharing.process_payload(shared.meeting_id, target)
        await asyncio.to_thread(services.queue.enqueue, sharing.PROCESS_JOB, payload)

    # -- files shared in the bot's DM --------------------------------------------------------------

    async def file_share(event: dict[str, Any]) -> bool:
        return is_file_share(event)

    @reg.event(ids.EVENT_MESSAGE, FILE_ACCESS, manifest_name="message.im", matchers=[file_share])
    async def shared_files(event: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]) -> None:
        user, channel, ts = str(event["user"]), str(event["channel"]), str(event["ts"])
        for file in list(event.get("files") or [])[:MAX_FILES]:
            if isinstance(file, dict):
                name = str(file.get("name") or file.get("title") or "that file")
                work = take_file(client, file, context, user=user, channel=channel, ts=ts)
                services.after_ack.run(told(work, client, user, channel, ts, what=name), None, "meeting.file")

    async def take_file(
        client: AsyncWebClient, file: dict[str, Any], context: dict[str, Any], *, user: str, channel: str,
        ts: str,
    ) -> None:  # fmt: skip
        name = str(file.get("name") or file.get("title") or "")
        format_of(name)  # another format is refused before anything is downloaded
        if not (file.get("url_private_download") or file.get("url_private")) and file.get("id"):
            file = dict((await client.files_info(file=str(file["id"]))).get("file") or {})
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        if int(file.get("size") or 0) > MAX_BYTES:
            raise InvalidInput("That file is over 1 MB; share the notes in smaller parts.")
        if not url:
            raise InvalidInput("Slack did not give me that file; please share it again.")
        data = await asyncio.to_thread(services.sender.download, url, MAX_BYTES, context.get("bot_token"))
        link = await permalink(client, channel, ts)
        shared = await asyncio.to_thread(
            sharing.share_file, db, team_id=context.get("team_id"), channel_id=channel, thread_ts=ts,
            user=user, filename=name, data=data, url=link,
        )  # fmt: skip
        await client.chat_postMessage(channel=channel, thread_ts=ts, **file_received_message(shared.title))
        target = ReplyTarget(channel_id=channel, user_id=user, thread_ts=ts, private=False)
        payload = sharing.process_payload(shared.meeting_id, target)
        await asyncio.to_thread(services.queue.enqueue, sharing.PROCESS_JOB, payload)

    # -- the buttons on each action item -----------------------------------------------------------

    async def redraw(
        client: AsyncWebClient, body: dict[str, Any], item_id: int, notice: ActionItemsNotice
    ) -> None:
        channel, ts, _ = clicked_message(body)
        if channel and ts:
            await client.chat_update(channel=channel, ts=ts, **action_items_part(notice, item_id))

    async def tell_owner(client: AsyncWebClient, identity: Identity, todo: TodoItem) -> None:
        """The owner named in the notes hears they have a TODO; both Homes show it."""
        await publish_home(services, client, identity)
        if todo.owner != identity.slack_user_id and todo.owner.startswith(("U", "W")):
            headline = f"<@{identity.slack_user_id}> gave you a TODO from meeting notes"
            await client.chat_postMessage(channel=todo.owner, **todo_message(todo, headline))
            owner = await asyncio.to_thread(_identity_of, services, todo.owner)
            if owner is not None:
                await publish_home(services, client, owner)

    @reg.action(ids.ACTION_ITEM_TODO, ACCESS)
    async def add_todo(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:  # fmt: skip
        ref = ref_of(body)
        await ack()
        identity: Identity = context["identity"]

        async def run() -> None:
            decided = await asyncio.to_thread(decisions.add_todo, db, identity, ref.item_id)
            await redraw(client, body, ref.item_id, decided.notice)
            message = todo_message(decided.todo, "Added as a TODO")
            await respond(response_type="ephemeral", replace_original=False, **message)
            await tell_owner(client, identity, decided.todo)

        services.after_ack.run(run(), respond, "meeting.todo")

    @reg.action(ids.ACTION_ITEM_DISMISS, ACCESS)
    async def dismiss(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:  # fmt: skip
        ref = ref_of(body)
        await ack()
        identity: Identity = context["identity"]

        async def run() -> None:
            notice = await asyncio.to_thread(decisions.dismiss, db, identity, ref.item_id)
            await redraw(client, body, ref.item_id, notice)

        services.after_ack.run(run(), respond, "meeting.dismiss")

    def duplicates_for(text: str, identity: Identity) -> list[SearchHit]:
        viewer = Viewer(user_id=identity.user_id, role=identity.role, channels=frozenset())
        with db.session() as session:
            search = services.jobs.search
            engine = search if search is not None and has_vectors(session) else None
            return possible_duplicates(session, text, viewer, engine)

    @reg.action(ids.ACTION_ITEM_JIRA, JIRA_ACCESS)
    async def to_jira(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:  # fmt: skip
        ref = ref_of(body)
        if not services.settings.jira_base_url:
            raise InvalidInput("Jira is not configured for this workspace (JIRA_BASE_URL is not set).")
        await ack()
        identity: Identity = context["identity"]
        channel, ts, thread_ts = clicked_message(body)

        async def run() -> None:
            draft = await asyncio.to_thread(decisions.jira_draft, db, ref.item_id)
            origin = TicketOrigin(
                channel_id=channel, message_ts=ts, thread_ts=thread_ts or ts, action_item_id=draft.item_id
            )

            def modal(duplicates: list[SearchHit] | None = None) -> dict[str, Any]:
                return ticket_modal(
                    origin, summary=draft.summary, description=draft.description, duplicates=duplicates
                )

            opened = (await client.views_open(trigger_id=body["trigger_id"], view=modal())).get("view") or {}
            try:
                hits = await asyncio.to_thread(duplicates_for, draft.summary, identity)
            except Exception as exc:  # the form works without suggestions
                log.warning("meeting.duplicates_failed", error=type(exc).__name__)
                hits = []
            await client.views_update(view_id=opened.get("id"), hash=opened.get("hash"), view=modal(hits))

        services.after_ack.run(run(), respond, "meeting.jira")


def _identity_of(services: Services, slack_user_id: str) -> Identity | None:
    with services.db.session() as session:
        return identity_by_slack_id(session, slack_user_id)
