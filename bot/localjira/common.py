"""LocalJira's shared pieces: the recorded request, errors, time helpers and constants."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from multidict import MultiMapping

JsonDict = dict[str, Any]
Flavour = Literal["cloud", "datacenter"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_KEY_RE = re.compile(r"^([A-Z][A-Z0-9_]*)-([1-9][0-9]*)$")
_DEFAULT_PAGE = 50  # Jira's default maxResults for search on both flavours
_PROJECT_PAGE_CAP = 100
_BULKFETCH_CAP = 100
_CACHE_SIZE = 8
_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
# Jira DC rejects unknown members of the POST /search body (Jackson "not marked as ignorable").
_DC_SEARCH_BODY = frozenset(
    {"jql", "startAt", "maxResults", "fields", "validateQuery", "expand", "properties", "fieldsByKeys"}
)
_RICH_TEXT_FIELDS = ("description", "environment")  # strings in v2, ADF documents in v3
_ADF_BLOCK_RE = re.compile(r"\{(code|noformat)(?::([^}]*))?\}(.*?)\{\1\}", re.DOTALL)
_PARAGRAPH_RE = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class JiraRequest:
    """One request LocalJira answered; ``query`` keeps the last value of repeated parameters."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int


@dataclass
class _Failure:
    prefix: str
    status: int
    retry_after: float | None
    times: int


class _JiraError(Exception):
    """Raised by handlers; answered as ``{"errorMessages": [...], "errors": {field: message}}`` like Jira."""

    def __init__(
        self,
        status: int,
        *messages: str,
        headers: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(*messages)
        self.status, self.messages, self.headers = status, list(messages), dict(headers or {})
        self.fields = dict(fields or {})


@dataclass(frozen=True)
class _Reply:
    """A handler's answer with a status other than 200 (201 created, 204 no content: ``payload`` None)."""

    status: int
    payload: Any = None


@dataclass(frozen=True)
class _Call:
    method: str
    version: str  # "2" or "3"
    rest: str  # path after /rest/api/{version}/
    query: MultiMapping[str]
    body: Any
    auth: str | None

    def param(self, name: str) -> Any:
        """A parameter from the JSON body of a POST, else from the query string."""
        if self.method == "POST":
            return self.body.get(name) if isinstance(self.body, dict) else None
        if name == "fields" and name in self.query:
            return ",".join(self.query.getall(name))
        return self.query.get(name)


def _bad_request(message: str) -> _JiraError:
    return _JiraError(400, message)


# -- time --------------------------------------------------------------------------------------------


def _epoch_ms(value: str) -> int:
    """Milliseconds since the epoch of a Jira timestamp such as ``2026-10-02T09:14:33.000+0000``."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // _MS


def _jira_time(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}+0000"


# -- JQL ---------------------------------------------------------------------------------------------
