"""Creating Jira issues from Slack: the "Create Jira issue" message shortcut, the "New Jira issue" global
shortcut and `/pm ticket [summary]`, the modal's typeahead selects, and its submission.

The issue is created while Slack waits for the modal's answer (up to ~2 s), so Jira's field errors appear
inline next to the field; when Jira is slower, the modal says so and the link follows as a message.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids
from bot.commands import parse_pm
from bot.errors import user_facing
from bot.guard import Access
from bot.listeners.meeting import issue_created
from bot.listeners.registrar import Registrar
from bot.views.errors import error_message
from bot.views.ticket import (
    Option,
    TicketOrigin,
    created_message,
    creating_modal,
    first_line_summary,
    options_payload,
    submitted_values,
    ticket_modal,
)
from core.config import Role
from core.errors import AgentPMError, InvalidInput
from core.jira import actions
from core.jira.issues import FieldErrors, IssueSummary, NewIssue, assignable_users
from core.jira.markup import slack_to_text
from core.jira.meta import issue_types, priorities, projects
from core.logging import get_logger
from core.notices import SearchHit
from core.ratelimit import Cost
from core.search.access import hidden_projects
from core.search.jobs import has_vectors
from core.search.service import Viewer
from core.search.similar import possible_duplicates
from core.users.service import Identity

log = get_logger(__name__)

USAGE = "ticket [summary]"
ACCESS = Access(cost=Cost.SEARCH)
SUBMIT_BUDGET_SECONDS = 1.8  # from the handler's start; Slack waits 3 s for a view_submission's answer
INDEX_JOB = "agentpm.search.index"
# Jira's field IDs → the modal's blocks, for errors shown inline.
FIELD_BLOCKS = {
    "project": ids.BLOCK_ISSUE_PROJECT,
    "issuetype": ids.BLOCK_ISSUE_TYPE,
    "summary": ids.BLOCK_ISSUE_SUMMARY,
    "description": ids.BLOCK_ISSUE_DESCRIPTION,
    "priority": ids.BLOCK_ISSUE_PRIORITY,
    "assignee": ids.BLOCK_ISSUE_ASSIGNEE,
}


def field_errors(exc: FieldErrors) -> dict[str, str]:
    """Jira's errors on the blocks they belong to; others (custom fields, general messages) on the summary."""
    errors: dict[str, str] = {}
    other: list[str] = list(exc.messages)
    for field, message in exc.errors.items():
        block = FIELD_BLOCKS.get(field)
        if block:
            errors[block] = message[:150]
        else:
            other.append(f"{field}: {message}")
    if other or not errors:
        summary = errors.get(ids.BLOCK_ISSUE_SUMMARY)
        extra = "; ".join(other) or exc.user_message
        errors[ids.BLOCK_ISSUE_SUMMARY] = "; ".join(p for p in (summary, extra) if p)[:150]
    return errors


def register(reg: Registrar) -> None:
    services = reg.services
    settings = services.settings

    def viewer(identity: Identity) -> Viewer:
        return Viewer(user_id=identity.user_id, role=identity.role, channels=frozenset())

    def require_jira() -> None:
        if not settings.jira_base_url:
            raise InvalidInput("Jira is not configured for this workspace (JIRA_BASE_URL is not set).")

    def duplicates_for(text: str, identity: Identity) -> list[SearchHit]:
        with services.db.session() as session:
            search = services.jobs.search
            engine = search if search is not None and has_vectors(session) else None
            return possible_duplicates(session, text, viewer(identity), engine)

    async def open_modal(
        client: AsyncWebClient, trigger_id: str, origin: TicketOrigin, identity: Identity,
        *, summary: str, description: str = "", from_message: bool = False,
    ) -> None:  # fmt: skip
        def modal(duplicates: list[SearchHit] | None = None) -> dict[str, Any]:
            return ticket_modal(
                origin, summary=summary, description=description, from_message=from_message,
                duplicates=duplicates,
            )  # fmt: skip

        opened = await client.views_open(trigger_id=trigger_id, view=modal())
        view = opened.get("view") or {}
        text = "\n".join(p for p in (summary, description) if p)
        try:
            hits = await asyncio.to_thread(duplicates_for, text, identity) if text.strip() else []
        except Exception as exc:  # the form works without suggestions
            log.warning("ticket.duplicates_failed", error=type(exc).__name__)
            hits = []
        await client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=modal(hits))

    @reg.shortcut(ids.SHORTCUT_CREATE_JIRA_ISSUE, ACCESS)
    async def from_message(
        ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, context: dict[str, Any],
        respond: AsyncRespond,
    ) -> None:  # fmt: skip
        require_jira()
        message = shortcut.get("message") or {}
        text = slack_to_text(str(message.get("text") or "")).strip()
        await ack()
        ts = message.get("ts")
        origin = TicketOrigin(
            channel_id=(shortcut.get("channel") or {}).get("id"), message_ts=ts,
            thread_ts=message.get("thread_ts") or ts,
        )  # fmt: skip
        work = open_modal(
            client, shortcut["trigger_id"], origin, context["identity"],
            summary=first_line_summary(text), description=text, from_message=True,
        )  # fmt: skip
        services.after_ack.run(work, respond if shortcut.get("response_url") else None, "ticket.open")

    @reg.shortcut(ids.SHORTCUT_NEW_JIRA_ISSUE, ACCESS)
    async def anywhere(
        ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
    ) -> None:
        require_jira()
        await ack()
        work = open_modal(client, shortcut["trigger_id"], TicketOrigin(), context["identity"], summary="")
        services.after_ack.run(work, None, "ticket.open")

    @reg.subcommand("ticket", usage=USAGE, description="Create a Jira issue (a form opens).", access=ACCESS)
    async def ticket(
        ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:  # fmt: skip
        require_jira()
        summary = first_line_summary(parse_pm(command.get("text")).rest)
        await ack()
        origin = TicketOrigin(channel_id=command.get("channel_id"))
        work = open_modal(client, command["trigger_id"], origin, context["identity"], summary=summary)
        services.after_ack.run(work, respond, "ticket.open")

    # -- typeahead -------------------------------------------------------------------------------

    def chosen_project(body: dict[str, Any]) -> str | None:
        values = (body.get("view") or {}).get("state", {}).get("values", {})
        selected = values.get(ids.BLOCK_ISSUE_PROJECT, {}).get(ids.ACTION_PICK_PROJECT, {})
        option = selected.get("selected_option") or {}
        return str(option["value"]) if option.get("value") else None

    def project_options(query: str, identity: Identity) -> list[Option]:
        with services.db.session() as session:
            hidden = hidden_projects(session, identity.user_id, identity.role is Role.ADMIN)
            found = projects(session, query)
        return [
            Option(value=key, label=f"{key} · {name}" if name else key)
            for key, name in found
            if key not in hidden
        ]

    def type_options(project: str | None) -> list[Option]:
        if not project:
            return []
        with services.db.session() as session:
            return [Option(value=i, label=name) for i, name in issue_types(session, project)]

    def priority_options() -> list[Option]:
        with services.db.session() as session:
            return [Option(value=i, label=name) for i, name in priorities(session)]

    def matching(choices: list[Option], query: str) -> list[Option]:
        q = query.strip().lower()
        return [c for c in choices if q in c.label.lower()] if q else choices

    @reg.options(ids.ACTION_PICK_PROJECT, ACCESS)
    async def project_typeahead(ack: AsyncAck, body: dict[str, Any], context: dict[str, Any]) -> None:
        found = await asyncio.to_thread(project_options, str(body.get("value") or ""), context["identity"])
        await ack(**options_payload(found))

    @reg.options(ids.ACTION_PICK_ISSUE_TYPE, ACCESS)
    async def type_typeahead(ack: AsyncAck, body: dict[str, Any]) -> None:
        found = await asyncio.to_thread(type_options, chosen_project(body))
        await ack(**options_payload(matching(found, str(body.get("value") or ""))))

    @reg.options(ids.ACTION_PICK_PRIORITY, ACCESS)
    async def priority_typeahead(ack: AsyncAck, body: dict[str, Any]) -> None:
        found = await asyncio.to_thread(priority_options)
        await ack(**options_payload(matching(found, str(body.get("value") or ""))))

    @reg.options(ids.ACTION_PICK_ASSIGNEE, ACCESS)
    async def assignee_typeahead(ack: AsyncAck, body: dict[str, Any], context: dict[str, Any]) -> None:
        project = chosen_project(body)
        found: list[Option] = []
        if project:
            try:
                actor = await asyncio.to_thread(
                    actions.actor, services.db, services.vault, settings, context["identity"]
                )
                async with actions.jira_as(actor) as client:
                    users = await asyncio.wait_for(
                        assignable_users(client, project, str(body.get("value") or "")), timeout=2.0
                    )
                found = [Option(value=u.account_id, label=u.display_name) for u in users]
            except (AgentPMError, TimeoutError) as exc:  # no suggestions beats an error in a dropdown
                log.info("ticket.assignees_unavailable", error=type(exc).__name__)
        await ack(**options_payload(found))

    # -- submission ------------------------------------------------------------------------------

    @reg.view(ids.VIEW_CREATE_ISSUE, ACCESS)
    async def submit(
        ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:  # fmt: skip
        started = time.monotonic()
        identity: Identity = context["identity"]
        values = submitted_values(view)
        try:
            origin = TicketOrigin.model_validate_json(view.get("private_metadata") or "{}")
        except ValidationError:
            origin = TicketOrigin()
        summary = " ".join(str(values.get(ids.BLOCK_ISSUE_SUMMARY) or "").split())
        errors: dict[str, str] = {}
        if not summary:
            errors[ids.BLOCK_ISSUE_SUMMARY] = "Give the issue a summary."
        project = values.get(ids.BLOCK_ISSUE_PROJECT)
        if not project:
            errors[ids.BLOCK_ISSUE_PROJECT] = "Choose a project."
        if not values.get(ids.BLOCK_ISSUE_TYPE):
            errors[ids.BLOCK_ISSUE_TYPE] = "Choose an issue type."
        if errors or not project:
            await ack(response_action="errors", errors=errors)
            return
        try:
            await asyncio.to_thread(actions.check_project, services.db, identity, project)
        except AgentPMError as exc:
            await ack(response_action="errors", errors={ids.BLOCK_ISSUE_PROJECT: exc.user_message[:150]})
            return
        description = str(values.get(ids.BLOCK_ISSUE_DESCRIPTION) or "").strip()
        new = NewIssue(
            project=project, issue_type_id=str(values[ids.BLOCK_ISSUE_TYPE]), summary=summary[:255],
            description=description, priority_id=values.get(ids.BLOCK_ISSUE_PRIORITY),
            assignee=values.get(ids.BLOCK_ISSUE_ASSIGNEE),
        )  # fmt: skip
        creating = asyncio.ensure_future(create(client, identity, origin, new))
        budget = max(0.1, SUBMIT_BUDGET_SECONDS - (time.monotonic() - started))
        done, _ = await asyncio.wait({creating}, timeout=budget)
        if not done:
            await ack(
                response_action="update", view=creating_modal("here" if origin.channel_id else "to you")
            )
            services.after_ack.run(finish_late(creating, client, identity, origin), None, "ticket.create")
            return
        try:
            created, as_user = creating.result()
        except FieldErrors as exc:
            await ack(response_action="errors", errors=field_errors(exc))
            return
        except AgentPMError as exc:
            await ack(response_action="errors", errors={ids.BLOCK_ISSUE_SUMMARY: exc.user_message[:150]})
            return
        await ack()
        services.after_ack.run(confirm(client, identity, origin, created, as_user), None, "ticket.confirm")

    async def create(
        client: AsyncWebClient, identity: Identity, origin: TicketOrigin, new: NewIssue
    ) -> tuple[IssueSummary, bool]:
        if origin.channel_id and origin.message_ts:
            try:
                link = await client.chat_getPermalink(channel=origin.channel_id, message_ts=origin.message_ts)
                permalink = str(link.get("permalink") or "")
            except Exception as exc:  # the issue matters more than the link back
                log.info("ticket.permalink_failed", error=type(exc).__name__)
                permalink = ""
            if permalink:
                new = new.model_copy(
                    update={"description": (new.description + "\n\nFrom Slack: " + permalink).strip()}
                )
        actor = await asyncio.to_thread(actions.actor, services.db, services.vault, settings, identity)
        created = await actions.create(services.db, settings, actor, new)
        return created, actor.as_user

    async def confirm(
        client: AsyncWebClient, identity: Identity, origin: TicketOrigin, created: IssueSummary, as_user: bool
    ) -> None:
        message = created_message(identity.slack_user_id, created.key, created.url, created.summary, as_user)
        posted = False
        # A restricted project's issue is not announced where others read: the creator hears privately.
        public = created.project not in await asyncio.to_thread(actions.hidden_for, services.db, None)
        if origin.channel_id and public:
            try:
                kwargs: dict[str, Any] = {"channel": origin.channel_id, **message}
                if origin.thread_ts:
                    kwargs["thread_ts"] = origin.thread_ts
                await client.chat_postMessage(**kwargs)
                posted = True
            except Exception as exc:  # not in the channel: tell the person directly
                log.info("ticket.confirm_in_channel_failed", error=type(exc).__name__)
        if not posted and identity.slack_user_id:
            await client.chat_postMessage(channel=identity.slack_user_id, **message)
        await asyncio.to_thread(services.queue.enqueue, INDEX_JOB, {})  # embed it for search right away
        await issue_created(services, client, identity, origin, created.key)  # made from an action item

    async def finish_late(
        creating: asyncio.Future[tuple[IssueSummary, bool]], client: AsyncWebClient, identity: Identity,
        origin: TicketOrigin,
    ) -> None:  # fmt: skip
        try:
            created, as_user = await creating
        except Exception as exc:
            message, error_id = user_facing(exc)
            if error_id:
                log.error("ticket.create_failed", error_id=error_id, exc_info=exc)
            if identity.slack_user_id:
                text = "The Jira issue was not created: " + message
                await client.chat_postMessage(channel=identity.slack_user_id, **error_message(text, error_id))
            return
        await confirm(client, identity, origin, created, as_user)
