"""LocalJira's people: the user directory, per-account permissions, assigning, the assignable-user search.

Users are the accounts LocalJira authenticates, the assignees and reporters of its issues and anyone added
with ``add_user``. A user's id is what that flavour assigns by: a Cloud ``accountId``, a Data Center username
(``name``), and each flavour refuses the other's (Cloud is in GDPR strict mode). ``forbid`` takes away one
action from an account, named by its ``Authorization`` header or its id: the endpoint then answers 403 with
Jira's wording, except browsing, which Jira answers with a 404 so as not to reveal the issue.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from bot.localjira.common import JsonDict, _bad_request, _Call, _JiraError, _Reply
from bot.localjira.formats import _int_param

if TYPE_CHECKING:
    from datetime import datetime

    from bot.localjira.common import Flavour

Action = Literal["browse", "create", "edit", "assign", "transition", "comment"]
ACTIONS: tuple[str, ...] = ("browse", "create", "edit", "assign", "transition", "comment")
_HIDDEN = "Issue does not exist or you do not have permission to see it."


@dataclass
class _User:
    id: str  # accountId (Cloud) or username (Data Center)
    display_name: str
    email: str | None = None
    active: bool = True
    key: str | None = None  # Data Center's user key (JIRAUSER10000)


class PeopleMixin:
    if TYPE_CHECKING:
        flavour: Flavour
        _lock: threading.RLock
        _issues: dict[str, JsonDict]
        _accounts: dict[str, JsonDict] | None
        _projects: dict[str, Any]

        @property
        def base_url(self) -> str: ...
        def _lookup(self, id_or_key: str) -> str | None: ...
        def _myself(self, call: _Call) -> JsonDict: ...
        def touch(self, key: str, updated: datetime | str | None = None, **field_changes: Any) -> None: ...

    _users: dict[str, _User]
    _forbidden: set[tuple[str, str]]

    def _init_people(self) -> None:
        self._users = {}
        self._forbidden = set()
        service = self._myself(_Call("GET", "2", "myself", _no_query(), None, None))
        for account in [*(self._accounts or {}).values(), service]:  # configured accounts win
            self._remember(account)
        for issue in self._issues.values():
            for name in ("assignee", "reporter"):
                self._remember(issue["fields"].get(name))

    def _remember(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            return
        user_id = raw.get("accountId") if self.flavour == "cloud" else raw.get("name")
        if isinstance(user_id, str) and user_id and user_id not in self._users:
            self._users[user_id] = _User(
                user_id, str(raw.get("displayName") or user_id), raw.get("emailAddress"),
                bool(raw.get("active", True)), raw.get("key"),
            )  # fmt: skip

    # -- test controls ---------------------------------------------------------------------------

    def add_user(
        self, user_id: str, display_name: str, email: str | None = None, *, active: bool = True
    ) -> None:
        """A person one can assign issues to: ``user_id`` is a Cloud accountId or a Data Center username."""
        with self._lock:
            self._users[user_id] = _User(user_id, display_name, email, active)

    def forbid(self, account: str, action: Action) -> None:
        """Take ``action`` away from ``account`` (an ``Authorization`` header value or an account id)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; one of {ACTIONS}")
        with self._lock:
            self._forbidden.add((account, action))

    def allow(self, account: str, action: Action) -> None:
        with self._lock:
            self._forbidden.discard((account, action))

    # -- what handlers use -----------------------------------------------------------------------

    def _caller(self, call: _Call) -> JsonDict:
        return self._user_json(self._caller_user(call))

    def _caller_user(self, call: _Call) -> _User:
        account = self._myself(call)
        user_id = account.get("accountId") if self.flavour == "cloud" else account.get("name")
        user_id = str(user_id or account.get("key") or account.get("displayName") or "anonymous")
        if user_id not in self._users:
            self._remember({**account, "accountId": user_id, "name": user_id})
        return self._users[user_id]

    def _may(self, call: _Call, action: str) -> bool:
        names = {call.auth or "", self._caller_user(call).id}
        return not any((name, action) in self._forbidden for name in names)

    def _require(self, call: _Call, action: str, message: str) -> None:
        if not self._may(call, action):
            raise _JiraError(403, message)

    def _existing(self, call: _Call, id_or_key: str) -> str:
        """The current key of an issue the caller may browse, else Jira's 404."""
        key = self._lookup(id_or_key)
        if key is None or not self._may(call, "browse"):
            raise _JiraError(404, _HIDDEN)
        return key

    def _user_json(self, user: _User) -> JsonDict:
        if self.flavour == "cloud":
            return {
                "self": f"{self.base_url}/rest/api/3/user?accountId={user.id}", "accountId": user.id,
                "accountType": "atlassian", "emailAddress": user.email, "displayName": user.display_name,
                "active": user.active, "timeZone": "UTC",
            }  # fmt: skip
        return {
            "self": f"{self.base_url}/rest/api/2/user?username={user.id}", "key": user.key or user.id,
            "name": user.id, "emailAddress": user.email, "displayName": user.display_name,
            "active": user.active,
        }  # fmt: skip

    def _assignable(self, reference: Any, field: str = "assignee") -> JsonDict | None:
        """The user JSON for an assignee reference (``{"accountId"}`` or ``{"name"}``), None to unassign."""
        if reference is None:
            return None
        wanted = "accountId" if self.flavour == "cloud" else "name"
        if not isinstance(reference, dict) or set(reference) - {wanted, "id", "key", "self"}:
            if self.flavour == "cloud" and isinstance(reference, dict) and "name" in reference:
                raise _JiraError(
                    400, "'accountId' must be the only user identifying query parameter in GDPR strict mode."
                )
            raise _JiraError(400, fields={field: f"Specify the user by '{wanted}'."})
        user_id = reference.get(wanted)
        if user_id in (None, "-1"):
            return None
        user = self._users.get(str(user_id))
        if user is None or not user.active:
            raise _JiraError(400, fields={field: f"User '{user_id}' cannot be assigned issues."})
        return self._user_json(user)

    # -- endpoints -------------------------------------------------------------------------------

    def _assignee(self, call: _Call, id_or_key: str) -> _Reply:
        with self._lock:
            key = self._existing(call, id_or_key)
            self._require(call, "assign", "You do not have permission to assign issues.")
            if not isinstance(call.body, dict):
                raise _bad_request("The request body must be a JSON object.")
            self.touch(key, assignee=self._assignable(call.body))
        return _Reply(204)

    def _assignable_search(self, call: _Call) -> list[JsonDict]:
        project, issue = call.query.get("project"), call.query.get("issueKey")
        if not project and not issue:
            raise _bad_request("The project or issue key parameter is required.")
        if project and project.upper() not in self._projects:
            raise _JiraError(404, f"No project could be found with key '{project}'.")
        if issue and self._lookup(issue) is None:
            raise _JiraError(404, _HIDDEN)
        if self.flavour == "cloud" and "username" in call.query:
            raise _bad_request("The username query parameter is not supported in GDPR strict mode.")
        text = (call.query.get("query" if self.flavour == "cloud" else "username") or "").lower()
        size = min(max(_int_param(call.query.get("maxResults"), "maxResults", 50), 0), 1000)
        with self._lock:
            found = [
                u for u in sorted(self._users.values(), key=lambda u: u.display_name.lower())
                if u.active and any(text in (v or "").lower() for v in (u.id, u.display_name, u.email))
            ]  # fmt: skip
            return [self._user_json(u) for u in found[:size]]


def _no_query() -> Any:
    from multidict import MultiDict

    return MultiDict()
