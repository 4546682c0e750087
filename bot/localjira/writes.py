"""LocalJira's writes and the metadata behind them: create, comment, createmeta issue types, priorities.

Creating validates like Jira does and answers a 400 ``{"errorMessages": [], "errors": {field: message}}``
with every problem at once. Bodies follow the flavour: v3 takes ADF (stored as the wiki markup a v2 read
shows), v2 takes wiki markup. Every write bumps ``updated``, so an incremental sync sees it.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.localjira.common import JsonDict, _bad_request, _Call, _jira_time, _JiraError, _Reply
from bot.localjira.formats import _int_param, adf_problem, adf_to_wiki, wiki_to_adf
from bot.localjira.workflow import status_json

if TYPE_CHECKING:
    from bot.localjira.common import Flavour
    from bot.localjira.people import _User

Handlers = dict[str, Callable[[_Call], Any]]


@dataclass(frozen=True)
class IssueType:
    id: str
    name: str
    subtask: bool = False


CLOUD_TYPES = (
    IssueType("10001", "Task"), IssueType("10002", "Bug"), IssueType("10003", "Story"),
    IssueType("10000", "Epic"), IssueType("10004", "Subtask", subtask=True),
)  # fmt: skip
DC_TYPES = (
    IssueType("3", "Task"), IssueType("1", "Bug"), IssueType("10001", "Story"), IssueType("10000", "Epic"),
    IssueType("5", "Sub-task", subtask=True),
)  # fmt: skip
PRIORITIES = (("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest"))
DEFAULT_PRIORITY = "3"
SUMMARY_LIMIT = 255
_SETTABLE = frozenset(
    {"project", "issuetype", "summary", "description", "priority", "assignee", "labels", "parent"}
)
_ITEM = re.compile(r"issue/([^/]+)/(transitions|assignee|comment)")
_CREATEMETA = re.compile(r"issue/createmeta/([^/]+)/issuetypes")
_NOT_SETTABLE = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."


class WritesMixin:
    if TYPE_CHECKING:
        flavour: Flavour
        _lock: threading.RLock
        _issues: dict[str, JsonDict]
        _projects: dict[str, Any]
        _index: dict[str, Any]
        _by_id: dict[str, str]

        @property
        def base_url(self) -> str: ...
        def upsert(self, issue: JsonDict) -> None: ...
        def touch(self, key: str, updated: datetime | str | None = None, **field_changes: Any) -> None: ...
        def _lookup(self, id_or_key: str) -> str | None: ...
        def _caller(self, call: _Call) -> JsonDict: ...
        def _caller_user(self, call: _Call) -> _User: ...
        def _may(self, call: _Call, action: str) -> bool: ...
        def _require(self, call: _Call, action: str, message: str) -> None: ...
        def _existing(self, call: _Call, id_or_key: str) -> str: ...
        def _assignable(self, reference: Any, field: str = "assignee") -> JsonDict | None: ...
        def _assignee(self, call: _Call, id_or_key: str) -> _Reply: ...
        def _assignable_search(self, call: _Call) -> list[JsonDict]: ...
        def _transitions(self, call: _Call, id_or_key: str) -> Any: ...

    _issue_types: dict[str, tuple[IssueType, ...]]
    _numbers: dict[str, int]
    _ids: itertools.count[int]
    _comment_ids: itertools.count[int]

    def _init_writes(self) -> None:
        self._issue_types = {}
        self._numbers = {}
        self._ids = itertools.count(max((int(i) for i in self._by_id if i.isdigit()), default=10000) + 1)
        self._comment_ids = itertools.count(10000)

    def set_issue_types(self, project: str, types: list[IssueType]) -> None:
        """The issue types ``project`` offers (default: Task, Bug, Story, Epic and a subtask type)."""
        with self._lock:
            self._issue_types[project] = tuple(types)

    def _types(self, project: str) -> tuple[IssueType, ...]:
        return self._issue_types.get(project) or (CLOUD_TYPES if self.flavour == "cloud" else DC_TYPES)

    # -- routing ---------------------------------------------------------------------------------

    def _write_routes(self) -> dict[str, Handlers]:
        return {
            "issue": {"POST": self._create_issue},
            "priority": {"GET": self._priorities},
            "user/assignable/search": {"GET": self._assignable_search},
        }

    def _item_routes(self, rest: str) -> Handlers | None:
        """Routes with an issue or project in the path."""
        meta = _CREATEMETA.fullmatch(rest)
        if meta:
            return {"GET": lambda call: self._createmeta(call, meta.group(1))}
        item = _ITEM.fullmatch(rest)
        if item is None:
            return None
        key, what = item.group(1), item.group(2)
        if what == "transitions":
            return {m: lambda call: self._transitions(call, key) for m in ("GET", "POST")}
        if what == "assignee":
            return {"PUT": lambda call: self._assignee(call, key)}
        return {m: lambda call: self._comment(call, key) for m in ("GET", "POST")}

    # -- metadata --------------------------------------------------------------------------------

    def _project_of(self, reference: Any) -> Any:
        if isinstance(reference, dict):
            key, project_id = reference.get("key"), reference.get("id")
        else:
            key, project_id = reference, reference
        if isinstance(key, str) and key.upper() in self._projects:
            return self._projects[key.upper()]
        return next((p for p in self._projects.values() if p.id == str(project_id)), None)

    def _type_json(self, issue_type: IssueType) -> JsonDict:
        cloud = self.flavour == "cloud"
        found: JsonDict = {
            "self": f"{self.base_url}/rest/api/{3 if cloud else 2}/issuetype/{issue_type.id}",
            "id": issue_type.id, "description": "", "name": issue_type.name, "subtask": issue_type.subtask,
            "iconUrl": f"{self.base_url}/images/icons/issuetypes/{issue_type.name.lower()}.svg",
        }  # fmt: skip
        if cloud:
            found |= {"untranslatedName": issue_type.name, "hierarchyLevel": -1 if issue_type.subtask else 0}
        return found

    def _createmeta(self, call: _Call, reference: str) -> JsonDict:
        with self._lock:
            project = self._project_of(reference)
            if project is None:
                raise _JiraError(404, f"No project could be found with key '{reference}'.")
            # Jira returns no data, not an error, to someone who may not create issues there.
            types = self._types(project.key) if self._may(call, "create") else ()
        start = max(0, _int_param(call.query.get("startAt"), "startAt", 0))
        size = min(max(1, _int_param(call.query.get("maxResults"), "maxResults", 50)), 200)
        values = [self._type_json(t) for t in types[start : start + size]]
        if self.flavour == "cloud":
            return {"issueTypes": values, "maxResults": size, "startAt": start, "total": len(types)}
        last = start + size >= len(types)
        return {"maxResults": size, "startAt": start, "total": len(types), "isLast": last, "values": values}

    def _priority_json(self, priority_id: str) -> JsonDict:
        name = dict(PRIORITIES)[priority_id]
        return {
            "self": f"{self.base_url}/rest/api/2/priority/{priority_id}", "statusColor": "#8a8a8a",
            "description": f"{name} priority", "name": name, "id": priority_id,
            "iconUrl": f"{self.base_url}/images/icons/priorities/{name.lower()}.svg",
        }  # fmt: skip

    def _priorities(self, call: _Call) -> list[JsonDict]:
        return [self._priority_json(priority_id) for priority_id, _ in PRIORITIES]

    # -- create ----------------------------------------------------------------------------------

    def _create_issue(self, call: _Call) -> _Reply:
        fields = call.body.get("fields") if isinstance(call.body, dict) else None
        if not isinstance(fields, dict):
            raise _bad_request("The request body must be a JSON object with 'fields'.")
        with self._lock:
            errors = {name: _NOT_SETTABLE.format(name) for name in sorted(set(fields) - _SETTABLE)}
            project = self._project_of(fields.get("project"))
            if project is None:
                errors["project"] = "Specify a valid project ID or key"
            else:
                self._require(call, "create", "You do not have permission to create issues in this project.")
            issue_type = self._issue_type(fields, project, errors)
            summary = _summary(fields.get("summary"), errors)
            description = self._description(call, fields.get("description"), errors)
            priority = self._priority(fields.get("priority"), errors)
            try:
                assignee = self._assignable(fields.get("assignee"))
            except _JiraError as exc:
                errors.update(exc.fields or {"assignee": "; ".join(exc.messages)})
                assignee = None
            labels = fields.get("labels", [])
            if not isinstance(labels, list) or not all(isinstance(x, str) and " " not in x for x in labels):
                errors["labels"] = "Labels must be a list of strings without spaces."
            if errors:
                raise _JiraError(400, fields=errors)
            key = f"{project.key}-{self._next_number(project.key)}"
            issue_id = str(next(self._ids))
            now = _jira_time(datetime.now(UTC))
            reporter = self._caller(call)
            self.upsert({"id": issue_id, "key": key, "fields": {
                "summary": summary, "description": description, "issuetype": self._type_json(issue_type),
                "project": {"id": project.id, "key": project.key, "name": project.name},
                "status": status_json(self.base_url, "To Do"), "priority": priority, "assignee": assignee,
                "reporter": reporter, "creator": reporter, "created": now, "updated": now, "labels": labels,
                "components": [], "resolution": None, "resolutiondate": None,
                "comment": {"comments": [], "maxResults": 0, "total": 0, "startAt": 0},
            }})  # fmt: skip
        self_url = f"{self.base_url}/rest/api/{call.version}/issue/{issue_id}"
        return _Reply(201, {"id": issue_id, "key": key, "self": self_url})

    def _issue_type(self, fields: JsonDict, project: Any, errors: dict[str, str]) -> IssueType:
        reference = fields.get("issuetype")
        if not isinstance(reference, dict) or not (reference.get("id") or reference.get("name")):
            errors["issuetype"] = "Specify an issue type"
            return CLOUD_TYPES[0]
        types = self._types(project.key) if project is not None else ()
        found = next(
            (t for t in types if t.id == str(reference.get("id")) or t.name == reference.get("name")), None
        )
        if found is None:
            if project is not None:
                errors["issuetype"] = "The issue type selected is invalid."
            return CLOUD_TYPES[0]
        if found.subtask and self._lookup(str((fields.get("parent") or {}).get("key", ""))) is None:
            errors["parent"] = "Issue type is a sub-task but parent issue key or id not specified."
        return found

    def _description(self, call: _Call, value: Any, errors: dict[str, str]) -> str | None:
        if value is None:
            return None
        if call.version == "3":
            problem = adf_problem(value)
            if problem:
                errors["description"] = problem
                return None
            return adf_to_wiki(value) or None
        if not isinstance(value, str):
            errors["description"] = "Operation value must be a string"
            return None
        return value or None

    def _priority(self, reference: Any, errors: dict[str, str]) -> JsonDict | None:
        if reference is None:
            return self._priority_json(DEFAULT_PRIORITY)
        names = {name: priority_id for priority_id, name in PRIORITIES}
        wanted = None
        if isinstance(reference, dict):
            wanted = reference.get("id") or names.get(str(reference.get("name")))
        if str(wanted) not in dict(PRIORITIES):
            errors["priority"] = "The priority selected is invalid."
            return None
        return self._priority_json(str(wanted))

    def _next_number(self, project: str) -> int:
        index = self._index.get(project)
        highest = index.by_number[-1][0] if index is not None and index.by_number else 0
        self._numbers[project] = max(highest, self._numbers.get(project, 0)) + 1
        return self._numbers[project]

    # -- comments --------------------------------------------------------------------------------

    def _comment(self, call: _Call, id_or_key: str) -> Any:
        v3 = call.version == "3"
        with self._lock:
            key = self._existing(call, id_or_key)
            existing = self._issues[key]["fields"].get("comment") or {}
            comments = list(existing.get("comments") or [])
            if call.method == "GET":
                shown = [_render_comment(c, v3) for c in comments]
                return {"comments": shown, "maxResults": len(shown), "total": len(shown), "startAt": 0}
            self._require(call, "comment", "You do not have permission to comment on this issue.")
            body = call.body.get("body") if isinstance(call.body, dict) else None
            if v3:
                problem = adf_problem(body)
                if problem or not isinstance(body, dict):
                    raise _JiraError(400, fields={"comment": problem or "Comment body must be a document"})
                text = adf_to_wiki(body)
            elif isinstance(body, str):
                text = body
            else:
                raise _JiraError(400, fields={"comment": "Operation value must be a string"})
            if not text.strip():
                raise _JiraError(400, fields={"comment": "Comment body can not be empty!"})
            now, author = _jira_time(datetime.now(UTC)), self._caller(call)
            comment_id = str(next(self._comment_ids))
            comment = {
                "self": f"{self.base_url}/rest/api/2/issue/{self._issues[key]['id']}/comment/{comment_id}",
                "id": comment_id, "author": author, "updateAuthor": author, "body": text,
                "created": now, "updated": now,
            }  # fmt: skip
            comments.append(comment)
            total = len(comments)
            self.touch(key, comment={"comments": comments, "maxResults": total, "total": total, "startAt": 0})
        return _Reply(201, _render_comment(comment, v3))


def _render_comment(comment: JsonDict, v3: bool) -> JsonDict:
    return {**comment, "body": wiki_to_adf(comment["body"])} if v3 else comment


def _summary(value: Any, errors: dict[str, str]) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        errors["summary"] = "You must specify a summary of the issue."
    elif not isinstance(value, str):
        errors["summary"] = "Operation value must be a string"
    elif len(value) > SUMMARY_LIMIT:
        errors["summary"] = "Summary must be less than 255 characters."
    elif "\n" in value or "\r" in value:
        errors["summary"] = "The summary is invalid because it contains newline characters."
    else:
        return value
    return ""
