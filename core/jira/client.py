"""The Jira REST client: Cloud (v3, `search/jql` with `nextPageToken`) and Data Center (v2, `startAt`).

One aiohttp session with explicit timeouts; 429/503 honour `Retry-After` with bounded, jittered backoff
(tenacity); 401/403/404/400/410 become clear domain errors. Callers that need finer errors (a write's field
errors, a person's 403) pass ``errors=`` to ``request``; the sync does not, so its errors stay as they are.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from core.config import Settings
from core.errors import AgentPMError, InvalidInput
from core.jira.auth import JiraAuthError, JiraCredentialRejected, JiraUnavailable, auth_header
from core.logging import get_logger

log = get_logger(__name__)

Deployment = Literal["cloud", "datacenter"]
# A caller's own mapping of a non-retryable 4xx: (status, body as parsed JSON or None) -> the error to raise,
# or None for the default mapping.
ErrorMap = Callable[[int, Any], AgentPMError | None]


class JiraNotFound(AgentPMError):
    user_message = "Jira says that does not exist (or the service account cannot see it)."


class JiraGone(AgentPMError):
    user_message = "Jira no longer offers that API."


@dataclass(frozen=True)
class JiraConfig:
    base_url: str
    email: str | None
    token: str
    deployment: Deployment | None = None  # None: ask /serverInfo
    timeout_seconds: float = 30.0
    attempts: int = 6
    max_backoff_seconds: float = 60.0
    personal: bool = False  # a person's own credential: a 401 asks them to reconnect, not the operator

    @classmethod
    def from_settings(cls, settings: Settings) -> JiraConfig:
        if not settings.jira_base_url or not settings.jira_api_token:
            raise InvalidInput("Jira is not configured (JIRA_BASE_URL and JIRA_API_TOKEN).")
        deployment: Deployment | None = None
        if settings.jira_deployment in ("cloud", "datacenter"):
            deployment = settings.jira_deployment  # type: ignore[assignment]
        return cls(
            settings.jira_base_url.rstrip("/"), settings.jira_email, settings.jira_api_token, deployment
        )


@dataclass
class Page:
    issues: list[dict[str, Any]]
    total: int | None  # Data Center tells; Cloud's search/jql does not


class JiraClient:
    def __init__(self, config: JiraConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None
        self._deployment = config.deployment
        self.requests_made = 0

    async def __aenter__(self) -> Self:
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_seconds, connect=10)
        headers = {"Accept": "application/json", **auth_header(self.config.email, self.config.token)}
        self._session = aiohttp.ClientSession(timeout=timeout, headers=headers)
        return self

    async def __aexit__(self, *exc: object | TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        backoff: float = min(self.config.max_backoff_seconds, 0.5 * 2.0 ** (state.attempt_number - 1))
        if isinstance(retry_after, int | float):
            backoff = max(float(retry_after), 0.0)
        jitter: float = random.uniform(0, 0.1 * backoff + 0.05)  # noqa: S311  (not for security)
        return min(self.config.max_backoff_seconds, backoff) + jitter

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        errors: ErrorMap | None = None,
    ) -> Any:
        """One call, retried on 429/503/connection errors; other failures mapped to domain errors.

        ``errors`` sees every non-retryable 4xx first and may return the error to raise instead.
        """
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(JiraUnavailable),
            stop=stop_after_attempt(self.config.attempts),
            wait=self._wait,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._once(method, path, params=params, json=json, errors=errors)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self, method: str, path: str, *, params: dict[str, Any] | None, json: Any, errors: ErrorMap | None
    ) -> Any:
        if self._session is None:
            raise RuntimeError("use JiraClient as an async context manager")
        self.requests_made += 1
        url = self.config.base_url + path
        try:
            async with self._session.request(method, url, params=params, json=json) as response:
                if response.status < 300:
                    return await response.json(content_type=None)
                body = await response.text()
                self._raise_for(response, body, path, errors)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise JiraUnavailable(f"Jira {path}: {type(exc).__name__}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_for(
        self, response: aiohttp.ClientResponse, body: str, path: str, errors: ErrorMap | None
    ) -> None:
        status = response.status
        detail = _error_messages(body)
        if status in (429, 503) or status >= 500:
            header = response.headers.get("Retry-After")
            retry_after = float(header) if header and header.replace(".", "", 1).isdigit() else None
            log.warning("jira.retry", path=path, status=status, retry_after=retry_after)
            raise JiraUnavailable(f"Jira {path} answered HTTP {status}", retry_after=retry_after)
        mapped = errors(status, _json_or_none(body)) if errors is not None else None
        if mapped is not None:
            raise mapped
        if status == 401 and self.config.personal:
            raise JiraCredentialRejected()
        if status in (401, 403):
            raise JiraAuthError(f"Jira refused the service account's credentials (HTTP {status}).")
        if status == 404:
            raise JiraNotFound(f"Jira has no {path}" + (f": {detail}" if detail else ""))
        if status == 410:
            raise JiraGone(f"Jira no longer offers {path}")
        raise InvalidInput(f"Jira rejected the request: {detail or f'HTTP {status}'}")

    async def deployment(self) -> Deployment:
        """Cloud or Data Center, from `/serverInfo` (once; JIRA_DEPLOYMENT overrides)."""
        if self._deployment is None:
            info = await self.request("GET", "/rest/api/2/serverInfo")
            self._deployment = (
                "cloud" if str(info.get("deploymentType", "")).lower() == "cloud" else "datacenter"
            )
        return self._deployment

    async def projects(self) -> list[dict[str, Any]]:
        if await self.deployment() == "datacenter":
            result: list[dict[str, Any]] = await self.request("GET", "/rest/api/2/project")
            return result
        projects: list[dict[str, Any]] = []
        start = 0
        while True:
            page = await self.request(
                "GET", "/rest/api/3/project/search", params={"startAt": start, "maxResults": 50}
            )
            values = page.get("values") or []
            projects.extend(values)
            if page.get("isLast", True) or not values:
                return projects
            start += len(values)

    async def search(self, jql: str, fields: list[str], page_size: int = 100) -> AsyncIterator[Page]:
        """Every page of a JQL search, in the query's order."""
        if await self.deployment() == "cloud":
            token: str | None = None
            while True:
                body: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": page_size}
                if token:
                    body["nextPageToken"] = token
                data = await self.request("POST", "/rest/api/3/search/jql", json=body)
                yield Page(list(data.get("issues") or []), None)
                token = data.get("nextPageToken")
                if data.get("isLast", not token) or not token:
                    return
        start = 0
        while True:
            page = await self.search_page(jql, fields, page_size, start_at=start)
            yield page
            start += len(page.issues)
            if not page.issues or (page.total is not None and start >= page.total):
                return

    async def search_page(self, jql: str, fields: list[str], page_size: int, *, start_at: int = 0) -> Page:
        """One page of a Data Center search (``startAt`` is a Data Center notion)."""
        body = {"jql": jql, "fields": fields, "maxResults": page_size, "startAt": start_at}
        data = await self.request("POST", "/rest/api/2/search", json=body)
        total = data.get("total")
        return Page(list(data.get("issues") or []), int(total) if total is not None else None)

    async def fetch_issues(self, keys: list[str], fields: list[str]) -> list[dict[str, Any]]:
        """These issues, 100 a request: Cloud's bulk fetch, or a `key in (…)` search on Data Center."""
        from core.jira.jql import keys_in

        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):
            batch = keys[start : start + 100]
            if await self.deployment() == "cloud":
                body = {"issueIdsOrKeys": batch, "fields": fields}
                data = await self.request("POST", "/rest/api/3/issue/bulkfetch", json=body)
                found.extend(data.get("issues") or [])
            else:
                found.extend((await self.search_page(keys_in(batch), fields, len(batch))).issues)
        return found


def _json_or_none(body: str) -> Any:
    import json

    try:
        return json.loads(body)
    except ValueError:
        return None


def _error_messages(body: str) -> str:
    import json

    try:
        data = json.loads(body)
    except ValueError:
        return body[:200]
    if not isinstance(data, dict):
        return ""
    messages = list(data.get("errorMessages") or [])
    errors = data.get("errors") or {}
    if isinstance(errors, dict):
        messages += [f"{k}: {v}" for k, v in errors.items()]
    return "; ".join(str(m) for m in messages)[:300]
