"""Meeting notes in Slack over HTTP: `/pm meeting` → modal → notes message → action items in its thread
(rules, no language model) → Add TODO / Dismiss / Create Jira issue (against LocalJira) and their refusals;
notes files shared in the bot's DM (downloaded with the bot token from a fake Slack file host); who finds
the notes in search. PostgreSQL, the fake Slack and the fake Jira run for real.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_asyncio
from aiohttp import web
from sqlalchemy import select

from bot import ids
from bot.localjira import LocalJira
from bot.localserver import LocalServer
from bot.sender import SlackDownloadError, SlackSender
from core.channels.membership import personal_channel
from core.config import Role
from core.db.knowledge_tables import Meeting, MeetingActionItem
from core.db.models import Document
from core.db.schedule_tables import Todo
from core.demo.meeting import demo_transcript
from core.errors import InvalidInput
from core.jira.client import JiraClient
from core.jira.meta import sync_metadata
from core.jira.sync import ProjectSync
from core.jobs.inprocess import InProcessQueue
from core.search.service import Viewer, search
from tests.fakes.slack import CHANNEL_ID, TEAM_ID, LocalSlack
from tests.integration.harness import Running, bot_settings, running_bot
from tests.integration.jira_people import (
    ALICE_EMAIL,
    SERVICE_EMAIL,
    SERVICE_TOKEN,
    email_for,
    local_jira,
    service,
)

pytestmark = pytest.mark.integration

BOT_TOKEN = "xoxb-test-token"  # bot_settings' token
NOTES = """Payments sync, 3 March
- <@U0BOB> will rotate the webhook signing secret by Friday
- Alice: I'll write the refund retry runbook
- Action item: add alerting for SEPA timeouts
- We discussed the Q3 roadmap; nothing to do there."""


class SlackFiles(LocalServer):
    """Files as Slack serves them from ``url_private_download``: only with the bot token as a Bearer."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.downloads: list[str | None] = []  # the Authorization header of each request

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/files-pri/{name}", self._file)

    def add(self, name: str, data: bytes) -> dict[str, Any]:
        """A file as a ``file_share`` event lists it."""
        self.files[name] = data
        return {
            "id": "F" + uuid.uuid4().hex[:8].upper(), "name": name, "title": name, "size": len(data),
            "url_private": f"{self.base_url}/files-pri/{name}",
            "url_private_download": f"{self.base_url}/files-pri/{name}",
        }  # fmt: skip

    async def _file(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization")
        self.downloads.append(auth)
        if auth != f"Bearer {BOT_TOKEN}":
            return web.Response(text="<html>sign in</html>", content_type="text/html")
        data = self.files.get(request.match_info["name"])
        return web.Response(body=data) if data is not None else web.Response(status=404)


@pytest_asyncio.fixture
async def jira() -> AsyncIterator[LocalJira]:
    async with local_jira("cloud") as server:
        yield server


@pytest_asyncio.fixture
async def files() -> AsyncIterator[SlackFiles]:
    async with SlackFiles() as server:
        yield server


@pytest_asyncio.fixture
async def bot(
    slack: LocalSlack, signing_secret: str, migrated_pg: str, jira: LocalJira
) -> AsyncIterator[Running]:
    slack.add_user("U0ALICE", ALICE_EMAIL, "Alice Example", team_id=TEAM_ID)
    slack.add_user("U0BOB", "bob@northwind.example", "bob", team_id=TEAM_ID, tz="Europe/Berlin")
    slack.add_user("U0EVIL", "mallory@evil.example", "mallory", team_id=TEAM_ID)
    settings = bot_settings(
        slack, signing_secret, migrated_pg, jira_base_url=jira.base_url,
        jira_email=email_for(jira.flavour, SERVICE_EMAIL), jira_api_token=SERVICE_TOKEN,
    )  # fmt: skip
    async with running_bot(settings, slack, queue=InProcessQueue()) as running:
        async with JiraClient(service(jira)) as client:
            await ProjectSync(running.bot.services.db, client, jira.base_url).run("PAY", full=True)
            await sync_metadata(running.bot.services.db, client, ["PAY"])
        yield running


def as_dict(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def blocks_of(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def buttons(args: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in blocks_of(args) if b["type"] == "actions" for e in b["elements"]]


def value_of(args: dict[str, Any], action_id: str, number: int) -> str:
    """The value of item ``number``'s (1-based, among open items) ``action_id`` button."""
    found = [b["value"] for b in buttons(args) if b["action_id"] == action_id]
    return str(found[number - 1])


def todos(bot: Running) -> list[Todo]:
    with bot.bot.services.db.session() as session:
        return list(session.scalars(select(Todo).order_by(Todo.id)))


def items(bot: Running) -> list[MeetingActionItem]:
    with bot.bot.services.db.session() as session:
        return list(session.scalars(select(MeetingActionItem).order_by(MeetingActionItem.position)))


async def click(
    bot: Running, action_id: str, value: str, *, channel: str, ts: str, thread_ts: str | None,
    user_id: str = "U0ALICE",
) -> None:  # fmt: skip
    """A click on a button of the bot's message ``ts`` (a thread reply of ``thread_ts``)."""
    payload = {
        "type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": user_id, "team_id": TEAM_ID},
        "api_app_id": "A0TEST", "trigger_id": uuid.uuid4().hex, "channel": {"id": channel},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "message": {"type": "message", "ts": ts, "thread_ts": thread_ts, "user": "U0AGENTPM"},
        "response_url": bot.slack.new_response_url(),
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value}],
    }  # fmt: skip
    body = urlencode({"payload": json.dumps(payload)})
    status, _, _ = await bot.post(body, bot.requests.headers(body, "application/x-www-form-urlencoded"))
    assert status == 200
    await bot.drain()


def last_reply(bot: Running) -> str:
    return json.dumps(bot.slack.calls_to("response_url")[-1].args)


def share_event(
    file: dict[str, Any], *, user: str = "U0ALICE", ts: str = "1700000100.000100"
) -> dict[str, Any]:
    return {
        "type": "message", "subtype": "file_share", "channel_type": "im", "channel": "D0ALICE", "user": user,
        "ts": ts, "text": "", "files": [file],
    }  # fmt: skip


async def pasted(bot: Running, notes: str, *, title: str = "Payments sync", channel: str = CHANNEL_ID) -> str:
    """`/pm meeting` typed in ``channel``, the modal submitted; returns its private_metadata."""
    status, body, _ = await bot.command("meeting", channel_id=channel)
    assert (status, body) == (200, "")
    await bot.drain()
    modal = as_dict(bot.slack.calls_to("views.open")[-1].args["view"])
    assert modal["callback_id"] == ids.VIEW_MEETING_NOTES
    values = {
        ids.BLOCK_MEETING_TITLE: {ids.ACTION_VALUE: {"type": "plain_text_input", "value": title}},
        ids.BLOCK_MEETING_NOTES: {ids.ACTION_VALUE: {"type": "plain_text_input", "value": notes}},
    }
    status, body, _ = await bot.post(
        *bot.requests.view_submission_with(ids.VIEW_MEETING_NOTES, values, modal["private_metadata"])
    )
    assert (status, body) == (200, "")  # the modal closes
    await bot.drain()
    return str(modal["private_metadata"])


async def jira_form(bot: Running, summary: str, description: str) -> dict[str, Any]:
    async def options(action_id: str, query: str, values: dict[str, Any] | None = None) -> list[Any]:
        _, body, _ = await bot.post(*bot.requests.options(action_id, query, values=values))
        return list(json.loads(body)["options"])

    project = next(o for o in await options(ids.ACTION_PICK_PROJECT, "pa") if o["value"] == "PAY")
    state = {ids.BLOCK_ISSUE_PROJECT: {ids.ACTION_PICK_PROJECT: {"selected_option": project}}}
    task = next(
        o for o in await options(ids.ACTION_PICK_ISSUE_TYPE, "", state) if o["text"]["text"] == "Task"
    )
    return {
        **state,
        ids.BLOCK_ISSUE_TYPE: {ids.ACTION_PICK_ISSUE_TYPE: {"selected_option": task}},
        ids.BLOCK_ISSUE_SUMMARY: {ids.ACTION_VALUE: {"value": summary}},
        ids.BLOCK_ISSUE_DESCRIPTION: {ids.ACTION_VALUE: {"value": description}},
    }


async def test_pasted_notes_then_todo_dismiss_and_jira_from_their_action_items(
    bot: Running, jira: LocalJira
) -> None:
    await bot.command("help", user_id="U0BOB")  # Bob is known to the bot (his Home and time zone)
    # The modal: the notes are required; Slack's 3,000-character cap is said in it.
    status, _, _ = await bot.command("meeting")
    await bot.drain()
    modal = as_dict(bot.slack.calls_to("views.open")[-1].args["view"])
    assert "3,000 characters" in json.dumps(modal)
    assert json.loads(modal["private_metadata"]) == {"channel_id": CHANNEL_ID}
    _, body, _ = await bot.post(
        *bot.requests.view_submission_with(ids.VIEW_MEETING_NOTES, {}, modal["private_metadata"])
    )
    assert json.loads(body) == {
        "response_action": "errors",
        "errors": {ids.BLOCK_MEETING_NOTES: "Paste the meeting notes."},
    }

    await pasted(bot, NOTES)
    notes_post, items_post = bot.slack.calls_to("chat.postMessage")[-2:]
    assert notes_post.args["channel"] == CHANNEL_ID
    assert "Meeting notes: Payments sync" in notes_post.args["text"]
    thread = str(notes_post.response["ts"])
    assert (items_post.args["channel"], items_post.args["thread_ts"]) == (CHANNEL_ID, thread)
    shown = json.dumps(blocks_of(items_post.args))
    assert "3 action items from" in shown
    assert "Rotate the webhook signing secret by Friday" in shown
    assert "owner <@U0BOB>" in shown
    assert "due Friday" in shown
    assert "Found by simple rules" in shown  # no language model configured
    assert [b["text"]["text"] for b in buttons(items_post.args)[:3]] == [
        "Add TODO",
        "Create Jira issue",
        "Dismiss",
    ]
    assert len(buttons(items_post.args)) == 9
    with bot.bot.services.db.session() as session:
        meeting = session.scalars(select(Meeting)).one()
        document = session.get_one(Document, meeting.document_id)
        assert (meeting.channel_id, meeting.thread_ts, meeting.items_method) == (CHANNEL_ID, thread, "rules")
        assert document.channel_id == CHANNEL_ID  # the channel's members find it
        assert document.url == f"https://localslack.test/archives/{CHANNEL_ID}/p{thread.replace('.', '')}"
    where = {"channel": CHANNEL_ID, "ts": str(items_post.response["ts"]), "thread_ts": thread}

    # Add TODO: the notes name Bob (a Slack user), so the TODO is his, due Friday, linked to the notes.
    first = value_of(items_post.args, ids.ACTION_ITEM_TODO, 1)
    await click(bot, ids.ACTION_ITEM_TODO, first, **where)
    (todo,) = todos(bot)
    assert (todo.owner_slack_id, todo.creator_slack_id) == ("U0BOB", "U0ALICE")
    assert todo.text == "Rotate the webhook signing secret by Friday"
    assert todo.due is not None
    assert todo.due.weekday() == 4
    assert todo.permalink == document.url
    redrawn = bot.slack.calls_to("chat.update")[-1].args
    assert (redrawn["channel"], redrawn["ts"]) == (CHANNEL_ID, where["ts"])
    assert f"added as TODO #{todo.id} by <@U0ALICE>" in json.dumps(blocks_of(redrawn))
    assert len(buttons(redrawn)) == 6  # the decided item has no buttons left
    assert "Added as a TODO" in last_reply(bot)
    told = [c for c in bot.slack.calls_to("chat.postMessage") if c.args["channel"] == "U0BOB"]
    assert "gave you a TODO from meeting notes" in json.dumps(told[-1].args)
    assert {c.args["user_id"] for c in bot.slack.calls_to("views.publish")} >= {"U0ALICE", "U0BOB"}

    # A second click, or another decision on it, is refused with what became of it; nothing is made twice.
    await click(bot, ids.ACTION_ITEM_TODO, first, **where, user_id="U0BOB")
    assert f"already added as TODO #{todo.id}" in last_reply(bot)
    await click(bot, ids.ACTION_ITEM_DISMISS, first, **where)
    assert f"already added as TODO #{todo.id}" in last_reply(bot)
    assert len(todos(bot)) == 1

    # Dismiss the second; a second Dismiss is refused too.
    second = value_of(redrawn, ids.ACTION_ITEM_DISMISS, 1)
    await click(bot, ids.ACTION_ITEM_DISMISS, second, **where)
    redrawn = bot.slack.calls_to("chat.update")[-1].args
    assert "~Write the refund retry runbook~" in json.dumps(blocks_of(redrawn))
    assert "dismissed by <@U0ALICE>" in json.dumps(blocks_of(redrawn))
    await click(bot, ids.ACTION_ITEM_DISMISS, second, **where)
    assert "already dismissed" in last_reply(bot)

    # Create Jira issue: the create-issue form opens prefilled; submitting it creates the issue in Jira,
    # confirms in the thread and marks the item with the key.
    third = value_of(redrawn, ids.ACTION_ITEM_JIRA, 1)
    await click(bot, ids.ACTION_ITEM_JIRA, third, **where)
    form = as_dict(bot.slack.calls_to("views.update")[-1].args["view"])
    assert form["callback_id"] == ids.VIEW_CREATE_ISSUE
    prefilled = {
        b["block_id"]: b["element"].get("initial_value") for b in form["blocks"] if b["type"] == "input"
    }
    assert prefilled[ids.BLOCK_ISSUE_SUMMARY] == "Add alerting for SEPA timeouts"
    assert "Payments sync" in prefilled[ids.BLOCK_ISSUE_DESCRIPTION]
    assert document.url in prefilled[ids.BLOCK_ISSUE_DESCRIPTION]
    assert json.loads(form["private_metadata"])["action_item_id"] == items(bot)[2].id
    values = await jira_form(bot, prefilled[ids.BLOCK_ISSUE_SUMMARY], prefilled[ids.BLOCK_ISSUE_DESCRIPTION])
    status, body, _ = await bot.post(
        *bot.requests.view_submission_with(ids.VIEW_CREATE_ISSUE, values, form["private_metadata"])
    )
    assert (status, body) == (200, "")
    await bot.drain()
    (issue,) = [i for i in jira.issues.values() if i["fields"]["summary"] == "Add alerting for SEPA timeouts"]
    key = issue["key"]
    assert "Payments sync" in json.dumps(issue["fields"]["description"])
    confirmation = [c for c in bot.slack.calls_to("chat.postMessage") if key in json.dumps(c.args)][-1]
    assert confirmation.args["thread_ts"] == thread
    redrawn = bot.slack.calls_to("chat.update")[-1].args
    assert f"{key} created by <@U0ALICE>" in json.dumps(blocks_of(redrawn))
    assert buttons(redrawn) == []
    assert [(i.status, i.jira_key) for i in items(bot)] == [
        ("todo", None),
        ("dismissed", None),
        ("jira", key),
    ]
    await click(bot, ids.ACTION_ITEM_JIRA, third, **where)
    assert f"already made Jira issue {key}" in last_reply(bot)
    assert len(bot.slack.calls_to("views.open")) == 3  # two modals for /pm meeting, one form: no second form

    # Search: the channel's notes are found by its members' Viewer, not by someone outside the channel.
    with bot.bot.services.db.session() as session:
        member = Viewer(role=Role.USER, channels=frozenset({CHANNEL_ID, personal_channel("U0ALICE")}))
        outsider = Viewer(role=Role.USER, channels=frozenset({personal_channel("U0BOB")}))
        assert [r.title for r in search(session, "webhook signing secret", member)] == ["Payments sync"]
        assert search(session, "webhook signing secret", outsider) == []


async def test_notes_pasted_in_a_dm_stay_private(bot: Running) -> None:
    await pasted(bot, "Retro\nI'll book the offsite venue by Friday", title="Team retro", channel="D0ALICE")
    notes_post, items_post = bot.slack.calls_to("chat.postMessage")[-2:]
    assert notes_post.args["channel"] == "U0ALICE"  # the bot's own DM with her
    assert items_post.args["thread_ts"] == notes_post.response["ts"]
    assert "Book the offsite venue by Friday" in json.dumps(blocks_of(items_post.args))
    with bot.bot.services.db.session() as session:
        document = session.scalars(select(Document).where(Document.source == "meeting")).one()
        assert document.channel_id == personal_channel("U0ALICE")
        alice = Viewer(role=Role.USER, channels=frozenset({personal_channel("U0ALICE")}))
        bob = Viewer(role=Role.USER, channels=frozenset({personal_channel("U0BOB"), CHANNEL_ID}))
        assert [r.title for r in search(session, "offsite venue", alice)] == ["Team retro"]
        assert search(session, "offsite venue", bob) == []


async def test_a_channel_that_refuses_the_bot_keeps_the_notes_private(bot: Running) -> None:
    bot.slack.fail_next("chat.postMessage", error="not_in_channel")
    await pasted(bot, "Alice: I'll migrate the ledger tables", channel="G0SECRET")
    notes_post = [c for c in bot.slack.calls_to("chat.postMessage") if not c.failed][-2]
    assert notes_post.args["channel"] == "U0ALICE"
    assert "can't post in that channel" in json.dumps(notes_post.args)
    with bot.bot.services.db.session() as session:
        document = session.scalars(select(Document).where(Document.source == "meeting")).one()
        assert document.channel_id == personal_channel("U0ALICE")


async def test_a_transcript_shared_in_the_dm_is_read_and_its_items_posted(
    bot: Running, files: SlackFiles
) -> None:
    name, text = demo_transcript()
    file = files.add(name, text.encode())
    status, _, _ = await bot.post(*bot.requests.event(share_event(file)))
    assert status == 200
    await bot.drain()
    assert files.downloads == [f"Bearer {BOT_TOKEN}"]
    in_thread = [
        c for c in bot.slack.calls_to("chat.postMessage") if c.args.get("thread_ts") == "1700000100.000100"
    ]
    assert [c.args["channel"] for c in in_thread] == ["D0ALICE", "D0ALICE"]
    assert "Only you will find it" in json.dumps(in_thread[0].args)
    posted = json.dumps(blocks_of(in_thread[1].args), ensure_ascii=False)
    assert "6 action items from" in posted
    assert "Add idempotency keys to the refund retry job by Friday" in posted
    assert "owner Tomás Ribeiro" in posted
    posts = [c.method for c in bot.slack.calls if c.method.startswith("chat.post")]
    assert posts == ["chat.postMessage", "chat.postMessage"]  # not answered as a question as well
    with bot.bot.services.db.session() as session:
        meeting = session.scalars(select(Meeting)).one()
        assert (meeting.format, meeting.thread_ts, meeting.posted_by) == (
            "vtt",
            "1700000100.000100",
            "U0ALICE",
        )
        document = session.get_one(Document, meeting.document_id)
        assert "Tomás Ribeiro: I'll add idempotency keys" in document.body
        assert "-->" not in document.body
        alice = Viewer(role=Role.USER, channels=frozenset({personal_channel("U0ALICE")}))
        bob = Viewer(role=Role.USER, channels=frozenset({personal_channel("U0BOB"), CHANNEL_ID}))
        assert search(session, "idempotency keys refund retry", alice)
        assert search(session, "idempotency keys refund retry", bob) == []


async def test_an_unsupported_or_unreadable_file_gets_a_clear_reply(bot: Running, files: SlackFiles) -> None:
    deck = files.add("roadmap.pdf", b"%PDF-1.7")
    await bot.post(*bot.requests.event(share_event(deck)))
    await bot.drain()
    reply = bot.slack.calls_to("chat.postMessage")[-1].args
    assert (reply["channel"], reply["thread_ts"]) == ("D0ALICE", "1700000100.000100")
    assert "roadmap.pdf: I can read meeting notes as .txt, .md, .vtt or .srt files." in reply["text"]
    assert files.downloads == []  # refused before downloading

    empty = files.add("empty.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n\n")
    await bot.post(*bot.requests.event(share_event(empty, ts="1700000200.000100")))
    await bot.drain()
    assert (
        "empty.vtt: That file has no text in it." in bot.slack.calls_to("chat.postMessage")[-1].args["text"]
    )
    with bot.bot.services.db.session() as session:
        assert session.scalars(select(Meeting)).all() == []


async def test_a_file_from_someone_refused_is_never_downloaded(bot: Running, files: SlackFiles) -> None:
    notes = files.add("notes.txt", b"I'll leak the roadmap")
    await bot.post(*bot.requests.event(share_event(notes, user="U0EVIL")))
    await bot.drain()
    assert files.downloads == []
    assert ":warning:" in json.dumps(bot.slack.calls[-1].args)


async def test_download_keeps_the_token_on_slack_and_caps_the_size(files: SlackFiles) -> None:
    sender = SlackSender(BOT_TOKEN, f"{files.base_url}/api/")
    big = files.add("big.txt", b"x" * 2048)
    assert await asyncio.to_thread(sender.download, big["url_private_download"], 4096) == b"x" * 2048
    with pytest.raises(InvalidInput, match="over"):
        await asyncio.to_thread(sender.download, big["url_private_download"], 1000)
    with pytest.raises(SlackDownloadError):  # the token is never sent elsewhere
        await asyncio.to_thread(sender.download, "https://files.example.com/x.txt", 1000)
    with pytest.raises(SlackDownloadError):
        await asyncio.to_thread(sender.download, "file:///etc/passwd", 1000)
    wrong = SlackSender("xoxb-wrong", f"{files.base_url}/api/")
    with pytest.raises(SlackDownloadError):  # Slack's sign-in page instead of the file
        await asyncio.to_thread(wrong.download, big["url_private_download"], 4096)
    assert files.downloads[-1] == "Bearer xoxb-wrong"
