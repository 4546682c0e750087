"""Outbound Slack: Web API and response_url clients with slack_sdk's own bounded retry handlers.

Used by listeners (async) and by jobs (sync); both honour 429 ``Retry-After`` and retry connection errors
and 5xx a bounded number of times.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient

from core.errors import AgentPMError, InvalidInput, Retryable

TIMEOUT_SECONDS = 10
MAX_RETRIES = 2
REPLY_PAGES = 5  # at most 1,000 messages of a thread are read for context


def sync_retry_handlers() -> list[RetryHandler]:
    return [
        RateLimitErrorRetryHandler(max_retry_count=MAX_RETRIES),
        ConnectionErrorRetryHandler(max_retry_count=MAX_RETRIES),
        ServerErrorRetryHandler(max_retry_count=MAX_RETRIES),
    ]


def async_web_client(token: str | None, base_url: str) -> AsyncWebClient:
    """The client Bolt uses for listener calls."""
    client = AsyncWebClient(token=token, base_url=base_url, timeout=TIMEOUT_SECONDS)
    client.retry_handlers.extend(
        [
            AsyncRateLimitErrorRetryHandler(max_retry_count=MAX_RETRIES),
            AsyncConnectionErrorRetryHandler(max_retry_count=MAX_RETRIES),
            AsyncServerErrorRetryHandler(max_retry_count=MAX_RETRIES),
        ]
    )
    return client


class SlackSendError(AgentPMError):
    user_message = "Slack refused the message."


class SlackDownloadError(AgentPMError):
    user_message = "I could not download that file from Slack; please share it again."


class SlackSender:
    """Posts for jobs; Slack failures become ``Retryable`` (rate limits, 5xx) or ``SlackSendError``."""

    def __init__(self, token: str | None, base_url: str) -> None:
        self.token = token
        self.api_host = urlsplit(base_url).hostname or ""
        self.client = WebClient(
            token=token, base_url=base_url, timeout=TIMEOUT_SECONDS, retry_handlers=sync_retry_handlers()
        )

    def _call(self, method: str, *, read: bool = False, **kwargs: Any) -> dict[str, Any]:
        """``read`` methods (conversations.*) take form parameters; Slack accepts JSON only for writes."""
        try:
            if read:
                response = self.client.api_call(method, params=kwargs)
            else:
                response = self.client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
            if exc.response.status_code == 429 or exc.response.status_code >= 500:
                retry_after = exc.response.headers.get("Retry-After") if exc.response.headers else None
                raise Retryable(
                    f"Slack {method}: {error}", float(retry_after) if retry_after else None
                ) from exc
            raise SlackSendError(f"Slack {method} failed: {error}") from exc
        except OSError as exc:
            raise Retryable(f"Slack {method}: {type(exc).__name__}") from exc
        return dict(response.data) if isinstance(response.data, dict) else {}

    def post_message(
        self, channel: str, message: dict[str, Any], thread_ts: str | None = None
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"channel": channel, **message}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        return self._call("chat.postMessage", **kwargs)

    def post_ephemeral(
        self, channel: str, user: str, message: dict[str, Any], thread_ts: str | None = None
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"channel": channel, "user": user, **message}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        return self._call("chat.postEphemeral", **kwargs)

    def update_message(self, channel: str, ts: str, message: dict[str, Any]) -> dict[str, Any]:
        return self._call("chat.update", channel=channel, ts=ts, **message)

    def respond(self, response_url: str, message: dict[str, Any], *, private: bool = True) -> None:
        """Post to a ``response_url`` (valid 30 minutes, 5 times), the natural reply to a slash command."""
        webhook = WebhookClient(response_url, timeout=TIMEOUT_SECONDS, retry_handlers=sync_retry_handlers())
        body = {"response_type": "ephemeral" if private else "in_channel", **message}
        try:
            response = webhook.send_dict(body)
        except OSError as exc:
            raise Retryable(f"response_url: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise Retryable(f"response_url answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise SlackSendError(f"response_url answered HTTP {response.status_code}: {response.body[:100]}")

    def replies(self, channel: str, thread_ts: str, limit: int) -> list[dict[str, Any]]:
        """A thread's latest ``limit`` messages, oldest first. Slack pages from the root onwards, so a long
        thread is followed for a few pages and its tail kept, with the root (it says what it is about)."""
        messages: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(REPLY_PAGES):
            params: dict[str, Any] = {"channel": channel, "ts": thread_ts, "limit": 200}
            if cursor:
                params["cursor"] = cursor
            data = self._call("conversations.replies", read=True, **params)
            messages += [m for m in data.get("messages") or [] if isinstance(m, dict)]
            cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
            if not data.get("has_more") or not cursor:
                break
        if len(messages) <= limit:
            return messages
        return messages[:1] + messages[-(limit - 1) :]

    def auth_test(self) -> dict[str, Any]:
        return self._call("auth.test")

    def page(
        self, method: str, key: str, cursor: str | None, limit: int, **params: Any
    ) -> tuple[list[Any], str | None]:
        """One page of a cursor-paginated read (``conversations.history``, ``.replies``, ``.members``):
        the items under ``key`` and the next cursor (None on the last page)."""
        if cursor:
            params["cursor"] = cursor
        data = self._call(method, read=True, limit=limit, **params)
        items = [item for item in data.get(key) or [] if isinstance(item, dict | str)]
        next_cursor = (data.get("response_metadata") or {}).get("next_cursor") or None
        return items, next_cursor if isinstance(next_cursor, str) else None

    def permalink(self, channel: str, ts: str) -> str:
        data = self._call("chat.getPermalink", read=True, channel=channel, message_ts=ts)
        return str(data.get("permalink") or "")

    def download(self, url: str, max_bytes: int = 1_000_000, token: str | None = None) -> bytes:
        """A file shared in Slack (its ``url_private_download``), read with the bot token, at most
        ``max_bytes`` (``InvalidInput`` beyond). The token goes only to Slack's hosts (or the configured API
        host: tests, `agentpm try`), and not along a redirect."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        on_slack = parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com"))
        if not on_slack and not (parts.scheme in ("https", "http") and host == self.api_host):
            raise SlackDownloadError(f"not a Slack file URL: {parts.scheme}://{host}")
        request = urllib.request.Request(url, method="GET")  # noqa: S310  (scheme and host checked above)
        bearer = token or self.token
        if bearer:
            request.add_unredirected_header("Authorization", "Bearer " + bearer)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                if "text/html" in str(response.headers.get("Content-Type", "")):
                    # Slack answers a login page, not the file, when the token may not read it (files:read)
                    raise SlackDownloadError("Slack sent a web page instead of the file")
                data: bytes = response.read(max_bytes + 1)
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise Retryable(f"file download: HTTP {exc.code}") from exc
            raise SlackDownloadError(f"file download: HTTP {exc.code}") from exc
        except OSError as exc:
            raise SlackDownloadError(f"file download: {type(exc).__name__}") from exc
        if len(data) > max_bytes:
            size = f"{max_bytes / 1_000_000:g} MB"
            raise InvalidInput(f"That file is over {size}; share the notes in smaller parts.")
        return data
