"""Acting on Jira issues from Slack: create, read, transition, assign, comment, and find assignable people.

Each function takes a ``JiraClient`` opened for whoever acts (a person's own credential or the service
account; see ``core.jira.acting``) and speaks that site's dialect: Cloud REST v3 with ADF bodies, Data Center
REST v2 with wiki markup. Jira's answers become domain errors the Slack side can show: a 400 with field errors
is ``FieldErrors`` (a modal puts each message beside its field), a 403 is ``JiraForbidden`` (not the same as
credentials Jira rejects, which is a 401), an invalid transition is ``TransitionUnavailable``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy.orm import Session

from core.db.models import Project
from core.db.session import Database
from core.errors import AgentPMError, InvalidInput
from core.jira.client import ErrorMap, JiraClient
from core.jira.jql import ISSUE_KEY, valid_project_key
from core.jira.markup import text_to_adf, text_to_wiki
from core.jira.store import parse_jira_time, upsert_issues
from core.jira.sync import FIELDS
from core.logging import get_logger

log = get_logger(__name__)

SUMMARY_LIMIT = 255  # Jira's own limit
BODY_LIMIT = 30_000  # Jira refuses text fields over 32,767 characters; escaping and the note need room
SUMMARY_FIELDS = "summary,status,assignee,priority,updated,project,issuetype"
_ID = r"^[0-9]{1,18}$"


class FieldErrors(InvalidInput):
    """Jira refused a create or an edit: ``errors`` maps Jira field ids to its messages."""

    user_message = "Jira did not accept that."

    def __init__(self, errors: dict[str, str], messages: list[str]) -> None:
        self.errors = dict(errors)
        self.messages = list(messages)
        parts = self.messages + [f"{name}: {message}" for name, message in self.errors.items()]
        super().__init__("Jira did not accept that: " + "; ".join(parts) if parts else None)


class JiraForbidden(AgentPMError):
    user_message = "Jira says you do not have permission to do that."


class TransitionUnavailable(AgentPMError):
    user_message = "That transition is no longer available for this issue."


SERVICE_FORBIDDEN = (
    "Jira says the bot's Jira account does not have permission to do that. Connect your own account with "
    "`/pm connect jira`, or ask a Jira admin."
)


def _one_line(value: str, what: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"{what} must be one line")
    return value


class NewIssue(BaseModel):
    """An issue to create; ``assignee`` is a Cloud accountId or a Data Center username."""

    project: str
    issue_type_id: str = Field(pattern=_ID)
    summary: str
    description: str = Field(default="", max_length=BODY_LIMIT)
    priority_id: str | None = Field(default=None, pattern=_ID)
    assignee: str | None = Field(default=None, min_length=1, max_length=128)
    on_behalf_of: str | None = Field(default=None, min_length=1, max_length=300)  # the service account acts

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        try:
            return valid_project_key(value)
        except InvalidInput as exc:
            raise ValueError(exc.user_message) from exc

    @field_validator("summary")
    @classmethod
    def _summary(cls, value: str) -> str:
        value = _one_line(value.strip(), "The summary")
        if not value:
            raise ValueError("The summary must not be empty")
        if len(value) > SUMMARY_LIMIT:
            raise ValueError(f"The summary must be at most {SUMMARY_LIMIT} characters")
        return value

    @field_validator("on_behalf_of")
    @classmethod
    def _behalf(cls, value: str | None) -> str | None:
        return None if value is None else _one_line(value.strip(), "on_behalf_of")


class IssueSummary(BaseModel):
    key: str
    id: str
    url: str  # the browse URL
    summary: str
    status: str
    status_category: str | None  # new | indeterminate | done
    assignee: str | None  # display name
    assignee_id: str | None  # Cloud accountId or Data Center username
    priority: str | None
    updated: datetime | None
    project: str
    issue_type: str | None = None


class Transition(BaseModel):
    id: str
    name: str
    to_status: str


class JiraUser(BaseModel):
    account_id: str  # Cloud accountId or Data Center username: what assigning takes
    display_name: str
    email: str | None = None  # when Jira shows it (Cloud hides it unless the user allows)


# --- helpers ------------------------------------------------------------------------------------------------


def issue_key(key: str) -> str:
    """``key`` upper-cased, or InvalidInput: keys come from buttons and links and end up in URL paths."""
    candidate = key.strip().upper()
    if not ISSUE_KEY.match(candidate):
        raise InvalidInput(f"`{key[:40]}` is not a Jira issue key.")
    return candidate


async def _api(client: JiraClient) -> str:
    return "/rest/api/3" if await client.deployment() == "cloud" else "/rest/api/2"


def _body(text: str, cloud: bool) -> Any:
    return text_to_adf(text) if cloud else text_to_wiki(text)


def with_note(text: str, note: str | None) -> str:
    """``text`` with ``note`` as its last paragraph (no note: unchanged)."""
    if not note:
        return text
    return f"{text.rstrip()}\n\n{note}" if text.strip() else note


def created_note(on_behalf_of: str | None) -> str | None:
    return f"Created from Slack on behalf of {on_behalf_of}." if on_behalf_of else None


def _field_errors(body: Any) -> tuple[dict[str, str], list[str]]:
    if not isinstance(body, dict):
        return {}, []
    raw_errors, raw_messages = body.get("errors"), body.get("errorMessages")
    errors = {str(k): str(v) for k, v in raw_errors.items()} if isinstance(raw_errors, dict) else {}
    messages = [str(m) for m in raw_messages] if isinstance(raw_messages, list) else []
    return errors, messages


def _errors(client: JiraClient, *, write: bool = True, transition: bool = False) -> ErrorMap:
    """403 → JiraForbidden; on writes a 400 → FieldErrors (or TransitionUnavailable for a transition)."""

    def mapped(status: int, body: Any) -> AgentPMError | None:
        if status == 403:
            return JiraForbidden(None if client.config.personal else SERVICE_FORBIDDEN)
        if status == 400 and write:
            errors, messages = _field_errors(body)
            if transition and not errors:
                return TransitionUnavailable()
            return FieldErrors(errors, messages)
        return None

    return mapped


def _summary(raw: dict[str, Any], base_url: str, cloud: bool) -> IssueSummary:
    fields = raw.get("fields") or {}
    status = fields.get("status") or {}
    assignee = fields.get("assignee") or {}
    key = str(raw["key"])
    assignee_id = assignee.get("accountId") if cloud else assignee.get("name")
    return IssueSummary(
        key=key,
        id=str(raw.get("id", "")),
        url=f"{base_url.rstrip('/')}/browse/{key}",
        summary=str(fields.get("summary") or ""),
        status=str(status.get("name") or ""),
        status_category=(status.get("statusCategory") or {}).get("key"),
        assignee=assignee.get("displayName"),
        assignee_id=str(assignee_id) if assignee_id else None,
        priority=(fields.get("priority") or {}).get("name"),
        updated=parse_jira_time(fields.get("updated")),
        project=str((fields.get("project") or {}).get("key") or key.rsplit("-", 1)[0]),
        issue_type=(fields.get("issuetype") or {}).get("name"),
    )


def _name(value: Any) -> str:
    return str(value.get("name") or "") if isinstance(value, dict) else ""


def _user(raw: dict[str, Any], cloud: bool) -> JiraUser:
    account = raw.get("accountId") if cloud else raw.get("name")
    return JiraUser(
        account_id=str(account or raw.get("key") or ""),
        display_name=str(raw.get("displayName") or account or ""),
        email=str(raw["emailAddress"]) if raw.get("emailAddress") else None,
    )


# --- issues -------------------------------------------------------------------------------------------------


async def create_issue(client: JiraClient, new: NewIssue) -> IssueSummary:
    """Create the issue, then read it back (the create answer holds only its id and key)."""
    cloud = await client.deployment() == "cloud"
    fields: dict[str, Any] = {
        "project": {"key": new.project},
        "issuetype": {"id": new.issue_type_id},
        "summary": new.summary,
    }
    description = with_note(new.description, created_note(new.on_behalf_of))
    if description.strip():
        fields["description"] = _body(description, cloud)
    if new.priority_id:
        fields["priority"] = {"id": new.priority_id}
    if new.assignee:
        fields["assignee"] = {"accountId": new.assignee} if cloud else {"name": new.assignee}
    created = await client.request(
        "POST", f"{await _api(client)}/issue", json={"fields": fields}, errors=_errors(client)
    )
    key = issue_key(str(created["key"]))
    log.info("jira.issue_created", key=key, personal=client.config.personal)
    return await get_issue(client, key)


async def get_issue(client: JiraClient, key: str) -> IssueSummary:
    raw = await client.request(
        "GET",
        f"{await _api(client)}/issue/{issue_key(key)}",
        params={"fields": SUMMARY_FIELDS},
        errors=_errors(client, write=False),
    )
    return _summary(raw, client.config.base_url, await client.deployment() == "cloud")


async def list_transitions(client: JiraClient, key: str) -> list[Transition]:
    """The transitions the acting account may make now, in Jira's order."""
    data = await client.request(
        "GET", f"{await _api(client)}/issue/{issue_key(key)}/transitions", errors=_errors(client, write=False)
    )
    transitions = [t for t in data.get("transitions") or [] if isinstance(t, dict) and "id" in t]
    return [
        Transition(id=str(t["id"]), name=str(t.get("name") or ""), to_status=_name(t.get("to")))
        for t in transitions
    ]


async def transition_issue(
    client: JiraClient, key: str, transition_id: str, *, on_behalf_of: str | None = None
) -> None:
    """Make the transition; with ``on_behalf_of`` (the service account acts), a comment says for whom."""
    key = issue_key(key)
    if not transition_id.isdigit():
        raise TransitionUnavailable()
    await client.request(
        "POST",
        f"{await _api(client)}/issue/{key}/transitions",
        json={"transition": {"id": transition_id}},
        errors=_errors(client, transition=True),
    )
    await _note(client, key, on_behalf_of, "Status changed from Slack on behalf of {who}.")


async def assign_issue(
    client: JiraClient, key: str, assignee: str | None, *, on_behalf_of: str | None = None
) -> None:
    """Assign to ``assignee`` (Cloud accountId, Data Center username), or unassign with None."""
    key = issue_key(key)
    cloud = await client.deployment() == "cloud"
    body = {"accountId": assignee} if cloud else {"name": assignee}
    await client.request(
        "PUT", f"{await _api(client)}/issue/{key}/assignee", json=body, errors=_errors(client)
    )
    done = "Assigned" if assignee else "Unassigned"
    await _note(client, key, on_behalf_of, done + " from Slack on behalf of {who}.")


async def add_comment(client: JiraClient, key: str, text: str, on_behalf_of: str | None = None) -> None:
    if not text.strip():
        raise InvalidInput("A comment needs some text.")
    if len(text) > BODY_LIMIT:
        raise InvalidInput(f"A comment can be at most {BODY_LIMIT:,} characters.")
    note = f"Posted from Slack on behalf of {on_behalf_of}." if on_behalf_of else None
    await _comment(client, issue_key(key), with_note(text, note))


async def _comment(client: JiraClient, key: str, text: str) -> None:
    cloud = await client.deployment() == "cloud"
    await client.request(
        "POST",
        f"{await _api(client)}/issue/{key}/comment",
        json={"body": _body(text, cloud)},
        errors=_errors(client),
    )


async def _note(client: JiraClient, key: str, on_behalf_of: str | None, template: str) -> None:
    """The comment saying for whom the service account acted; the action is done, so a failure is logged."""
    if not on_behalf_of:
        return
    try:
        await _comment(client, key, template.format(who=on_behalf_of))
    except AgentPMError as exc:
        log.warning("jira.behalf_note_failed", key=key, error=type(exc).__name__)


# --- people -------------------------------------------------------------------------------------------------


async def myself(client: JiraClient) -> JiraUser:
    data = await client.request("GET", f"{await _api(client)}/myself", errors=_errors(client, write=False))
    return _user(data, await client.deployment() == "cloud")


async def assignable_users(client: JiraClient, project: str, query: str, limit: int = 20) -> list[JiraUser]:
    """People who may be assigned issues in ``project`` whose name, email or username matches ``query``."""
    cloud = await client.deployment() == "cloud"
    params: dict[str, Any] = {
        "project": valid_project_key(project),
        "query" if cloud else "username": query.strip()[:100],
        "maxResults": max(1, min(limit, 50)),
    }
    path = f"{await _api(client)}/user/assignable/search"
    data = await client.request("GET", path, params=params, errors=_errors(client, write=False))
    users = [_user(u, cloud) for u in data or [] if isinstance(u, dict) and u.get("active", True)]
    return [u for u in users if u.account_id][:limit]


# --- storing what changed -----------------------------------------------------------------------------------


async def store_issue(db: Database, client: JiraClient, key: str, site_url: str) -> None:
    """Fetch the issue as the sync would and store it, so search finds a new or changed issue at once.

    Its document is marked unindexed when its content changed, so the next index job embeds it.
    """
    raw = await client.request(
        "GET",
        f"{await _api(client)}/issue/{issue_key(key)}",
        params={"fields": ",".join(FIELDS)},
        errors=_errors(client, write=False),
    )
    await asyncio.to_thread(_store, db, raw, site_url)


def _store(db: Database, raw: dict[str, Any], site_url: str) -> None:
    with db.session() as session:
        _ensure_project(session, raw, site_url)
        upsert_issues(session, [raw], site_url)


def _ensure_project(session: Session, raw: dict[str, Any], site_url: str) -> None:
    project = (raw.get("fields") or {}).get("project") or {}
    key = str(project.get("key") or str(raw["key"]).rsplit("-", 1)[0])
    if session.get(Project, key) is None:
        name = str(project.get("name") or key)
        session.add(Project(key=key, name=name, url=f"{site_url.rstrip('/')}/browse/{key}"))
        session.flush()
