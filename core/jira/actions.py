"""Jira from Slack: what a person does to Jira through the bot, as that person when they connected their
account, else as the service account on their behalf (and the issue or comment says so).

Interactive calls use short timeouts and few retries: a person is waiting, and a modal has 3 seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from core.config import Role, Settings
from core.crypto import Vault
from core.db.session import Database
from core.errors import AgentPMError, Forbidden, InvalidInput
from core.jira.acting import Actor, actor_for
from core.jira.client import JiraClient, JiraConfig
from core.jira.issues import (
    IssueSummary,
    NewIssue,
    add_comment,
    assign_issue,
    assignable_users,
    create_issue,
    get_issue,
    list_transitions,
    myself,
    store_issue,
    transition_issue,
)
from core.logging import get_logger
from core.notices import IssueCard, IssueMove
from core.search.access import hidden_projects
from core.users.service import Identity

log = get_logger(__name__)

INTERACTIVE_TIMEOUT = 10.0
INTERACTIVE_ATTEMPTS = 2


def interactive(config: JiraConfig) -> JiraConfig:
    return dataclasses.replace(config, timeout_seconds=INTERACTIVE_TIMEOUT, attempts=INTERACTIVE_ATTEMPTS)


def _display(identity: Identity) -> str:
    return f"{identity.name} ({identity.email})" if identity.name else identity.email


def actor(db: Database, vault: Vault, settings: Settings, identity: Identity) -> Actor:
    with db.session() as session:
        return actor_for(session, vault, settings, identity.user_id, _display(identity))


@asynccontextmanager
async def jira_as(actor: Actor) -> AsyncIterator[JiraClient]:
    async with JiraClient(interactive(actor.config)) as client:
        yield client


def hidden_for(db: Database, identity: Identity | None) -> set[str]:
    """Restricted projects ``identity`` may not see (None: everyone in a conversation)."""
    with db.session() as session:
        if identity is None:
            return hidden_projects(session, None, False)
        return hidden_projects(session, identity.user_id, identity.role is Role.ADMIN)


def check_project(db: Database, identity: Identity, project: str) -> None:
    """A restricted project is out of reach for people who may not see it, for writes as for reads."""
    if project in hidden_for(db, identity):
        raise Forbidden(f"{project} is a restricted project.")


async def _visible_issue(client: JiraClient, key: str, hidden: set[str]) -> IssueSummary:
    """The issue as Jira has it now; a key moved into a restricted project is refused by where it is now."""
    issue = await get_issue(client, key)
    if issue.project in hidden or key.rsplit("-", 1)[0] in hidden:
        raise Forbidden(f"{issue.key} is in a restricted project.")
    return issue


async def create(db: Database, settings: Settings, actor: Actor, new: NewIssue) -> IssueSummary:
    """Create the issue and store it at once, so it is searchable before the next sync."""
    if not actor.as_user and actor.on_behalf_of:
        new = new.model_copy(update={"on_behalf_of": actor.on_behalf_of})
    async with jira_as(actor) as client:
        created = await create_issue(client, new)
        await _store(db, client, settings, created.key)
    log.info("jira.created", key=created.key, as_user=actor.as_user)
    return created


async def _store(db: Database, client: JiraClient, settings: Settings, key: str) -> None:
    try:
        await store_issue(db, client, key, (settings.jira_base_url or "").rstrip("/"))
    except Exception as exc:  # the next sync stores it; the action itself succeeded
        log.warning("jira.store_failed", key=key, error=type(exc).__name__)


async def card(db: Database, settings: Settings, key: str) -> IssueCard | None:
    """The unfurl of ``key`` as the service account sees it; None when it is (or was moved) in a restricted
    project, since an unfurl is read by everyone in the conversation."""
    hidden = await asyncio.to_thread(hidden_for, db, None)
    async with JiraClient(interactive(JiraConfig.from_settings(settings))) as client:
        try:
            issue = await _visible_issue(client, key, hidden)
        except Forbidden:
            return None
        try:
            moves = await list_transitions(client, issue.key)
        except AgentPMError:  # the card without its menu beats no card
            moves = []
    transitions = [IssueMove(id=t.id, name=t.name, to_status=t.to_status) for t in moves]
    return IssueCard(
        key=issue.key, url=issue.url, summary=issue.summary, status=issue.status, assignee=issue.assignee,
        priority=issue.priority, updated=issue.updated, transitions=transitions,
    )  # fmt: skip


async def assign_to_self(
    db: Database, settings: Settings, actor: Actor, identity: Identity, key: str
) -> IssueSummary:
    """As the person: their own account. As the service account: the assignable Jira user whose email is
    theirs (Jira Cloud hides most emails; then they are asked to connect their account)."""
    hidden = await asyncio.to_thread(hidden_for, db, identity)
    async with jira_as(actor) as client:
        issue = await _visible_issue(client, key, hidden)
        if actor.as_user:
            account = (await myself(client)).account_id
        else:
            found = await assignable_users(client, issue.project, identity.email)
            exact = [u for u in found if u.email and u.email.lower() == identity.email.lower()]
            if len(exact) != 1:
                raise InvalidInput(
                    "I could not tell which Jira account is yours: connect it with `/pm connect jira`."
                )
            account = exact[0].account_id
        await assign_issue(client, issue.key, account, on_behalf_of=_note(actor))
        await _store(db, client, settings, issue.key)
        return await get_issue(client, issue.key)


async def move(
    db: Database, settings: Settings, actor: Actor, identity: Identity, key: str, transition_id: str
) -> IssueSummary:
    hidden = await asyncio.to_thread(hidden_for, db, identity)
    async with jira_as(actor) as client:
        issue = await _visible_issue(client, key, hidden)
        await transition_issue(client, issue.key, transition_id, on_behalf_of=_note(actor))
        await _store(db, client, settings, issue.key)
        return await get_issue(client, issue.key)


async def comment(
    db: Database, settings: Settings, actor: Actor, identity: Identity, key: str, text: str
) -> None:
    hidden = await asyncio.to_thread(hidden_for, db, identity)
    async with jira_as(actor) as client:
        issue = await _visible_issue(client, key, hidden)
        await add_comment(client, issue.key, text, on_behalf_of=_note(actor))
        await _store(db, client, settings, issue.key)


def _note(actor: Actor) -> str | None:
    return None if actor.as_user else actor.on_behalf_of
