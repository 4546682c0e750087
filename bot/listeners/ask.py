"""`/pm ask <question>`, mentions and direct messages: answered in a thread, with cited sources; and the
👍/👎 buttons under every answer."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot import ids
from bot.commands import parse_pm
from bot.guard import Access
from bot.listeners.registrar import Registrar
from core.config import Role
from core.errors import InvalidInput
from core.notices import AnswerVote, ReplyTarget
from core.ratelimit import Cost
from core.search.answer_jobs import AskRequest, record_feedback
from core.search.service import Viewer
from core.users.service import Identity

JOB = "agentpm.answer.ask"
USAGE = "ask <question>"
MAX_QUESTION = 3000
EXAMPLE = "for example `/pm ask has anyone seen double charges on retries?`"
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def question_of(text: str | None, bot_user_id: str | None = None) -> str:
    """The question in a command or message: the bot's own mention removed, whitespace tidied."""
    raw = text or ""
    if bot_user_id:
        raw = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", raw)
    else:  # the bot's own ID is unknown (Slack was unreachable at start-up): drop the leading mention
        raw = re.sub(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>", " ", raw)
    question = " ".join(raw.split())
    if not question or not _MENTION.sub("", question).strip():
        raise InvalidInput(f"What would you like to know? Ask a question, {EXAMPLE}.")
    if len(question) > MAX_QUESTION:
        raise InvalidInput(
            f"That question is {len(question):,} characters; please keep it under {MAX_QUESTION:,}."
        )
    return question


def audience(identity: Identity, public: bool) -> Viewer:
    """Who the answer is built for: in a conversation others read, only what every user may see."""
    if public:
        return Viewer(user_id=None, role=Role.USER, channels=frozenset())
    # Which channels' messages may be used is decided by the job, which asks Slack who is a member.
    return Viewer(user_id=identity.user_id, role=identity.role, channels=frozenset())


def is_direct_message(event: dict[str, Any]) -> bool:
    """A person's message to the bot in its DM (not a bot, not an edit or a join)."""
    return (
        event.get("channel_type") == "im"
        and not event.get("subtype")
        and not event.get("bot_id")
        and bool(event.get("user"))
    )


def register(reg: Registrar) -> None:
    services = reg.services
    access = Access(cost=Cost.LLM)

    def submit(request: AskRequest, respond: AsyncRespond | None) -> None:
        services.after_ack.submit(JOB, request.model_dump(mode="json"), respond)

    @reg.subcommand(
        "ask", usage=USAGE, description="Ask a question; answered with cited sources.", access=access
    )
    async def ask(
        ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], context: dict[str, Any]
    ) -> None:
        question = question_of(parse_pm(command.get("text")).rest)
        await ack()
        target = ReplyTarget(
            channel_id=command.get("channel_id"), user_id=command.get("user_id"),
            response_url=command.get("response_url"), private=False,
        )  # fmt: skip
        request = AskRequest(
            question=question, asked_by=command.get("user_id"), team_id=command.get("team_id"),
            viewer=audience(context["identity"], public=True), target=target, echo_question=True,
            audience=command.get("channel_id"),
        )  # fmt: skip
        submit(request, respond)

    @reg.event(ids.EVENT_APP_MENTION, access)
    async def mention(event: dict[str, Any], context: dict[str, Any]) -> None:
        question = question_of(event.get("text"), context.get("bot_user_id"))
        in_thread = event.get("thread_ts")
        thread_ts = in_thread or event.get("ts")
        target = ReplyTarget(
            channel_id=event.get("channel"), user_id=event.get("user"), thread_ts=thread_ts, private=False
        )
        request = AskRequest(
            question=question, asked_by=event.get("user"), team_id=context.get("team_id"),
            viewer=audience(context["identity"], public=True), target=target, thread_ts=in_thread,
            message_ts=event.get("ts"), audience=event.get("channel"),
        )  # fmt: skip
        submit(request, None)

    async def direct_message(event: dict[str, Any]) -> bool:
        return is_direct_message(event)

    @reg.event(ids.EVENT_MESSAGE, access, manifest_name="message.im", matchers=[direct_message])
    async def direct(event: dict[str, Any], context: dict[str, Any]) -> None:
        question = question_of(event.get("text"), context.get("bot_user_id"))
        in_thread = event.get("thread_ts")
        target = ReplyTarget(
            channel_id=event.get("channel"), user_id=event.get("user"), thread_ts=in_thread, private=False
        )
        request = AskRequest(
            question=question, asked_by=event.get("user"), team_id=context.get("team_id"),
            viewer=audience(context["identity"], public=False), target=target, thread_ts=in_thread,
            message_ts=event.get("ts"), public=False, member=event.get("user"),
        )  # fmt: skip
        submit(request, None)

    async def vote(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any]) -> None:
        try:
            choice = AnswerVote.model_validate_json(body["actions"][0]["value"])
        except (KeyError, IndexError, ValidationError) as exc:
            raise InvalidInput("That button is out of date.") from exc
        await ack()
        user_id = str(body["user"]["id"])

        def store() -> bool:
            with services.db.session() as session:
                return record_feedback(session, choice.answer_id, user_id, choice.vote)

        stored = await asyncio.to_thread(store)
        text = (
            ("Thanks! Marked as helpful." if choice.vote > 0 else "Thanks, noted as not helpful.")
            if stored
            else "That answer is gone; ask again for a fresh one."
        )
        await respond(response_type="ephemeral", replace_original=False, text=text)

    reg.action(ids.ACTION_ANSWER_HELPFUL, access)(vote)
    reg.action(ids.ACTION_ANSWER_UNHELPFUL, access)(vote)
