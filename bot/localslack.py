"""In-process fake of the Slack Web API, served over real HTTP on 127.0.0.1.

Used by ``agentpm try`` (the bot without a workspace) and by the test suite. It speaks HTTP rather
than patching clients so the real ``slack_sdk`` code paths (serialisation, auth headers, retry
handlers, ``response_url`` webhooks) are exercised exactly as in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.localserver import LocalServer
from bot.localslack_history import CursorError, history_page, replies_page

JsonDict = dict[str, Any]
_JSON_ARGS = frozenset({"blocks", "attachments", "view", "unfurls", "metadata"})
_TS_BASE_US = 1_767_000_000_000_000  # ts values look like real Slack ones: 1767000000.000100
_NO_AUTH = frozenset({"api.test", "oauth.v2.access"})  # the code exchange authenticates the app


def signed_headers(
    signing_secret: str, body: str, content_type: str, timestamp: int | None = None
) -> dict[str, str]:
    """The headers Slack signs a request to an app with (``v0`` HMAC over timestamp and body)."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
    }


@dataclass(frozen=True)
class SlackCall:
    """One request LocalSlack answered; ``args`` holds the parameters without the token."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float
    failed: bool = False
    response: dict[str, Any] = field(default_factory=dict)  # what LocalSlack answered (e.g. the ``ts``)


@dataclass(frozen=True)
class _Failure:
    status: int
    error: str | None
    retry_after: int | None


class _ApiError(Exception):
    """Raised by handlers so the caller gets ``{"ok": false, "error": ...}`` like from Slack."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _require(args: JsonDict, key: str, error: str) -> str:
    value = args.get(key)
    if not value or not isinstance(value, str):
        raise _ApiError(error)
    return value


def _require_content(args: JsonDict) -> None:
    if not any(args.get(k) for k in ("text", "blocks", "attachments")):
        raise _ApiError("no_text")


async def _read_args(request: web.Request) -> JsonDict:
    """Merge query, JSON and form parameters: slack_sdk uses all three depending on the method."""
    args: JsonDict = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.text() or "{}")
        except ValueError as exc:
            raise _ApiError("invalid_json") from exc
        if not isinstance(body, dict):
            raise _ApiError("invalid_json")
        args.update(body)
    elif request.can_read_body:
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in _JSON_ARGS & args.keys():
        if isinstance(args[key], str):  # form-encoded clients send structured args as JSON strings
            with contextlib.suppress(ValueError):
                args[key] = json.loads(args[key])
    return args


class LocalSlack(LocalServer):
    """A small Slack Web API emulation that records every call and can inject failures.

    ``tokens=None`` accepts any (or no) token; otherwise calls need one of ``tokens``.
    ``on_call`` is invoked in the server loop after each recorded call (``agentpm try`` prints from it).
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] | None = None,
        team_id: str = "T0LOCAL",
        bot_user_id: str = "U0AGENTPM",
        bot_id: str = "B0AGENTPM",
        on_call: Callable[[SlackCall], None] | None = None,
        post_rate_per_channel: float | None = None,
    ) -> None:
        """``post_rate_per_channel``: like Slack's "about one message per second per channel", a faster
        ``chat.postMessage`` to the same channel is answered 429 with ``Retry-After``."""
        self.team_id, self.bot_user_id, self.bot_id = team_id, bot_user_id, bot_id
        self._post_interval = 1.0 / post_rate_per_channel if post_rate_per_channel else None
        self._last_post: dict[str, float] = {}
        self._tokens = set(tokens) if tokens is not None else None
        self._on_call = on_call
        self._lock = threading.Lock()  # calls and failures may be touched from other threads
        self._calls: list[SlackCall] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._users: dict[str, JsonDict] = {}
        self._channels: dict[str, JsonDict] = {}
        self._messages: dict[tuple[str, str], JsonDict] = {}
        self._views: dict[str, JsonDict] = {}
        self._homes: dict[str, str] = {}
        # Like Slack's, ts values follow the clock (a history's ``oldest`` means a time), and stay unique.
        self._ts = itertools.count(max(_TS_BASE_US, int(time.time() * 1_000_000)) + 100, 100)
        self._ids = itertools.count(1)
        self._handlers: dict[str, Callable[[JsonDict], JsonDict]] = {
            "api.test": lambda args: {"args": args},
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.getPermalink": self._permalink,
            "chat.unfurl": lambda args: {},
            "views.open": self._new_view,
            "views.push": self._new_view,
            "views.update": self._update_view,
            "views.publish": self._publish_view,
            "users.info": self._user_info,
            "conversations.info": lambda args: {"channel": self._channel(args)},
            "conversations.members": self._members,
            "conversations.join": self._join,
            "conversations.replies": self._replies,
            "conversations.history": self._history,
            "conversations.open": self._open,
            "oauth.v2.access": self._oauth_access,
        }
        self.installed_tokens: list[str] = []

    # -- lifecycle -------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{rid}", self._respond)

    @property
    def api_url(self) -> str:
        """Web API base URL; the trailing slash matters because slack_sdk uses urljoin."""
        return f"{self.base_url}/api/"

    def new_response_url(self) -> str:
        return f"{self.base_url}/respond/{uuid.uuid4().hex}"

    # -- directory and seeding -------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        email: str,
        name: str,
        *,
        tz: str = "UTC",
        is_bot: bool = False,
        deleted: bool = False,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        team_id: str | None = None,
    ) -> None:
        self._users[user_id] = {
            "id": user_id, "team_id": team_id or self.team_id, "name": name, "real_name": name,
            "deleted": deleted, "tz": tz, "is_bot": is_bot, "is_restricted": is_restricted,
            "is_ultra_restricted": is_ultra_restricted,
            "profile": {"email": email, "real_name": name, "display_name": name},
        }  # fmt: skip

    def add_channel(
        self, channel_id: str, name: str, *, members: Iterable[str] = (), is_private: bool = False,
        bot_is_member: bool = True,
    ) -> None:  # fmt: skip
        self._channels[channel_id] = {
            "id": channel_id, "name": name, "is_channel": not is_private, "is_private": is_private,
            "is_im": channel_id.startswith("D"), "is_member": bot_is_member, "members": list(members),
        }  # fmt: skip

    def add_message(self, channel: str, text: str, *, user: str, thread_ts: str | None = None) -> str:
        """Seed a message (e.g. a user's) so chat.update/delete can find it; returns its ts."""
        ts = self._next_ts()
        message = {"type": "message", "user": user, "text": text, "ts": ts}
        if thread_ts:
            message["thread_ts"] = thread_ts
        self._messages[(channel, ts)] = message
        return ts

    def add_raw_message(self, channel: str, fields: JsonDict) -> str:
        """Seed any message (a bot's, a system subtype, an edited one, a thread reply); returns its ts."""
        ts = str(fields.get("ts") or self._next_ts())
        self._messages[(channel, ts)] = {"type": "message", **fields, "ts": ts}
        return ts

    def last_modal(self) -> JsonDict | None:
        """The modal opened or updated most recently (what a person would be looking at)."""
        modals = [v for v in self._views.values() if v.get("type") == "modal"]
        return dict(modals[-1]) if modals else None

    # -- recording and failure injection ---------------------------------------------------------

    @property
    def calls(self) -> list[SlackCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[SlackCall]:
        return [c for c in self.calls if c.method == method]

    def clear(self) -> None:
        """Forget recorded calls (state such as users, messages and pending failures is kept)."""
        with self._lock:
            self._calls.clear()

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> Awaitable[list[SlackCall]]:
        """Await until ``count`` calls to ``method`` were recorded; resolves to all of them so far.

        Polls, so calls made from other threads or processes are seen too.
        """
        return self._wait_for(method, count, time.monotonic() + timeout)

    async def _wait_for(self, method: str, count: int, deadline: float) -> list[SlackCall]:
        while len(found := self.calls_to(method)) < count:
            if time.monotonic() >= deadline:
                seen = sorted({c.method for c in self.calls})
                raise TimeoutError(f"wanted {count} {method} call(s), got {len(found)}; seen {seen}")
            await asyncio.sleep(0.01)
        return found

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (or ``"response_url"``) fail."""
        with self._lock:
            self._failures.setdefault(method, []).extend([_Failure(status, error, retry_after)] * times)

    def _pop_failure(self, method: str) -> _Failure | None:
        with self._lock:
            pending = self._failures.get(method)
            return pending.pop(0) if pending else None

    def _rate_limited(self, method: str, args: JsonDict) -> _Failure | None:
        """A post to a channel sooner than the per-channel rate allows: 429 with the seconds to wait."""
        if self._post_interval is None or method != "chat.postMessage":
            return None
        channel, now = str(args.get("channel", "")), time.monotonic()
        with self._lock:
            wait = self._last_post.get(channel, -1e9) + self._post_interval - now
            if wait > 0:
                return _Failure(429, "ratelimited", max(1, math.ceil(wait)))
            self._last_post[channel] = now
        return None

    def _record(self, call: SlackCall) -> None:
        with self._lock:
            self._calls.append(call)
        if self._on_call is not None:
            self._on_call(call)

    # -- HTTP ------------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        args: JsonDict = {}
        status, headers = 200, {}
        try:
            args = await _read_args(request)
            body_token = args.pop("token", None)
            token = token or (body_token if isinstance(body_token, str) else None)
            if self._tokens is not None and method not in _NO_AUTH:
                if not token:
                    raise _ApiError("not_authed")
                if token not in self._tokens:
                    raise _ApiError("invalid_auth")
            failure = self._pop_failure(method) or self._rate_limited(method, args)
            if failure is not None:
                status, headers = failure.status, _failure_headers(failure)
                raise _ApiError(failure.error or ("ratelimited" if status == 429 else "internal_error"))
            handler = self._handlers.get(method)
            if handler is None:
                raise _ApiError("unknown_method")
            body: JsonDict = {"ok": True, **handler(args)}
        except _ApiError as exc:
            body = {"ok": False, "error": exc.error}
        self._record(SlackCall(method, args, token, time.time(), failed=not body["ok"], response=body))
        return web.json_response(body, status=status, headers=headers)

    async def _respond(self, request: web.Request) -> web.Response:
        """response_url posts answer plain ``ok`` (or an error text), like Slack's webhooks."""
        try:
            body = json.loads(await request.text())
        except ValueError:
            body = None
        args: JsonDict = {**(body if isinstance(body, dict) else {}), "url": str(request.url)}
        failure = self._pop_failure("response_url")
        if not isinstance(body, dict) or failure is not None:
            status = failure.status if failure else 400
            text = (failure.error if failure else None) or "invalid_payload"
            self._record(SlackCall("response_url", args, None, time.time(), failed=True))
            return web.Response(status=status, text=text, headers=_failure_headers(failure))
        self._record(SlackCall("response_url", args, None, time.time()))
        return web.Response(text="ok")

    # -- methods ---------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        us = next(self._ts)
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def _auth_test(self, args: JsonDict) -> JsonDict:
        return {
            "url": "https://localslack.test/", "team": "Local Slack", "user": "agentpm",
            "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }  # fmt: skip

    def _oauth_access(self, args: JsonDict) -> JsonDict:
        """The OAuth install's code exchange: a fresh bot token for this workspace."""
        _require(args, "code", "invalid_code")
        token = f"xoxb-{self.team_id}-{next(self._ids)}-installed"
        self.installed_tokens.append(token)
        if self._tokens is not None:
            self._tokens.add(token)
        return {
            "app_id": "A0LOCAL", "authed_user": {"id": "U0INSTALLER"}, "scope": "commands,chat:write",
            "token_type": "bot", "access_token": token, "bot_user_id": self.bot_user_id,
            "team": {"id": self.team_id, "name": "Local Slack"}, "enterprise": None,
            "is_enterprise_install": False,
        }  # fmt: skip

    def _post_message(self, args: JsonDict) -> JsonDict:
        channel = _require(args, "channel", "channel_not_found")
        _require_content(args)
        ts = self._next_ts()
        message: JsonDict = {
            "type": "message", "user": self.bot_user_id, "bot_id": self.bot_id, "team": self.team_id,
            "ts": ts, "text": args.get("text", ""),
        }  # fmt: skip
        message.update({k: args[k] for k in ("blocks", "attachments", "thread_ts", "metadata") if k in args})
        self._messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": dict(message)}

    def _post_ephemeral(self, args: JsonDict) -> JsonDict:
        _require(args, "channel", "channel_not_found")
        _require(args, "user", "user_not_in_channel")
        _require_content(args)
        return {"message_ts": self._next_ts()}

    def _update(self, args: JsonDict) -> JsonDict:
        channel = _require(args, "channel", "channel_not_found")
        ts = _require(args, "ts", "message_not_found")
        message = self._messages.get((channel, ts))
        if message is None:
            raise _ApiError("message_not_found")
        message.update({k: args[k] for k in ("text", "blocks", "attachments", "metadata") if k in args})
        return {"channel": channel, "ts": ts, "text": message.get("text", ""), "message": dict(message)}

    def _delete(self, args: JsonDict) -> JsonDict:
        channel = _require(args, "channel", "channel_not_found")
        ts = _require(args, "ts", "message_not_found")
        if self._messages.pop((channel, ts), None) is None:
            raise _ApiError("message_not_found")
        return {"channel": channel, "ts": ts}

    def _permalink(self, args: JsonDict) -> JsonDict:
        channel = _require(args, "channel", "channel_not_found")
        ts = _require(args, "message_ts", "message_not_found")
        permalink = f"https://localslack.test/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": permalink}

    def _store_view(self, view: Any, view_id: str | None = None, **extra: Any) -> JsonDict:
        if not isinstance(view, dict):
            raise _ApiError("invalid_arguments")
        view_id = view_id or f"V{next(self._ids):08d}"
        stored = {**view, "id": view_id, "team_id": self.team_id, "hash": f"{time.time():.6f}", **extra}
        self._views.pop(view_id, None)  # the latest opened or updated view comes last
        self._views[view_id] = stored
        return {"view": dict(stored)}

    def _new_view(self, args: JsonDict) -> JsonDict:
        if not (args.get("trigger_id") or args.get("interactivity_pointer")):
            raise _ApiError("invalid_trigger_id")
        return self._store_view(args.get("view"))

    def _update_view(self, args: JsonDict) -> JsonDict:
        by_external = {v["external_id"]: v for v in self._views.values() if v.get("external_id")}
        current = self._views.get(str(args.get("view_id"))) or by_external.get(args.get("external_id"))
        if current is None:
            raise _ApiError("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        return self._store_view(args.get("view"), current["id"])

    def _publish_view(self, args: JsonDict) -> JsonDict:
        user_id = _require(args, "user_id", "invalid_arguments")
        result = self._store_view(args.get("view"), self._homes.get(user_id), user_id=user_id)
        self._homes[user_id] = result["view"]["id"]
        return result

    def _user_info(self, args: JsonDict) -> JsonDict:
        user = self._users.get(str(args.get("user", "")))
        if user is None:
            raise _ApiError("user_not_found")
        return {"user": json.loads(json.dumps(user))}

    def _channel(self, args: JsonDict) -> JsonDict:
        channel = self._channels.get(str(args.get("channel", "")))
        if channel is None:
            raise _ApiError("channel_not_found")
        return {k: v for k, v in channel.items() if k != "members"} | {"num_members": len(channel["members"])}

    def _replies(self, args: JsonDict) -> JsonDict:
        channel = _require(args, "channel", "channel_not_found")
        ts = _require(args, "ts", "thread_not_found")
        try:
            page = replies_page(self._messages, channel, ts, args)
        except CursorError as exc:
            raise _ApiError("invalid_cursor") from exc
        if page is None:
            raise _ApiError("thread_not_found")
        return page

    def _history(self, args: JsonDict) -> JsonDict:
        channel = _require(args, "channel", "channel_not_found")
        try:
            return history_page(self._messages, channel, args)
        except CursorError as exc:
            raise _ApiError("invalid_cursor") from exc

    def _open(self, args: JsonDict) -> JsonDict:
        """A DM with one user; here a DM's channel ID is the user's ID (chat.postMessage to a user ID keeps
        the message under it)."""
        users = _require(args, "users", "users_list_not_supplied")
        if "," in users:
            raise _ApiError("not_supported")
        if users not in self._users:
            raise _ApiError("user_not_found")
        return {"channel": {"id": users}}

    def _join(self, args: JsonDict) -> JsonDict:
        channel = self._channel(args)
        if channel["is_private"]:
            raise _ApiError("method_not_supported_for_channel_type")
        self._channels[channel["id"]]["is_member"] = True
        return {"channel": self._channel(args)}

    def _members(self, args: JsonDict) -> JsonDict:
        self._channel(args)
        members = self._channels[str(args["channel"])]["members"]
        return {"members": list(members), "response_metadata": {"next_cursor": ""}}


def _failure_headers(failure: _Failure | None) -> dict[str, str]:
    if failure is None or (failure.retry_after is None and failure.status != 429):
        return {}
    return {"Retry-After": str(failure.retry_after if failure.retry_after is not None else 1)}
