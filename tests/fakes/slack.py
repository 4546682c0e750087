"""The fake Slack of the test suite: LocalSlack (served over HTTP) plus signed requests into the bot."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode

from bot.localslack import LocalSlack, SlackCall, signed_headers

__all__ = ["LocalSlack", "SlackCall", "SlackRequests"]

TEAM_ID = "T0TEST"
CHANNEL_ID = "C0TEST"
USER_ID = "U0ALICE"


class SlackRequests:
    """Builds what Slack sends to /slack/events: signed slash commands, events and interactions."""

    def __init__(self, signing_secret: str, slack: LocalSlack) -> None:
        self.signing_secret = signing_secret
        self.slack = slack

    def headers(
        self, body: str, content_type: str, *, timestamp: int | None = None, retry_num: int | None = None
    ) -> dict[str, str]:
        headers = signed_headers(self.signing_secret, body, content_type, timestamp)
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return headers

    def command(
        self,
        text: str,
        *,
        user_id: str = USER_ID,
        channel_id: str = CHANNEL_ID,
        trigger_id: str | None = None,
        **extra: str,
    ) -> tuple[str, dict[str, str]]:
        form = {
            "token": "legacy",
            "team_id": TEAM_ID,
            "team_domain": "test",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": "alice",
            "command": "/pm",
            "text": text,
            "api_app_id": "A0TEST",
            "response_url": self.slack.new_response_url(),
            "trigger_id": trigger_id or uuid.uuid4().hex,
            **extra,
        }
        body = urlencode(form)
        return body, self.headers(body, "application/x-www-form-urlencoded")

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> tuple[str, dict[str, str]]:
        payload = {
            "token": "legacy",
            "team_id": TEAM_ID,
            "api_app_id": "A0TEST",
            "type": "event_callback",
            "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": int(time.time()),
            "event": event,
        }
        body = json.dumps(payload)
        return body, self.headers(body, "application/json", retry_num=retry_num)

    def view_submission(
        self, callback_id: str, values: dict[str, dict[str, Any]], *, user_id: str = USER_ID
    ) -> tuple[str, dict[str, str]]:
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID},
            "user": {"id": user_id, "team_id": TEAM_ID},
            "api_app_id": "A0TEST",
            "trigger_id": uuid.uuid4().hex,
            "view": {
                "id": "V" + uuid.uuid4().hex[:8].upper(),
                "type": "modal",
                "callback_id": callback_id,
                "state": {"values": values},
            },
        }
        body = urlencode({"payload": json.dumps(payload)})
        return body, self.headers(body, "application/x-www-form-urlencoded")

    def block_action(
        self, action_id: str, value: str, *, user_id: str = USER_ID, channel_id: str = CHANNEL_ID
    ) -> tuple[str, dict[str, str]]:
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": user_id, "team_id": TEAM_ID},
            "api_app_id": "A0TEST",
            "trigger_id": uuid.uuid4().hex,
            "channel": {"id": channel_id},
            "container": {"type": "message", "is_ephemeral": True},
            "response_url": self.slack.new_response_url(),
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return body, self.headers(body, "application/x-www-form-urlencoded")

    def message_shortcut(
        self, callback_id: str, text: str, *, user_id: str = USER_ID, channel_id: str = CHANNEL_ID
    ) -> tuple[str, dict[str, str]]:
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "team": {"id": TEAM_ID},
            "user": {"id": user_id, "team_id": TEAM_ID},
            "channel": {"id": channel_id, "name": "general"},
            "api_app_id": "A0TEST",
            "trigger_id": uuid.uuid4().hex,
            "message_ts": "1700000000.000100",
            "message": {"type": "message", "user": "U0SOMEONE", "ts": "1700000000.000100", "text": text},
            "response_url": self.slack.new_response_url(),
        }
        body = urlencode({"payload": json.dumps(payload)})
        return body, self.headers(body, "application/x-www-form-urlencoded")

    def global_shortcut(self, callback_id: str, *, user_id: str = USER_ID) -> tuple[str, dict[str, str]]:
        payload = {
            "type": "shortcut",
            "callback_id": callback_id,
            "team": {"id": TEAM_ID},
            "user": {"id": user_id, "team_id": TEAM_ID},
            "api_app_id": "A0TEST",
            "trigger_id": uuid.uuid4().hex,
        }
        body = urlencode({"payload": json.dumps(payload)})
        return body, self.headers(body, "application/x-www-form-urlencoded")

    def options(
        self, action_id: str, value: str, *, values: dict[str, Any] | None = None, user_id: str = USER_ID
    ) -> tuple[str, dict[str, str]]:
        """An external select's typeahead (``block_suggestion``) in a modal whose state is ``values``."""
        payload = {
            "type": "block_suggestion",
            "action_id": action_id,
            "block_id": "b",
            "value": value,
            "team": {"id": TEAM_ID},
            "user": {"id": user_id, "team_id": TEAM_ID},
            "api_app_id": "A0TEST",
            "view": {"id": "V0MODAL", "type": "modal", "state": {"values": values or {}}},
        }
        body = urlencode({"payload": json.dumps(payload)})
        return body, self.headers(body, "application/x-www-form-urlencoded")

    def view_submission_with(
        self,
        callback_id: str,
        values: dict[str, dict[str, Any]],
        private_metadata: str,
        *,
        user_id: str = USER_ID,
    ) -> tuple[str, dict[str, str]]:
        body, _ = self.view_submission(callback_id, values, user_id=user_id)
        payload = json.loads(parse_qs(body)["payload"][0])
        payload["view"]["private_metadata"] = private_metadata
        body = urlencode({"payload": json.dumps(payload)})
        return body, self.headers(body, "application/x-www-form-urlencoded")

    def unfurl_action(
        self, action: dict[str, Any], *, message_ts: str, url: str, user_id: str = USER_ID,
        channel_id: str = CHANNEL_ID,
    ) -> tuple[str, dict[str, str]]:  # fmt: skip
        """A click on a button or menu inside one of the bot's link unfurls."""
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": user_id, "team_id": TEAM_ID},
            "api_app_id": "A0TEST",
            "trigger_id": uuid.uuid4().hex,
            "channel": {"id": channel_id},
            "container": {
                "type": "message_attachment", "message_ts": message_ts, "channel_id": channel_id,
                "is_app_unfurl": True, "app_unfurl_url": url,
            },
            "actions": [action],
        }  # fmt: skip
        body = urlencode({"payload": json.dumps(payload)})
        return body, self.headers(body, "application/x-www-form-urlencoded")

    def home_action(self, action: dict[str, Any], *, user_id: str = USER_ID) -> tuple[str, dict[str, str]]:
        """A click on a button in the App Home tab (no response_url: the Home is republished instead)."""
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
            "user": {"id": user_id, "team_id": TEAM_ID},
            "api_app_id": "A0TEST",
            "trigger_id": uuid.uuid4().hex,
            "container": {"type": "view", "view_id": "V0HOME"},
            "view": {"id": "V0HOME", "type": "home"},
            "actions": [action],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return body, self.headers(body, "application/x-www-form-urlencoded")
