"""LocalJira's workflow: a small Jira-like set of statuses and the transitions between them.

To Do → In Progress → In Review → Done, with Blocked beside In Progress and Done → Reopened or To Do. Issues
whose status the workflow does not know (imported data says "Open", "Resolved"…) move like To Do, or like
Done when their status category is done. Like Jira, GET transitions lists only what the caller may do now
and POSTing any other id is a 400; reaching Done sets a resolution, leaving it clears it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.localjira.common import JsonDict, _bad_request, _Call, _jira_time, _JiraError, _Reply

if TYPE_CHECKING:
    from collections.abc import Mapping

    from bot.localjira.common import Flavour

_CATEGORIES: dict[str, JsonDict] = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow", "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
STATUSES: dict[str, tuple[str, str]] = {  # name -> (id, category)
    "To Do": ("10000", "new"),
    "In Progress": ("3", "indeterminate"),
    "In Review": ("10001", "indeterminate"),
    "Blocked": ("10002", "indeterminate"),
    "Done": ("10003", "done"),
    "Reopened": ("4", "new"),
}
TRANSITIONS: dict[str, tuple[str, str]] = {  # id -> (name, target status)
    "11": ("To Do", "To Do"),
    "21": ("Start Progress", "In Progress"),
    "31": ("Done", "Done"),
    "41": ("Review", "In Review"),
    "51": ("Block", "Blocked"),
    "61": ("Reopen", "Reopened"),
}
_FROM: dict[str, tuple[str, ...]] = {  # status -> transition ids, in the order Jira lists them
    "To Do": ("21", "31"),
    "Reopened": ("21", "31"),
    "In Progress": ("11", "41", "51", "31"),
    "In Review": ("21", "31"),
    "Blocked": ("21", "11"),
    "Done": ("61", "11"),
}


def status_json(base_url: str, name: str) -> JsonDict:
    status_id, category = STATUSES.get(name, ("1", "new"))
    return {
        "self": f"{base_url}/rest/api/2/status/{status_id}",
        "description": "",
        "iconUrl": f"{base_url}/images/icons/statuses/generic.png",
        "name": name,
        "id": status_id,
        "statusCategory": {"self": f"{base_url}/rest/api/2/statuscategory/{_CATEGORIES[category]['id']}"}
        | _CATEGORIES[category],
    }


def available(status: Any) -> tuple[str, ...]:
    """Transition ids out of an issue's ``status`` field."""
    name = status.get("name") if isinstance(status, dict) else None
    if name in _FROM:
        return _FROM[str(name)]
    category = (status.get("statusCategory") or {}).get("key") if isinstance(status, dict) else None
    return _FROM["Done"] if category == "done" else _FROM["To Do"]


class WorkflowMixin:
    """GET/POST ``issue/{key}/transitions`` for LocalJira."""

    if TYPE_CHECKING:
        flavour: Flavour
        _lock: threading.RLock
        _issues: dict[str, JsonDict]

        @property
        def base_url(self) -> str: ...
        def _lookup(self, id_or_key: str) -> str | None: ...
        def touch(self, key: str, updated: datetime | str | None = None, **field_changes: Any) -> None: ...
        def _may(self, call: _Call, action: str) -> bool: ...
        def _require(self, call: _Call, action: str, message: str) -> None: ...
        def _existing(self, call: _Call, id_or_key: str) -> str: ...

    def _transitions(self, call: _Call, id_or_key: str) -> Any:
        with self._lock:
            key = self._existing(call, id_or_key)
            status = self._issues[key]["fields"].get("status")
            if call.method == "GET":
                allowed = available(status) if self._may(call, "transition") else ()
                return {"expand": "transitions", "transitions": [self._transition_json(t) for t in allowed]}
            self._require(call, "transition", "You do not have permission to transition this issue.")
            wanted = call.body.get("transition") if isinstance(call.body, dict) else None
            transition_id = wanted.get("id") if isinstance(wanted, dict) else None
            if transition_id is None:
                raise _bad_request("Missing 'transition' identifier")
            if str(transition_id) not in available(status):
                raise _JiraError(400, f"Transition id '{transition_id}' is not valid for this issue.")
            self.touch(key, **self._entering(TRANSITIONS[str(transition_id)][1], status))
        return _Reply(204)

    def _transition_json(self, transition_id: str) -> JsonDict:
        name, target = TRANSITIONS[transition_id]
        return {
            "id": transition_id,
            "name": name,
            "to": status_json(self.base_url, target),
            "hasScreen": False,
            "isGlobal": False,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "isLooped": False,
        }

    def _entering(self, target: str, current: Mapping[str, Any] | None) -> JsonDict:
        """The field changes of moving into ``target``: Done resolves the issue, leaving Done reopens it."""
        changes: JsonDict = {"status": status_json(self.base_url, target)}
        was_done = ((current or {}).get("statusCategory") or {}).get("key") == "done"
        if STATUSES[target][1] == "done":
            changes["resolution"] = {"id": "10000", "name": "Done", "description": "Work has been completed."}
            changes["resolutiondate"] = _jira_time(datetime.now(UTC))
        elif was_done:
            changes["resolution"] = None
            changes["resolutiondate"] = None
        return changes
