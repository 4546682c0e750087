"""`agentpm try`: the real bot in a terminal, on the embedded defaults and the bundled demo data.

Each line typed becomes a signed Slack request to the real HTTP server; what the bot posts back to the
in-process Slack (`LocalSlack`) is printed as text, thread replies indented.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bot.app import BotApp, build_app
from bot.app import warm as warm_bot
from bot.ids import SHORTCUT_CREATE_JIRA_ISSUE
from bot.localjira import LocalJira
from bot.localslack import LocalSlack, SlackCall, signed_headers
from bot.server import build_web_app
from bot.terminalforms import Suggest, fill, parse_assignments
from bot.textrender import render_message, render_view
from bot.wiring import build_services
from core.config import load_settings
from core.db import schema
from core.demo import demo_issues
from core.demo.meeting import demo_transcript
from core.errors import InvalidInput
from core.jira.client import JiraClient, JiraConfig
from core.jira.meta import sync_metadata
from core.jira.sync import ProjectSync
from core.jobs.inprocess import InProcessQueue
from core.logging import configure_logging
from core.meetings.formats import read_notes
from core.search.indexer import index_pending

TEAM_ID = "T0TRY"
CHANNEL_ID = "C0GENERAL"
USER_ID = "U0YOU"
DOMAIN = "northwind.example"
# The people `:as NAME` switches between: (Slack ID, email, is a guest).
PEOPLE = {
    "you": ("U0YOU", f"you@{DOMAIN}", False),
    "admin": ("U0ADMIN", f"admin@{DOMAIN}", False),
    "outsider": ("U0OUTSIDER", "mallory@evil-example.com", False),
    "guest": ("U0GUEST", f"guest@{DOMAIN}", True),
}
SHOWN_METHODS = {
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "response_url",
    "views.open",
    "views.publish",
    "views.update",
    "views.push",
    "chat.unfurl",
}


class Terminal:
    """One terminal session: a LocalSlack, the bot's server, and the user typing into it."""

    def __init__(self, as_email: str, database_url: str | None) -> None:
        self.as_email = as_email
        self.database_url = database_url
        self.slack = LocalSlack(team_id=TEAM_ID)
        self.jira = LocalJira(demo_issues(), flavour="cloud")
        self.signing_secret = secrets.token_hex(16)
        self.tmp = tempfile.TemporaryDirectory(prefix="agentpm-try-")
        self.url = ""
        self.bot: BotApp | None = None
        self.runner: web.AppRunner | None = None
        self.http: aiohttp.ClientSession | None = None
        self.seen = 0
        self.user_id = USER_ID
        self.thread_ts: str | None = None  # the thread `:reply` continues

    async def start(self) -> None:
        await self.slack.start()
        await self.jira.start()
        for name, (user_id, email, guest) in PEOPLE.items():
            if name == "you":
                email = self.as_email
            self.slack.add_user(user_id, email, email.split("@")[0], team_id=TEAM_ID, is_restricted=guest)
        self.slack.add_channel(CHANNEL_ID, "general", members=[p[0] for p in PEOPLE.values()])
        url = self.database_url or f"sqlite:///{Path(self.tmp.name) / 'try.db'}"
        settings = load_settings(
            agentpm_env="development",
            database_url=url,
            redis_url=None,
            celery_broker_url=None,
            slack_bot_token="xoxb-terminal-" + secrets.token_hex(8),
            slack_signing_secret=self.signing_secret,
            slack_api_url=self.slack.api_url,
            jira_base_url=self.jira.base_url,
            jira_email="agentpm@northwind.example",
            jira_api_token="terminal-" + secrets.token_hex(8),
            jira_projects=[],
            openai_api_key=None,
            pinecone_api_key=None,
            agentpm_allowed_domains=[DOMAIN],
            agentpm_bootstrap_admins=[f"admin@{DOMAIN}"],
            agentpm_default_role="USER",
        )
        schema.upgrade(url)
        services = build_services(settings, queue=InProcessQueue())
        # The demo Jira is synced over HTTP like a real one (the same code `agentpm sync jira` runs).
        async with JiraClient(JiraConfig.from_settings(settings)) as client:
            for project in ("PAY", "WEB"):
                await ProjectSync(services.db, client, self.jira.base_url).run(project, full=True)
            await sync_metadata(services.db, client, ["PAY", "WEB"])  # issue types and priorities
        if services.jobs.search is not None:  # embed the demo issues (a second or two) so search is hybrid
            await asyncio.to_thread(index_pending, services.db, services.jobs.search.embedder)
        self.bot = build_app(services)
        self.runner = web.AppRunner(build_web_app(self.bot), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self.http = aiohttp.ClientSession()
        await warm_bot(self.bot)
        self.seen = len(self.slack.calls)

    async def stop(self) -> None:
        if self.http:
            await self.http.close()
        if self.runner:
            await self.runner.cleanup()
        await self.slack.stop()
        await self.jira.stop()
        self.tmp.cleanup()

    def switch(self, who: str) -> str:
        """`:as you|admin|outsider|guest`: speak as someone else from now on."""
        who = who.strip().lower()
        person = PEOPLE.get(who)
        if person is None:
            return f"(unknown person {who!r}; choose one of: {', '.join(PEOPLE)})"
        self.user_id = person[0]
        email = self.as_email if who == "you" else person[1]
        return f"(you are now {who}: {email})"

    async def send_line(self, line: str) -> list[str]:
        """Send one typed line; return the blocks of text the bot showed, in order."""
        if line.startswith(":as"):
            return [self.switch(line[3:])]
        if self.http is None or self.bot is None:
            raise RuntimeError("Terminal.start() was not called")
        if line.startswith("/"):
            command, _, text = line.partition(" ")
            form: dict[str, str] = {
                "token": "unused",
                "team_id": TEAM_ID,
                "team_domain": "try",
                "channel_id": CHANNEL_ID,
                "channel_name": "general",
                "user_id": self.user_id,
                "user_name": self.as_email.split("@", 1)[0],
                "command": command,
                "text": text.strip(),
                "api_app_id": "A0TRY",
                "response_url": self.slack.new_response_url(),
                "trigger_id": uuid.uuid4().hex,
            }
            body, content_type = urlencode(form), "application/x-www-form-urlencoded"
        elif line.strip() == ":meeting":
            return await self._demo_meeting()
        elif line.startswith(":say"):
            body, content_type = self._event(self._channel_message(line[len(":say") :].strip()))
        elif line.strip() == ":home":
            home = {"type": "app_home_opened", "user": self.user_id, "channel": "D0TRY", "tab": "home"}
            body, content_type = self._event(home)
        elif line.startswith(":ticket"):
            body, content_type = self._shortcut(line[len(":ticket") :].strip())
        elif line.startswith(":submit"):
            submitted = await self._submission(line[len(":submit") :].strip())
            if isinstance(submitted, str):
                return [submitted]
            body, content_type = submitted
        else:
            body, content_type = self._event(self._mention(line))
        status, answer = await self._post(body, content_type)
        shown: list[str] = []
        if status == 404:
            shown.append("(nothing handles that yet; try /pm help)")
        elif status >= 400:
            shown.append(f"(the bot answered HTTP {status})")
        elif answer.strip().startswith("{"):
            ack = json.loads(answer)
            shown.append(_render_ack(ack))
        elif answer.strip():
            shown.append(answer.strip())
        await self._settle()
        shown.extend(self._new_posts(show_home=line.strip() == ":home"))
        return shown

    async def _post(self, body: str, content_type: str) -> tuple[int, str]:
        if self.http is None:
            raise RuntimeError("Terminal.start() was not called")
        headers = signed_headers(self.signing_secret, body, content_type)
        async with self.http.post(self.url, data=body, headers=headers) as resp:
            return resp.status, await resp.text()

    def _event(self, event: dict[str, str]) -> tuple[str, str]:
        payload = {
            "token": "unused", "team_id": TEAM_ID, "api_app_id": "A0TRY", "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:10].upper(), "event_time": int(time.time()), "event": event,
        }  # fmt: skip
        return json.dumps(payload), "application/json"

    def _interaction(self, payload: dict[str, Any]) -> tuple[str, str]:
        payload = {"team": {"id": TEAM_ID}, "user": {"id": self.user_id, "team_id": TEAM_ID},
                   "api_app_id": "A0TRY", **payload}  # fmt: skip
        return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"

    def _shortcut(self, text: str) -> tuple[str, str]:
        """`:ticket <message>`: post the message, then use "Create Jira issue" on it."""
        text = text or "Checkout shows a blank page after 3-D Secure on Safari"
        ts = self.slack.add_message(CHANNEL_ID, text, user=self.user_id)
        message = {"type": "message", "user": self.user_id, "ts": ts, "text": text}
        return self._interaction({
            "type": "message_action", "callback_id": SHORTCUT_CREATE_JIRA_ISSUE, "message": message,
            "channel": {"id": CHANNEL_ID, "name": "general"}, "message_ts": ts,
            "trigger_id": uuid.uuid4().hex, "response_url": self.slack.new_response_url(),
        })  # fmt: skip

    def _suggest(self, view: dict[str, Any]) -> Suggest:
        """What the form's typeahead offers, asked of the bot as Slack would (``block_suggestion``)."""

        async def suggest(action_id: str, query: str, values: dict[str, Any]) -> list[dict[str, Any]]:
            payload = {"type": "block_suggestion", "action_id": action_id, "block_id": "b", "value": query,
                       "view": {"id": view["id"], "type": "modal", "state": {"values": values}}}  # fmt: skip
            status, answer = await self._post(*self._interaction(payload))
            return list(json.loads(answer).get("options") or []) if status == 200 and answer else []

        return suggest

    async def _settle(self) -> None:
        """Wait for what the bot does after its answer (background work and in-process jobs)."""
        if self.bot is None:
            return
        await self.bot.services.after_ack.drain()
        queue = self.bot.services.queue
        if isinstance(queue, InProcessQueue):
            await asyncio.to_thread(queue.drain, 60.0)

    async def _submission(self, text: str) -> tuple[str, str] | str:
        """`:submit field=value …`: submit the open modal, keeping what it prefilled."""
        view = self.slack.last_modal()
        if view is None or not view.get("callback_id"):
            return "(no form is open; `:ticket <message>` or `/pm ticket` opens one)"

        try:
            values = await fill(view, parse_assignments(text), self._suggest(view))
        except InvalidInput as exc:
            return f"({exc.user_message})"
        submitted = {k: view.get(k) for k in ("id", "type", "callback_id", "private_metadata", "hash")}
        return self._interaction({"type": "view_submission", "trigger_id": uuid.uuid4().hex,
                                  "view": {**submitted, "state": {"values": values}}})  # fmt: skip

    def _channel_message(self, text: str) -> dict[str, str]:
        """`:say …`: a message in #general (stored if `/pm index channel on` was used there)."""
        text = text or "The refund webhook is retried three times before it gives up"
        ts = self.slack.add_message(CHANNEL_ID, text, user=self.user_id)
        return {"type": "message", "channel": CHANNEL_ID, "channel_type": "channel", "user": self.user_id,
                "text": text, "ts": ts}  # fmt: skip

    async def _demo_meeting(self) -> list[str]:
        """`:meeting`: paste the demo planning call's transcript into `/pm meeting` and save it."""
        shown = await self.send_line("/pm meeting")
        filename, transcript = demo_transcript()
        notes = read_notes(filename, transcript.encode())
        view = self.slack.last_modal()
        if view is None:
            return shown
        values = await fill(view, {"title": "Northwind weekly planning", "notes": notes}, self._suggest(view))
        submitted = {k: view.get(k) for k in ("id", "type", "callback_id", "private_metadata", "hash")}
        body, content_type = self._interaction(
            {"type": "view_submission", "view": {**submitted, "state": {"values": values}}}
        )
        await self._post(body, content_type)
        await self._settle()
        return [*shown, *self._new_posts()]

    def _mention(self, line: str) -> dict[str, str]:
        """A message mentioning the bot; `:reply …` continues the thread of the last question."""
        thread_ts = None
        if line.startswith(":reply"):
            line, thread_ts = line[len(":reply") :].strip(), self.thread_ts
        text = f"<@{self.slack.bot_user_id}> {line}"
        ts = self.slack.add_message(CHANNEL_ID, text, user=self.user_id, thread_ts=thread_ts)
        self.thread_ts = thread_ts or ts
        event = {"type": "app_mention", "user": self.user_id, "channel": CHANNEL_ID, "ts": ts, "text": text}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    def _new_posts(self, *, show_home: bool = False) -> list[str]:
        """What the bot posted since the last line; a message updated meanwhile is shown once, as it ended.
        The App Home is republished after many changes; it is shown when asked for (`:home`)."""
        calls = [
            c for c in self.slack.calls[self.seen :]
            if c.method in SHOWN_METHODS and not c.failed and (show_home or c.method != "views.publish")
        ]  # fmt: skip
        self.seen = len(self.slack.calls)
        final: dict[str, SlackCall] = {}
        for call in calls:
            if call.method == "chat.update":
                final[str(call.args.get("ts"))] = call
            elif call.method == "views.update":
                final[str(call.args.get("view_id"))] = call
        opened = {str((c.response.get("view") or {}).get("id")) for c in calls if c.method == "views.open"}
        shown = []
        for call in calls:
            if call.method == "chat.update" or (
                call.method == "views.update" and str(call.args.get("view_id")) in opened
            ):
                continue
            ts = call.response.get("ts") or (call.response.get("view") or {}).get("id")
            last = final.get(str(ts)) if ts else None
            if last is not None and call.args.get("thread_ts"):  # an update stays where the message is
                last = dataclasses.replace(last, args={**last.args, "thread_ts": call.args["thread_ts"]})
            text = _render_call(last if last is not None else call)
            if text:
                shown.append(text)
        return shown


def _render_ack(ack: dict[str, Any]) -> str:
    """What the bot answered right away: a message, or (to a form) errors or a new view."""
    if ack.get("response_action") == "errors":
        errors = "; ".join(f"{field}: {message}" for field, message in (ack.get("errors") or {}).items())
        return f"(the form says: {errors})"
    if ack.get("response_action") in ("update", "push") and isinstance(ack.get("view"), dict):
        return "[modal]\n" + render_view(ack["view"])
    private = "(only visible to you) " if ack.get("response_type", "ephemeral") == "ephemeral" else ""
    return private + render_message(ack)


def _render_call(call: SlackCall) -> str:
    args = call.args
    if call.method.startswith("views."):
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        label = "App Home" if call.method == "views.publish" else "modal"
        return f"[{label}]\n" + render_view(view or {})
    for key in ("blocks", "attachments"):
        if isinstance(args.get(key), str):
            args = {**args, key: json.loads(args[key])}
    text = render_message(args)
    prefix = (
        "(only visible to you) "
        if call.method in ("chat.postEphemeral",)
        or (call.method == "response_url" and args.get("response_type") != "in_channel")
        else ""
    )
    if args.get("thread_ts"):
        return "\n".join("    │ " + line for line in (prefix + text).splitlines())
    return prefix + text


async def _run(as_email: str, database_url: str | None) -> int:
    terminal = Terminal(as_email, database_url)
    interactive = sys.stdin.isatty()
    try:
        await terminal.start()
        if interactive:
            print(
                "Agent PM in your terminal. Type /pm help, or a question (`:reply …` follows up in its "
                'thread). `:home` shows your App Home; `:ticket <message>` uses "Create Jira issue" on a '
                "message and `:submit field=value …` sends the open form; `:as admin|you|outsider|guest` "
                "changes who you are; Ctrl-D to leave."
            )
        while True:
            if interactive:
                print("› ", end="", flush=True)
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            if not interactive:
                print(f"» {line}")
            for text in await terminal.send_line(line):
                print(text)
            print()
    finally:
        await terminal.stop()
    return 0


def run_terminal(as_email: str, database_url: str | None = None) -> int:
    configure_logging("console", logging.WARNING)
    logging.getLogger("slack_bolt").setLevel(logging.ERROR)  # "unhandled request" hints are for developers
    return asyncio.run(_run(as_email, database_url))
