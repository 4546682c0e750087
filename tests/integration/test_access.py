"""Who may do what: every registered sub-command, shortcut, button and view against every kind of caller.

A refused caller gets one private message and nothing else: nothing enqueued, no modal, no data read.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot import ids
from bot.guard import Access
from core.config import Role
from core.db.models import AuditEvent, Credential
from core.users.identity import ROLE_RANK
from tests.fakes.services import FakeServices
from tests.fakes.slack import LocalSlack, SlackRequests
from tests.integration.harness import Running, bot_settings, running_bot

pytestmark = pytest.mark.integration

DOMAIN = "northwind.example"


@dataclass(frozen=True)
class Caller:
    name: str
    user_id: str
    email: str
    role: Role | None = None  # None: refused before any role is considered
    flags: tuple[tuple[str, Any], ...] = ()
    display: str = ""


CALLERS = [
    Caller("admin", "U0ROOT", f"root@{DOMAIN}", Role.ADMIN),
    Caller("user", "U0ALICE", f"alice@{DOMAIN}", Role.USER),
    Caller("no_access", "U0NOACC", f"noaccess@{DOMAIN}", Role.NO_ACCESS),
    Caller("lookalike_domain", "U0EVIL", "mallory@evil-northwind.example"),
    Caller("suffix_domain", "U0SUFFIX", f"mallory@{DOMAIN}.evil.org"),
    Caller("display_name_trick", "U0TRICK", "trick@evil.org", display=f"root@{DOMAIN}"),
    Caller("guest", "U0GUEST", f"guest@{DOMAIN}", flags=(("is_restricted", True),)),
    Caller("single_channel_guest", "U0SCG", f"scg@{DOMAIN}", flags=(("is_ultra_restricted", True),)),
    Caller("deactivated", "U0GONE", f"gone@{DOMAIN}", flags=(("deleted", True),)),
    Caller("bot", "U0BOT", f"bot@{DOMAIN}", flags=(("is_bot", True),)),
    Caller("other_workspace", "U0OTHER", f"other@{DOMAIN}", flags=(("team_id", "T0OTHER"),)),
]

TOKEN = "good-jira-token-1234567890"


def command(text: str) -> Callable[[SlackRequests, str], tuple[str, dict[str, str]]]:
    return lambda requests, user_id: requests.command(text, user_id=user_id)


def jira_modal(requests: SlackRequests, user_id: str) -> tuple[str, dict[str, str]]:
    values = {
        ids.BLOCK_JIRA_EMAIL: {ids.ACTION_VALUE: {"value": f"alice@{DOMAIN}"}},
        ids.BLOCK_JIRA_TOKEN: {ids.ACTION_VALUE: {"value": TOKEN}},
    }
    return requests.view_submission(ids.VIEW_CONNECT_JIRA, values, user_id=user_id)


def options_request(action_id: str) -> Callable[[SlackRequests, str], tuple[str, dict[str, str]]]:
    return lambda requests, user_id: requests.options(action_id, "pa", user_id=user_id)


def todo_button(action_id: str) -> Callable[[SlackRequests, str], tuple[str, dict[str, str]]]:
    return lambda requests, user_id: requests.block_action(action_id, '{"id": 1}', user_id=user_id)


def action_item_button(action_id: str) -> Callable[[SlackRequests, str], tuple[str, dict[str, str]]]:
    return lambda requests, user_id: requests.block_action(action_id, '{"item_id": 1}', user_id=user_id)


ISSUE_REF = '{"key": "PAY-1", "url": "https://example.com/browse/PAY-1"}'

# One request per registered surface entry; a new listener without a row here fails the coverage test.
REQUESTS: dict[str, Callable[[SlackRequests, str], tuple[str, dict[str, str]]]] = {
    "command:help": command("help"),
    "command:status": command("status"),
    "command:sync": command("sync PAY"),
    "command:search": command("search checkout"),
    f"action:{ids.ACTION_SEARCH_MORE}": lambda requests, user_id: requests.block_action(
        ids.ACTION_SEARCH_MORE, '{"q": "checkout", "offset": 5}', user_id=user_id
    ),
    f"action:{ids.ACTION_SEARCH_SHARE}": lambda requests, user_id: requests.block_action(
        ids.ACTION_SEARCH_SHARE, '{"q": "checkout"}', user_id=user_id
    ),
    "command:ask": command("ask who owns checkout?"),
    "event:app_mention": lambda requests, user_id: requests.event(
        {
            "type": "app_mention",
            "user": user_id,
            "channel": "C0TEST",
            "ts": "1.000100",
            "text": "<@U0AGENTPM> hi?",
        }
    ),
    "event:message.im": lambda requests, user_id: requests.event(
        {
            "type": "message",
            "channel_type": "im",
            "user": user_id,
            "channel": "D0X",
            "ts": "1.2",
            "text": "hi?",
        }
    ),
    f"action:{ids.ACTION_ANSWER_HELPFUL}": lambda requests, user_id: requests.block_action(
        ids.ACTION_ANSWER_HELPFUL, '{"answer_id": 1, "vote": 1}', user_id=user_id
    ),
    f"action:{ids.ACTION_ANSWER_UNHELPFUL}": lambda requests, user_id: requests.block_action(
        ids.ACTION_ANSWER_UNHELPFUL, '{"answer_id": 1, "vote": -1}', user_id=user_id
    ),
    f"shortcut:{ids.SHORTCUT_FIND_SIMILAR}": lambda requests, user_id: requests.message_shortcut(
        ids.SHORTCUT_FIND_SIMILAR, "checkout is flaky", user_id=user_id
    ),
    "command:ticket": command("ticket Checkout is down"),
    f"shortcut:{ids.SHORTCUT_CREATE_JIRA_ISSUE}": lambda requests, user_id: requests.message_shortcut(
        ids.SHORTCUT_CREATE_JIRA_ISSUE, "checkout is down", user_id=user_id
    ),
    f"shortcut:{ids.SHORTCUT_NEW_JIRA_ISSUE}": lambda requests, user_id: requests.global_shortcut(
        ids.SHORTCUT_NEW_JIRA_ISSUE, user_id=user_id
    ),
    **{
        f"options:{action_id}": options_request(action_id)
        for action_id in (
            ids.ACTION_PICK_PROJECT,
            ids.ACTION_PICK_ISSUE_TYPE,
            ids.ACTION_PICK_PRIORITY,
            ids.ACTION_PICK_ASSIGNEE,
        )
    },
    f"view:{ids.VIEW_CREATE_ISSUE}": lambda requests, user_id: requests.view_submission(
        ids.VIEW_CREATE_ISSUE, {}, user_id=user_id
    ),
    "event:link_shared": lambda requests, user_id: requests.event(
        {
            "type": "link_shared",
            "user": user_id,
            "channel": "C0TEST",
            "message_ts": "1.1",
            "links": [{"domain": "example.com", "url": "https://example.com/browse/PAY-1"}],
        }
    ),
    f"action:{ids.ACTION_ISSUE_ASSIGN_ME}": lambda requests, user_id: requests.block_action(
        ids.ACTION_ISSUE_ASSIGN_ME, ISSUE_REF, user_id=user_id
    ),
    f"action:{ids.ACTION_ISSUE_COMMENT}": lambda requests, user_id: requests.block_action(
        ids.ACTION_ISSUE_COMMENT, ISSUE_REF, user_id=user_id
    ),
    f"action:{ids.ACTION_ISSUE_TRANSITION}": lambda requests, user_id: requests.unfurl_action(
        {
            "type": "static_select",
            "action_id": ids.ACTION_ISSUE_TRANSITION,
            "block_id": "issue_actions|PAY-1",
            "selected_option": {"text": {"type": "plain_text", "text": "Start"}, "value": "21"},
        },
        message_ts="1.1",
        url="https://example.com/browse/PAY-1",
        user_id=user_id,
    ),
    f"view:{ids.VIEW_ISSUE_COMMENT}": lambda requests, user_id: requests.view_submission_with(
        ids.VIEW_ISSUE_COMMENT,
        {ids.BLOCK_COMMENT: {ids.ACTION_VALUE: {"value": "hi"}}},
        '{"key": "PAY-1", "url": "https://example.com/browse/PAY-1"}',
        user_id=user_id,
    ),
    "command:todo": command("todo list"),
    "command:index": command("index channel on"),
    "command:digest": command("digest list"),
    "command:meeting": command("meeting"),
    f"view:{ids.VIEW_MEETING_NOTES}": lambda requests, user_id: requests.view_submission(
        ids.VIEW_MEETING_NOTES, {}, user_id=user_id
    ),
    **{
        f"action:{action_id}": action_item_button(action_id)
        for action_id in (ids.ACTION_ITEM_TODO, ids.ACTION_ITEM_JIRA, ids.ACTION_ITEM_DISMISS)
    },
    f"shortcut:{ids.SHORTCUT_ADD_TODO}": lambda requests, user_id: requests.message_shortcut(
        ids.SHORTCUT_ADD_TODO, "update the runbook", user_id=user_id
    ),
    f"view:{ids.VIEW_ADD_TODO}": lambda requests, user_id: requests.view_submission(
        ids.VIEW_ADD_TODO, {}, user_id=user_id
    ),
    f"view:{ids.VIEW_EDIT_TODO}": lambda requests, user_id: requests.view_submission(
        ids.VIEW_EDIT_TODO, {}, user_id=user_id
    ),
    **{
        f"action:{action_id}": todo_button(action_id)
        for action_id in (ids.ACTION_TODO_DONE, ids.ACTION_TODO_SNOOZE, ids.ACTION_TODO_EDIT)
    },
    f"action:{ids.ACTION_HOME_PERSONAL_DIGEST}": lambda requests, user_id: requests.home_action(
        {"type": "button", "action_id": ids.ACTION_HOME_PERSONAL_DIGEST, "block_id": "b", "value": "on"},
        user_id=user_id,
    ),
    "event:app_home_opened": lambda requests, user_id: requests.event(
        {"type": "app_home_opened", "user": user_id, "channel": "D0X", "tab": "home"}
    ),
    "command:admin": command("admin users"),
    "command:connect": command("connect jira"),
    "command:disconnect": command("disconnect jira"),
    "command:*": command("no-such-command"),
    f"view:{ids.VIEW_CONNECT_JIRA}": jira_modal,
}


class RecordingQueue:
    backend = "recording"

    def __init__(self) -> None:
        self.enqueued: list[str] = []

    def enqueue(self, name: str, payload: dict[str, Any]) -> str:
        self.enqueued.append(name)
        return str(len(self.enqueued))

    def pending(self) -> int:
        return 0

    def ping(self, timeout: float) -> int:
        return 1


@pytest_asyncio.fixture
async def fakes() -> AsyncIterator[FakeServices]:
    services = FakeServices()
    await services.start()
    services.add_jira_account(
        "Basic " + base64.b64encode(f"alice@{DOMAIN}:{TOKEN}".encode()).decode(), "Alice"
    )
    try:
        yield services
    finally:
        await services.stop()


@pytest_asyncio.fixture
async def bot(
    slack: LocalSlack, signing_secret: str, migrated_pg: str, fakes: FakeServices
) -> AsyncIterator[Running]:
    for caller in CALLERS:
        flags = dict(caller.flags)
        team = flags.pop("team_id", "T0TEST")
        slack.add_user(caller.user_id, caller.email, caller.display or caller.name, team_id=team, **flags)
    settings = bot_settings(
        slack, signing_secret, migrated_pg, jira_base_url=fakes.base_url, jira_api_token="service-token"
    )
    async with running_bot(settings, slack, queue=RecordingQueue()) as running:
        from core.users.service import grant

        with running.bot.services.db.session() as session:
            grant(session, f"noaccess@{DOMAIN}", Role.NO_ACCESS, [DOMAIN])
        yield running


def test_every_registered_surface_has_a_row_in_the_matrix() -> None:
    from bot.app import build_app
    from bot.wiring import build_services
    from core.config import load_settings

    settings = load_settings(database_url="sqlite://", redis_url=None, celery_broker_url=None)
    surface = build_app(build_services(settings)).surface
    people = {entry for entry, access in surface.access.items() if access is not None}
    assert people == set(REQUESTS)
    assert all(isinstance(surface.access[entry], Access) for entry in people)
    # Only what Slack itself sends goes without an identity check.
    # Channel messages are ingested for opted-in channels, never answered: no identity check either.
    assert set(surface.access) - people == {
        "event:app_uninstalled",
        "event:tokens_revoked",
        "event:message.channels",
        "event:message.groups",
    }


def expected_allowed(caller: Caller, access: Access) -> bool:
    return (
        caller.role is not None
        and caller.role is not Role.NO_ACCESS
        and (ROLE_RANK[caller.role] >= ROLE_RANK[access.role])
    )


async def test_role_matrix(bot: Running) -> None:
    queue = bot.bot.services.queue
    assert isinstance(queue, RecordingQueue)
    surface = bot.bot.surface
    failures: list[str] = []
    for entry, build in REQUESTS.items():
        access = surface.access[entry]
        assert access is not None
        for caller in CALLERS:
            before_calls = len(bot.slack.calls)
            before_jobs = len(queue.enqueued)
            status, text, _ = await bot.post(*build(bot.requests, caller.user_id))
            await bot.drain()
            new_calls = [c.method for c in bot.slack.calls[before_calls:] if c.method != "users.info"]
            refused = ":warning:" in text and (
                "Agent PM" in text or "guest" in text or "deactivated" in text or "admins" in text
            )
            refusal_posts = [
                c
                for c in bot.slack.calls[before_calls:]
                if c.method in ("chat.postEphemeral", "chat.postMessage")
                and ":warning:" in json.dumps(c.args)
            ]
            refused = refused or bool(refusal_posts)
            label = f"{entry} as {caller.name}"
            if status != 200:
                failures.append(f"{label}: HTTP {status}")
            elif expected_allowed(caller, access):
                if refused:
                    failures.append(f"{label}: refused but should be allowed ({text[:120]})")
            else:
                quiet = caller.name == "bot"  # refused without a message: nobody to tell
                if not quiet and not refused:
                    failures.append(f"{label}: not refused ({text[:120]} {new_calls})")
                if len(queue.enqueued) != before_jobs:
                    failures.append(f"{label}: enqueued a job while refused")
                extra = [m for m in new_calls if m not in ("chat.postEphemeral", "chat.postMessage")]
                if extra:
                    failures.append(f"{label}: refused but Slack was called: {extra}")
                if len(refusal_posts) > 1:
                    failures.append(f"{label}: more than one refusal message")
    assert failures == []
    with bot.bot.services.db.session() as session:
        refusals = session.scalars(select(AuditEvent).where(AuditEvent.outcome.like("refused:%"))).all()
        assert {e.actor_slack_id for e in refusals} >= {
            c.user_id for c in CALLERS if c.role in (None, Role.NO_ACCESS)
        }


async def test_connect_jira_end_to_end(
    bot: Running, fakes: FakeServices, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    status, text, _ = await bot.command("connect jira")
    assert status == 200
    await bot.drain()
    opened = bot.slack.calls_to("views.open")
    assert len(opened) == 1
    assert (
        opened[0].args["view"]["callback_id"] == ids.VIEW_CONNECT_JIRA
        if isinstance(opened[0].args["view"], dict)
        else ids.VIEW_CONNECT_JIRA in opened[0].args["view"]
    )

    wrong = {
        ids.BLOCK_JIRA_EMAIL: {ids.ACTION_VALUE: {"value": f"alice@{DOMAIN}"}},
        ids.BLOCK_JIRA_TOKEN: {ids.ACTION_VALUE: {"value": "wrong-token-000"}},
    }
    status, text, _ = await bot.post(*bot.requests.view_submission(ids.VIEW_CONNECT_JIRA, wrong))
    answer = json.loads(text)
    assert answer["response_action"] == "errors"
    assert answer["errors"][ids.BLOCK_JIRA_TOKEN] == "Jira did not accept those credentials."

    status, text, _ = await bot.post(*jira_modal(bot.requests, "U0ALICE"))
    assert status == 200
    assert text == ""  # the modal closes
    await bot.drain()
    dm = bot.slack.calls_to("chat.postMessage")[-1]
    assert dm.args["channel"] == "U0ALICE"
    assert "Jira connected as *Alice*" in dm.args["text"]
    assert TOKEN not in json.dumps([c.args for c in bot.slack.calls])
    with bot.bot.services.db.session() as session:
        row = session.scalars(select(Credential)).one()
        assert TOKEN not in row.secret
        assert row.label == "Alice"

    fakes.down.add("jira")
    status, text, _ = await bot.post(*jira_modal(bot.requests, "U0ALICE"))
    assert "Jira is not answering right now" in json.loads(text)["errors"][ids.BLOCK_JIRA_TOKEN]

    await bot.command("disconnect jira")
    await bot.drain()
    reply = bot.slack.calls_to("response_url")[-1].args
    assert "Jira disconnected" in reply["text"]
    with bot.bot.services.db.session() as session:
        assert session.scalars(select(Credential)).all() == []
        actions = [e.action for e in session.scalars(select(AuditEvent))]
        assert "credential.connect" in actions
        assert "credential.disconnect" in actions
    assert TOKEN not in caplog.text  # never logged, even at DEBUG


async def test_connect_needs_a_system_and_a_configured_jira(bot: Running) -> None:
    _, text, _ = await bot.command("connect github")
    assert "Only Jira can be connected" in json.loads(text)["text"]
    bot.bot.services.settings.jira_base_url = None
    _, text, _ = await bot.command("connect jira")
    assert "Jira is not configured" in json.loads(text)["text"]


async def test_blank_or_spaced_tokens_are_refused_inline(bot: Running) -> None:
    values = {ids.BLOCK_JIRA_TOKEN: {ids.ACTION_VALUE: {"value": "two words"}}}
    _, text, _ = await bot.post(*bot.requests.view_submission(ids.VIEW_CONNECT_JIRA, values))
    assert json.loads(text)["errors"][ids.BLOCK_JIRA_TOKEN] == "Paste the token itself."


async def test_admin_changes_roles_and_sees_the_audit(bot: Running) -> None:
    await bot.command("help", user_id="U0ALICE")  # first sight
    await bot.command("admin role <@U0ALICE|alice> ADMIN", user_id="U0ROOT")
    await bot.drain()
    assert "<@U0ALICE> is now *ADMIN* (was USER)." in bot.slack.calls_to("response_url")[-1].args["text"]
    # The change applies at once (the cached identity is dropped): Alice can now list users.
    await bot.command("admin users", user_id="U0ALICE")
    await bot.drain()
    listing = json.dumps(bot.slack.calls_to("response_url")[-1].args)
    assert f"alice@{DOMAIN}" in listing
    assert f"root@{DOMAIN}" in listing

    await bot.command("admin role <@U0ROOT> USER", user_id="U0ALICE")
    await bot.drain()
    await bot.command("admin role <@U0ALICE> USER", user_id="U0ALICE")
    await bot.drain()
    assert "without an admin" in bot.slack.calls_to("response_url")[-1].args["text"]

    await bot.command("admin audit <@U0ALICE> since:1d", user_id="U0ALICE")
    await bot.drain()
    log = json.dumps(bot.slack.calls_to("response_url")[-1].args)
    assert "role.change" in log
    assert "refused:LastAdmin" in log


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("admin", "Usage"),
        ("admin role bob ADMIN", "is not a Slack user"),
        ("admin role <@U0ALICE> KING", "is not a role"),
        ("admin audit since:forever", "is not a duration"),
    ],
)
async def test_admin_input_errors_are_clear(bot: Running, text: str, message: str) -> None:
    _, answer, _ = await bot.command(text, user_id="U0ROOT")
    assert message in json.loads(answer)["text"]


async def test_roles_cannot_go_to_outsiders(bot: Running) -> None:
    await bot.command("admin role <@U0EVIL> USER", user_id="U0ROOT")
    await bot.drain()
    assert "cannot use Agent PM" in bot.slack.calls_to("response_url")[-1].args["text"]
