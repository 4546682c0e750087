"""`/pm search <query> [project:KEY] [source:jira|slack|meeting] [since:30d]`, "More results" and "Share"."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot import ids
from bot.commands import parse_pm
from bot.guard import Access
from bot.listeners.registrar import Registrar
from core.errors import InvalidInput
from core.jira.jql import valid_project_key
from core.notices import ReplyTarget, SearchState
from core.parsing import parse_duration
from core.ratelimit import Cost
from core.search.service import Viewer
from core.users.service import Identity

JOB = "agentpm.search.page"
SOURCES = ("jira", "slack", "meeting")
USAGE = "search <query> [project:KEY] [source:jira|slack|meeting] [since:30d]"


def parse_search(text: str) -> SearchState:
    """Filters (``project:``, ``source:``, ``since:``) anywhere in the text; the rest is the query."""
    words: list[str] = []
    project: str | None = None
    source: str | None = None
    since_days: int | None = None
    for word in text.split():
        name, _, value = word.partition(":")
        lowered = name.lower()
        if value and lowered == "project":
            project = valid_project_key(value)
        elif value and lowered == "source":
            if value.lower() not in SOURCES:
                raise InvalidInput(f"`source:` is one of {', '.join(SOURCES)}.")
            source = value.lower()
        elif value and lowered == "since":
            since_days = max(1, parse_duration(value).days or 1)
        else:
            words.append(word)
    query = " ".join(words).strip()
    if not query:
        raise InvalidInput(f"What should I search for? `/pm {USAGE}`")
    return SearchState(q=query[:1000], project=project, source=source, since_days=since_days)


def job_payload(
    state: SearchState, identity: Identity, target: ReplyTarget, shared_by: str | None = None,
    shared_in: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The job decides which channels' messages may show (it asks Slack who is a member): the searcher's
    channels, or for shared results only what everyone in the channel they are shared in may see."""
    viewer = Viewer(user_id=identity.user_id, role=identity.role, channels=frozenset())
    payload: dict[str, Any] = {"state": state.model_dump(), "target": target.model_dump()}
    payload["viewer"] = viewer.model_dump(mode="json")
    payload["member"] = identity.slack_user_id
    if shared_by:
        payload["shared_by"] = shared_by
        payload["audience"] = shared_in
    return payload


def register(reg: Registrar) -> None:
    services = reg.services
    access = Access(cost=Cost.SEARCH)

    @reg.subcommand(
        "search",
        usage=USAGE,
        description="Search Jira issues, indexed channels and meeting notes.",
        access=access,
    )
    async def search(
        ack: AsyncAck, respond: AsyncRespond, command: dict[str, Any], context: dict[str, Any]
    ) -> None:
        state = parse_search(parse_pm(command.get("text")).rest)
        target = ReplyTarget(user_id=command.get("user_id"), response_url=command.get("response_url"))
        await ack()
        services.after_ack.submit(JOB, job_payload(state, context["identity"], target), respond)

    def state_of(body: dict[str, Any]) -> SearchState:
        try:
            return SearchState.model_validate_json(body["actions"][0]["value"])
        except (KeyError, IndexError, ValidationError) as exc:
            raise InvalidInput("That button is out of date; please search again.") from exc

    @reg.action(ids.ACTION_SEARCH_MORE, access)
    async def more(
        ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        state = state_of(body)
        await ack()
        target = ReplyTarget(user_id=body["user"]["id"], response_url=body.get("response_url"))
        services.after_ack.submit(JOB, job_payload(state, context["identity"], target), respond)

    @reg.shortcut(ids.SHORTCUT_FIND_SIMILAR, access)
    async def similar(
        ack: AsyncAck, respond: AsyncRespond, shortcut: dict[str, Any], context: dict[str, Any]
    ) -> None:
        text = " ".join(str((shortcut.get("message") or {}).get("text") or "").split())
        if not text:
            raise InvalidInput("That message has no text to compare with issues.")
        state = SearchState(q=text[:1000], source="jira", similar=True)
        await ack()
        user_id = (shortcut.get("user") or {}).get("id")
        channel_id = (shortcut.get("channel") or {}).get("id")
        target = ReplyTarget(
            user_id=user_id, channel_id=channel_id, response_url=shortcut.get("response_url")
        )
        services.after_ack.submit(JOB, job_payload(state, context["identity"], target), respond)

    @reg.action(ids.ACTION_SEARCH_SHARE, access)
    async def share(
        ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        state = state_of(body).model_copy(update={"offset": 0})
        await ack()
        target = ReplyTarget(response_url=body.get("response_url"), private=False)
        shared_in = (body.get("channel") or {}).get("id")
        payload = job_payload(
            state, context["identity"], target, shared_by=body["user"]["id"], shared_in=shared_in
        )
        services.after_ack.submit(JOB, payload, respond)
