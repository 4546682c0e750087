"""The LocalJira server: issues in memory, indexed for paging, answering the Jira REST API."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import itertools
import json
import re
import threading
from bisect import bisect_left, insort
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from aiohttp import web

from bot.localjira.common import (
    _BULKFETCH_CAP,
    _CACHE_SIZE,
    _DC_SEARCH_BODY,
    _DEFAULT_PAGE,
    _GONE,
    _KEY_RE,
    _PROJECT_PAGE_CAP,
    Flavour,
    JiraRequest,
    JsonDict,
    _bad_request,
    _Call,
    _epoch_ms,
    _Failure,
    _jira_time,
    _JiraError,
    _Reply,
)
from bot.localjira.formats import _FieldSelection, _int_param, _strict, _v3_fields
from bot.localjira.jql import _Jql, _JqlParser, _Query
from bot.localjira.people import PeopleMixin
from bot.localjira.workflow import WorkflowMixin
from bot.localjira.writes import WritesMixin
from bot.localserver import LocalServer

# -- the server --------------------------------------------------------------------------------------


@dataclass
class _Project:
    id: str
    key: str
    name: str


@dataclass
class _Index:
    """Per-project order structures, kept sorted on every mutation so a page is a bisect and a slice."""

    by_updated: list[tuple[int, int, str]] = field(default_factory=list)  # (updated ms, number, key)
    by_number: list[tuple[int, str]] = field(default_factory=list)


class LocalJira(WritesMixin, PeopleMixin, WorkflowMixin, LocalServer):
    """A Jira REST emulation that records every request and can inject failures.

    ``accounts`` maps exact ``Authorization`` header values to the account ``/myself`` returns; ``None``
    accepts any request. ``latency`` seconds are slept before each answer (benchmarks use 0.02). Creating,
    assigning, commenting and transitioning live in the mixins (writes, people, workflow).
    """

    def __init__(
        self,
        issues: Iterable[JsonDict] = (),
        *,
        flavour: Flavour = "cloud",
        latency: float = 0.0,
        accounts: dict[str, JsonDict] | None = None,
        max_results: int = 100,
    ) -> None:
        if flavour not in ("cloud", "datacenter"):
            raise ValueError(f"unknown flavour {flavour!r}")
        self.flavour: Flavour = flavour
        self.latency = latency
        self.max_results = max_results
        self._accounts = dict(accounts) if accounts is not None else None
        self._lock = threading.RLock()  # state may be touched from another thread (``agentpm try``)
        self._issues: dict[str, JsonDict] = {}
        self._meta: dict[str, tuple[str, int, int]] = {}  # key -> (project key, number, updated ms)
        self._by_id: dict[str, str] = {}
        self._moved: dict[str, str] = {}  # old key -> current key, as Jira resolves moved keys
        self._projects: dict[str, _Project] = {}
        self._index: dict[str, _Index] = {}
        self._v3_cache: dict[str, JsonDict] = {}
        self._results: OrderedDict[tuple[_Query, int], list[str]] = OrderedDict()
        self._version = 0  # bumped on every mutation; invalidates cached query results
        self._project_ids = itertools.count(10000)
        self._failures: list[_Failure] = []
        self._requests: list[JiraRequest] = []
        self._routes = self._route_table()
        for issue in issues:
            self._store(issue, sort=False)
        for index in self._index.values():
            index.by_updated.sort()
            index.by_number.sort()
        self._init_people()
        self._init_writes()

    # -- lifecycle -------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._handle)

    # -- data and mutations ----------------------------------------------------------------------

    @property
    def issues(self) -> Mapping[str, JsonDict]:
        """Current issues by key (read-only view; mutate through upsert/touch/delete/move)."""
        return MappingProxyType(self._issues)

    def upsert(self, issue: JsonDict) -> None:
        """Insert an issue (REST v2 shape) or replace the one with the same key."""
        with self._lock:
            self._store(issue, sort=True)
            self._version += 1

    def touch(self, key: str, updated: datetime | str | None = None, **field_changes: Any) -> None:
        """Set fields and bump ``updated`` (default: now), like an edit in Jira."""
        with self._lock:
            current = self._issues[key]
            stamp = updated if isinstance(updated, str) else _jira_time(updated or datetime.now(UTC))
            fields = {**current["fields"], **field_changes, "updated": stamp}
            self._store({**current, "fields": fields}, sort=True)
            self._version += 1

    def delete(self, key: str) -> None:
        with self._lock:
            if key not in self._issues:
                raise KeyError(key)
            self._unstore(key)
            self._moved = {old: new for old, new in self._moved.items() if new != key}
            self._version += 1

    def move(self, key: str, new_key: str, new_project_key: str) -> None:
        """Move an issue to another project: the old key disappears, the id stays, ``updated`` bumps.

        Like Jira, JQL ``key in (...)`` and issue lookups still resolve the old key to the moved issue.
        """
        match = _KEY_RE.match(new_key)
        if match is None or match.group(1) != new_project_key:
            raise ValueError(f"{new_key!r} is not a key in project {new_project_key!r}")
        with self._lock:
            current = self._issues[key]
            if new_key in self._issues:
                raise ValueError(f"{new_key} already exists")
            known = self._projects.get(new_project_key)
            project = {"key": new_project_key, "name": known.name if known else new_project_key}
            if known:
                project["id"] = known.id
            fields = {**current["fields"], "project": project, "updated": _jira_time(datetime.now(UTC))}
            self._unstore(key)
            self._store({**current, "key": new_key, "fields": fields}, sort=True)
            self._moved = {old: (new_key if new == key else new) for old, new in self._moved.items()}
            self._moved[key] = new_key
            self._version += 1

    def _store(self, issue: JsonDict, *, sort: bool) -> None:
        key, issue_id, fields = issue.get("key"), issue.get("id"), issue.get("fields")
        match = _KEY_RE.match(key) if isinstance(key, str) else None
        if not isinstance(key, str) or match is None or issue_id is None or not isinstance(fields, dict):
            raise ValueError(f"not a Jira issue (needs id, key like ABC-1 and fields): {key!r}")
        if key in self._issues:
            self._unstore(key)
        self._moved.pop(key, None)
        project_field: JsonDict = fields["project"] if isinstance(fields.get("project"), dict) else {}
        project_key = str(project_field.get("key") or match.group(1))
        if project_key not in self._projects:
            project_id = str(project_field.get("id") or next(self._project_ids))
            name = str(project_field.get("name") or project_key)
            self._projects[project_key] = _Project(project_id, project_key, name)
        updated = fields.get("updated")
        ms = _epoch_ms(updated) if isinstance(updated, str) else 0
        number = int(match.group(2))
        stored = {**issue, "id": str(issue_id), "fields": dict(fields)}
        self._issues[key] = stored
        self._meta[key] = (project_key, number, ms)
        self._by_id[stored["id"]] = key
        index = self._index.setdefault(project_key, _Index())
        if sort:
            insort(index.by_updated, (ms, number, key))
            insort(index.by_number, (number, key))
        else:
            index.by_updated.append((ms, number, key))
            index.by_number.append((number, key))

    def _unstore(self, key: str) -> None:
        issue = self._issues.pop(key)
        project_key, number, ms = self._meta.pop(key)
        self._by_id.pop(issue["id"], None)
        self._v3_cache.pop(key, None)
        index = self._index[project_key]
        del index.by_updated[bisect_left(index.by_updated, (ms, number, key))]
        del index.by_number[bisect_left(index.by_number, (number, key))]

    # -- recording and failure injection ---------------------------------------------------------

    @property
    def requests(self) -> list[JiraRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def fail_next(
        self, path_prefix: str, status: int, *, retry_after: float | None = None, times: int = 1
    ) -> None:
        """Answer the next ``times`` requests whose path starts with ``path_prefix`` with ``status``."""
        with self._lock:
            self._failures.append(_Failure(path_prefix, status, retry_after, times))

    def _pop_failure(self, path: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if path.startswith(failure.prefix):
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                    return failure
        return None

    # -- HTTP ------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        body: Any = None
        headers: dict[str, str] = {}
        try:
            if request.can_read_body:
                try:
                    body = json.loads(await request.text() or "null")
                except ValueError as exc:
                    raise _bad_request("Unexpected character in the JSON request body.") from exc
            payload = self._dispatch(request, body)
            status, payload = (
                (payload.status, payload.payload) if isinstance(payload, _Reply) else (200, payload)
            )
        except _JiraError as exc:
            status, headers = exc.status, exc.headers
            payload = {"errorMessages": exc.messages, "errors": exc.fields}
        with self._lock:
            self._requests.append(
                JiraRequest(request.method, request.path, dict(request.query), body, status)
            )
        if status == 204:
            return web.Response(status=204, headers=headers)
        return web.json_response(payload, status=status, headers=headers)

    def _dispatch(self, request: web.Request, body: Any) -> Any:
        path = request.path
        auth = request.headers.get("Authorization")
        match = re.fullmatch(r"/rest/api/(2|3)/(.+?)/?", path)
        anonymous_ok = match is not None and match.group(2) == "serverInfo" and auth is None
        if self._accounts is not None and not anonymous_ok and auth not in self._accounts:
            raise _JiraError(
                401,
                "You are not authenticated. Authentication required to perform this operation.",
                headers={"WWW-Authenticate": 'Basic realm="protected-area"'},
            )
        failure = self._pop_failure(path)
        if failure is not None:
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = f"{failure.retry_after:g}"
            raise _JiraError(
                failure.status, f"LocalJira injected a {failure.status} failure.", headers=headers
            )
        if match is None or (match.group(1) == "3" and self.flavour == "datacenter"):
            raise _JiraError(404, f"null for uri: {request.url}")  # DC has no REST v3 at all
        call = _Call(request.method, match.group(1), match.group(2), request.query, body, auth)
        handlers = self._routes.get(call.rest) or self._item_routes(call.rest)
        if handlers is None and call.rest.startswith("issue/") and call.rest.count("/") == 1:
            handlers = {"GET": self._get_issue}
        if handlers is None:
            raise _JiraError(404, f"null for uri: {request.url}")
        handler = handlers.get(call.method)
        if handler is None:
            raise _JiraError(405, f"Method {call.method} is not allowed for {path}.")
        return handler(call)

    def _route_table(self) -> dict[str, dict[str, Callable[[_Call], Any]]]:
        routes: dict[str, dict[str, Callable[[_Call], Any]]] = {
            "serverInfo": {"GET": self._server_info},
            "myself": {"GET": self._myself},
            "project": {"GET": self._project_list},
        }
        if self.flavour == "cloud":
            # Cloud removed GET/POST /rest/api/{2,3}/search (CHANGE-2046): both versions answer 410 Gone,
            # and the enhanced search lives at /search/jql in both versions (v2 keeps wiki markup).
            routes["search"] = {"GET": self._gone, "POST": self._gone}
            routes["search/jql"] = {"GET": self._cloud_search, "POST": self._cloud_search}
            routes["issue/bulkfetch"] = {"POST": self._bulkfetch}
            routes["project/search"] = {"GET": self._project_search}  # Cloud-only paginated listing
        else:
            routes["search"] = {"GET": self._dc_search, "POST": self._dc_search}
        routes.update(self._write_routes())
        return routes

    # -- endpoints -------------------------------------------------------------------------------

    def _server_info(self, call: _Call) -> JsonDict:
        cloud = self.flavour == "cloud"
        version = "1001.0.0-SNAPSHOT" if cloud else "9.12.4"
        return {
            "baseUrl": self.base_url,
            "version": version,
            "versionNumbers": [int(part) for part in version.split("-")[0].split(".")],
            # Data Center reports "Server" (Jira DC 8 to 10 do); only Cloud says "Cloud".
            "deploymentType": "Cloud" if cloud else "Server",
            "buildNumber": 100287 if cloud else 912004,
            "serverTime": _jira_time(datetime.now(UTC)),
            "serverTitle": "Jira",
        }

    def _myself(self, call: _Call) -> JsonDict:
        if self._accounts is not None and call.auth in self._accounts:
            return self._accounts[call.auth]
        if self.flavour == "cloud":
            return {
                "accountId": "712020:00000000-0000-4000-8000-000000000000", "accountType": "atlassian",
                "displayName": "Local Jira", "emailAddress": "agentpm@localjira.test", "active": True,
                "timeZone": "UTC",
            }  # fmt: skip
        return {
            "key": "JIRAUSER10000", "name": "agentpm", "displayName": "Local Jira",
            "emailAddress": "agentpm@localjira.test", "active": True, "timeZone": "UTC",
        }  # fmt: skip

    def _project_json(self, project: _Project, version: str) -> JsonDict:
        return {
            "self": f"{self.base_url}/rest/api/{version}/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.name,
        }

    def _project_list(self, call: _Call) -> list[JsonDict]:
        with self._lock:
            return [self._project_json(p, call.version) for _, p in sorted(self._projects.items())]

    def _project_search(self, call: _Call) -> JsonDict:
        start = max(0, _int_param(call.param("startAt"), "startAt", 0))
        size = min(max(0, _int_param(call.param("maxResults"), "maxResults", 50)), _PROJECT_PAGE_CAP)
        projects = self._project_list(call)
        return {
            "self": f"{self.base_url}/rest/api/{call.version}/project/search",
            "startAt": start,
            "maxResults": size,
            "total": len(projects),
            "isLast": start + size >= len(projects),
            "values": projects[start : start + size],
        }

    def _gone(self, call: _Call) -> JsonDict:
        raise _JiraError(410, _GONE)

    def _cloud_search(self, call: _Call) -> JsonDict:
        jql = call.param("jql")
        if jql is not None and not isinstance(jql, str):
            raise _bad_request("The 'jql' parameter must be a string.")
        parsed = _JqlParser(jql or "").parse()
        if not parsed.bounded:
            raise _bad_request(
                "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
            )
        size = self._page_size(call)
        fields = _FieldSelection.parse(call.param("fields"))
        digest = hashlib.sha256((jql or "").strip().encode()).hexdigest()[:16]
        token = call.param("nextPageToken")
        start = _decode_token(token, digest) if token else 0
        with self._lock:
            query, _ = self._resolve(parsed, strict=True)
            keys = self._matching(query)
            page = [self._render(key, call.version, fields) for key in keys[start : start + size]]
        end = start + len(page)
        result: JsonDict = {"issues": page, "isLast": end >= len(keys)}
        if end < len(keys):  # real Cloud omits the token on the last page rather than sending null
            result["nextPageToken"] = _encode_token(end, digest)
        return result

    def _dc_search(self, call: _Call) -> JsonDict:
        if call.method == "POST":
            if not isinstance(call.body, dict):
                raise _bad_request("The request body must be a JSON object.")
            unknown = sorted(call.body.keys() - _DC_SEARCH_BODY)
            if unknown:
                raise _bad_request(
                    f'Unrecognized field "{unknown[0]}" (Class com.atlassian.jira.rest.v2.search.'
                    "SearchRequestBean), not marked as ignorable"
                )
        jql = call.param("jql")
        if jql is not None and not isinstance(jql, str):
            raise _bad_request("The 'jql' parameter must be a string.")
        parsed = _JqlParser(jql or "").parse()
        start = max(0, _int_param(call.param("startAt"), "startAt", 0))
        size = self._page_size(call)
        fields = _FieldSelection.parse(call.param("fields"))
        with self._lock:
            query, warnings = self._resolve(parsed, strict=_strict(call.param("validateQuery")))
            keys = self._matching(query)
            page = [self._render(key, call.version, fields) for key in keys[start : start + size]]
        result: JsonDict = {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": size,
            "total": len(keys),
            "issues": page,
        }
        if warnings:
            result["warningMessages"] = warnings
        return result

    def _page_size(self, call: _Call) -> int:
        requested = _int_param(call.param("maxResults"), "maxResults", _DEFAULT_PAGE)
        return min(max(0 if self.flavour == "datacenter" else 1, requested), self.max_results)

    def _bulkfetch(self, call: _Call) -> JsonDict:
        wanted = call.body.get("issueIdsOrKeys") if isinstance(call.body, dict) else None
        if not isinstance(wanted, list) or not wanted or not all(isinstance(x, str | int) for x in wanted):
            raise _bad_request("issueIdsOrKeys must be a non-empty list of issue ids or keys.")
        if len(wanted) > _BULKFETCH_CAP:
            raise _bad_request(f"The number of issues requested must not exceed {_BULKFETCH_CAP}.")
        fields = _FieldSelection.parse(call.body.get("fields"))
        with self._lock:
            found = dict.fromkeys(k for k in (self._lookup(str(x)) for x in wanted) if k is not None)
            issues = [self._render(key, call.version, fields) for key in found]
        # Missing or invisible issues are simply absent; issueErrors is only for retriable failures.
        return {"issues": issues, "issueErrors": []}

    def _get_issue(self, call: _Call) -> JsonDict:
        fields = _FieldSelection.parse(call.param("fields"))
        with self._lock:
            return self._render(self._existing(call, call.rest.split("/", 1)[1]), call.version, fields)

    # -- query evaluation ------------------------------------------------------------------------

    def _lookup(self, id_or_key: str) -> str | None:
        """Current key for an id, a key or a moved issue's old key."""
        if id_or_key.isdigit():
            return self._by_id.get(id_or_key)
        key = id_or_key.upper()
        key = self._moved.get(key, key)
        return key if key in self._issues else None

    def _resolve(self, jql: _Jql, *, strict: bool) -> tuple[_Query, list[str]]:
        """Resolve project names/ids and keys like Jira: unknown values are errors (or DC warnings)."""
        problems: list[str] = []
        projects: frozenset[str] | None = None
        by_name = {p.name.lower(): p.key for p in self._projects.values()}
        by_id = {p.id: p.key for p in self._projects.values()}
        for clause in jql.projects:
            resolved = set()
            for value in clause:
                key = value.upper() if value.upper() in self._projects else by_name.get(value.lower())
                key = key or by_id.get(value)
                if key is None:
                    problems.append(f"The value '{value}' does not exist for the field 'project'.")
                else:
                    resolved.add(key)
            projects = frozenset(resolved) if projects is None else projects & resolved
        keys: frozenset[str] | None = None
        for clause in jql.keys:
            resolved = set()
            for value in clause:
                found = self._lookup(value)
                if found is not None:
                    resolved.add(found)
                elif value.isdigit() or _KEY_RE.match(value.upper()):
                    problems.append(f"An issue with key '{value.upper()}' does not exist for field 'key'.")
                else:
                    problems.append(f"The issue key '{value}' for field 'key' is invalid.")
            keys = frozenset(resolved) if keys is None else keys & resolved
        if problems and strict:
            raise _JiraError(400, *problems)
        order = jql.order or (("key", False),)  # Jira leaves the order unspecified; pick key order
        if not any(name == "key" for name, _ in order):
            order = (*order, ("key", False))  # deterministic ties, so pages never overlap
        return _Query(projects, keys, jql.lo, jql.hi, order), problems

    def _matching(self, query: _Query) -> list[str]:
        """Keys matching ``query`` in order; cached per data version so paging costs a slice per page."""
        cache_key = (query, self._version)
        cached = self._results.get(cache_key)
        if cached is not None:
            self._results.move_to_end(cache_key)
            return cached
        keys = self._evaluate(query)
        self._results[cache_key] = keys
        while len(self._results) > _CACHE_SIZE:
            self._results.popitem(last=False)
        return keys

    def _evaluate(self, query: _Query) -> list[str]:
        lo, hi = query.lo, query.hi
        rows: list[tuple[int, str, int, str]]  # (updated ms, project key, number, key)
        if query.keys is not None:
            rows = [(self._meta[k][2], self._meta[k][0], self._meta[k][1], k) for k in query.keys]
            rows = [
                r
                for r in rows
                if (query.projects is None or r[1] in query.projects)
                and (lo is None or r[0] >= lo)
                and (hi is None or r[0] < hi)
            ]
        else:
            projects = sorted(query.projects if query.projects is not None else self._index)
            if query.order == (("updated", False), ("key", False)) and len(projects) == 1:
                index = self._index.get(projects[0], _Index()).by_updated
                return [k for _, _, k in index[self._bounds(index, lo, hi)]]
            if query.order == (("key", False),) and lo is None and hi is None:
                return [k for p in projects for _, k in self._index.get(p, _Index()).by_number]
            rows = []
            for p in projects:
                index = self._index.get(p, _Index()).by_updated
                rows.extend((ms, p, number, k) for ms, number, k in index[self._bounds(index, lo, hi)])
        for name, descending in reversed(query.order):  # stable sorts, last term first
            if name == "updated":
                rows.sort(key=lambda r: r[0], reverse=descending)
            else:
                rows.sort(key=lambda r: (r[1], r[2]), reverse=descending)
        return [r[3] for r in rows]

    @staticmethod
    def _bounds(index: list[tuple[int, int, str]], lo: int | None, hi: int | None) -> slice:
        start = bisect_left(index, (lo,)) if lo is not None else 0
        stop = bisect_left(index, (hi,)) if hi is not None else len(index)
        return slice(start, stop)

    def _render(self, key: str, version: str, fields: _FieldSelection) -> JsonDict:
        issue = self._issues[key]
        all_fields = issue["fields"]
        if version == "3":
            all_fields = self._v3_cache.get(key) or self._v3_cache.setdefault(key, _v3_fields(all_fields))
        return {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue["id"],
            "self": f"{self.base_url}/rest/api/{version}/issue/{issue['id']}",
            "key": key,
            "fields": fields.apply(all_fields),
        }


def _encode_token(offset: int, digest: str) -> str:
    raw = json.dumps({"o": offset, "q": digest}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(token: object, digest: str) -> int:
    """The offset in an opaque page token; it must come from a search with the same JQL."""
    invalid = _bad_request("The provided next page token is invalid or expired.")
    if not isinstance(token, str):
        raise invalid
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise invalid from exc
    offset = data.get("o") if isinstance(data, dict) else None
    if not isinstance(offset, int) or data.get("q") != digest:
        raise invalid
    return max(0, offset)
