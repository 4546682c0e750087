"""Jira from Slack end to end: Slack requests into the bot; the fake Jira and Slack over HTTP; PostgreSQL.

The shortcut → modal → typeahead → submit → Jira POST → thread confirmation path; possible duplicates;
Jira's field errors inline; unfurls and every button on them; as a person with and without connected
Jira credentials.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot import ids
from bot.localjira import Flavour, LocalJira
from core.credentials import JiraCredential, save_jira
from core.db.models import JiraIssue, Project
from core.jira.client import JiraClient
from core.jira.meta import sync_metadata
from core.jira.sync import ProjectSync
from core.jobs.inprocess import InProcessQueue
from core.search.service import Viewer, search
from core.users.identity import Profile
from core.users.service import resolve
from tests.fakes.slack import CHANNEL_ID, LocalSlack
from tests.integration.harness import Running, bot_settings, running_bot
from tests.integration.jira_people import (
    ALICE_EMAIL,
    ALICE_TOKEN,
    SERVICE_EMAIL,
    SERVICE_TOKEN,
    alice_id,
    email_for,
    header,
    local_jira,
    service,
)

pytestmark = pytest.mark.integration

MESSAGE_TS = "1700000000.000100"  # the message the fake shortcut is used on
UNFURLED_TS = "1700000001.000100"  # the message whose link is unfurled


@pytest_asyncio.fixture(params=["cloud", "datacenter"])
async def jira(request: pytest.FixtureRequest) -> AsyncIterator[LocalJira]:
    async with local_jira(request.param) as server:
        yield server


@pytest_asyncio.fixture
async def bot(
    slack: LocalSlack, signing_secret: str, migrated_pg: str, jira: LocalJira
) -> AsyncIterator[Running]:
    slack.add_user("U0ALICE", ALICE_EMAIL, "Alice Example", team_id="T0TEST")
    slack.add_user("U0ROOT", "root@northwind.example", "root", team_id="T0TEST")
    settings = bot_settings(
        slack, signing_secret, migrated_pg, jira_base_url=jira.base_url,
        jira_email=email_for(jira.flavour, SERVICE_EMAIL), jira_api_token=SERVICE_TOKEN,
        agentpm_encryption_keys=["x4JOjXkBqkXyvT7jAGVnCQ6f3H1ysp_JmOuvxvP0xD8="],
    )  # fmt: skip
    async with running_bot(settings, slack, queue=InProcessQueue()) as running:
        async with JiraClient(service(jira)) as client:
            await ProjectSync(running.bot.services.db, client, jira.base_url).run("PAY", full=True)
            await sync_metadata(running.bot.services.db, client, ["PAY"])
        yield running


def connect_alice(bot: Running, flavour: Flavour) -> None:
    services = bot.bot.services
    with services.db.session() as session:
        alice = resolve(session, Profile(slack_user_id="U0ALICE", team_id="T0TEST", email=ALICE_EMAIL,
                                         name="Alice Example"), services.settings)  # fmt: skip
        credential = JiraCredential(email=email_for(flavour, ALICE_EMAIL), token=ALICE_TOKEN, account_id="a")
        save_jira(session, services.vault, alice, credential, "Alice Example")


def view_of(call: Any) -> dict[str, Any]:
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else view


async def options(
    bot: Running, action_id: str, query: str, values: dict[str, Any] | None = None
) -> list[Any]:
    status, body, _ = await bot.post(*bot.requests.options(action_id, query, values=values))
    assert status == 200
    return json.loads(body)["options"]


def chosen(option: dict[str, Any]) -> dict[str, Any]:
    return {"type": "external_select", "selected_option": option}


async def open_from_message(bot: Running, text: str) -> dict[str, Any]:
    status, body, _ = await bot.post(*bot.requests.message_shortcut(ids.SHORTCUT_CREATE_JIRA_ISSUE, text))
    assert (status, body) == (200, "")
    await bot.drain()
    return view_of(bot.slack.calls_to("views.update")[-1])


async def form(bot: Running, summary: str, *, priority: dict[str, Any] | None = None) -> dict[str, Any]:
    project = next(o for o in await options(bot, ids.ACTION_PICK_PROJECT, "pa") if o["value"] == "PAY")
    state = {ids.BLOCK_ISSUE_PROJECT: {ids.ACTION_PICK_PROJECT: chosen(project)}}
    bug = next(
        o for o in await options(bot, ids.ACTION_PICK_ISSUE_TYPE, "bu", state) if o["text"]["text"] == "Bug"
    )
    high = next(o for o in await options(bot, ids.ACTION_PICK_PRIORITY, "") if o["text"]["text"] == "High")
    return {
        **state,
        ids.BLOCK_ISSUE_TYPE: {ids.ACTION_PICK_ISSUE_TYPE: chosen(bug)},
        ids.BLOCK_ISSUE_SUMMARY: {ids.ACTION_VALUE: {"type": "plain_text_input", "value": summary}},
        ids.BLOCK_ISSUE_DESCRIPTION: {ids.ACTION_VALUE: {"type": "plain_text_input", "value": "Seen on <https://status.example|status>."}},
        ids.BLOCK_ISSUE_PRIORITY: {ids.ACTION_PICK_PRIORITY: chosen(priority or high)},
    }  # fmt: skip


async def test_shortcut_modal_submit_creates_the_issue_and_confirms_in_the_thread(
    bot: Running, jira: LocalJira
) -> None:
    text = "Refunds fail for SEPA payments\nSince this morning every SEPA refund returns 502."
    view = await open_from_message(bot, text)
    opened = view_of(bot.slack.calls_to("views.open")[0])
    summary_block = next(b for b in opened["blocks"] if b.get("block_id") == ids.BLOCK_ISSUE_SUMMARY)
    assert summary_block["element"]["initial_value"] == "Refunds fail for SEPA payments"
    assert "Possible duplicates" in json.dumps(view) or "No similar issues" in json.dumps(view)

    values = await form(bot, "Refunds fail for SEPA payments")
    status, body, _ = await bot.post(
        *bot.requests.view_submission_with(ids.VIEW_CREATE_ISSUE, values, view["private_metadata"])
    )
    assert (status, body) == (200, "")  # the modal closes
    await bot.drain()
    created = [i for i in jira.issues.values() if i["fields"]["summary"] == "Refunds fail for SEPA payments"]
    assert len(created) == 1
    issue = created[0]
    description = issue["fields"]["description"]
    assert f"/archives/{CHANNEL_ID}/p{MESSAGE_TS.replace('.', '')}" in description  # the permalink
    assert "on behalf of Alice Example (alice@northwind.example)" in description  # no connected account
    assert issue["fields"]["priority"]["name"] == "High"
    assert issue["fields"]["issuetype"]["name"] == "Bug"
    post = bot.slack.calls_to("chat.postMessage")[-1]
    assert post.args["thread_ts"] == MESSAGE_TS
    assert issue["key"] in json.dumps(post.args)
    assert "on their behalf" in json.dumps(post.args)
    with bot.bot.services.db.session() as session:  # searchable at once, before any sync
        found = search(session, "SEPA refunds", Viewer())
    assert found[0].key == issue["key"]


async def test_a_repeated_message_shows_the_existing_issue_as_a_duplicate(
    bot: Running, jira: LocalJira
) -> None:
    existing = jira.issues["PAY-2"]["fields"]["summary"]
    view = await open_from_message(bot, existing)
    assert "Possible duplicates" in json.dumps(view)
    assert "PAY-2" in json.dumps(view)


async def test_jira_field_errors_come_back_inline(bot: Running, jira: LocalJira) -> None:
    view = await open_from_message(bot, "Something broke")
    bogus = {"text": {"type": "plain_text", "text": "Urgent!!"}, "value": "999"}
    values = await form(bot, "Something broke", priority=bogus)
    _, body, _ = await bot.post(
        *bot.requests.view_submission_with(ids.VIEW_CREATE_ISSUE, values, view["private_metadata"])
    )
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {ids.BLOCK_ISSUE_PRIORITY}
    empty = {**values, ids.BLOCK_ISSUE_SUMMARY: {ids.ACTION_VALUE: {"value": "  "}}}
    _status, body, _ = await bot.post(
        *bot.requests.view_submission_with(ids.VIEW_CREATE_ISSUE, empty, view["private_metadata"])
    )
    assert json.loads(body)["errors"] == {ids.BLOCK_ISSUE_SUMMARY: "Give the issue a summary."}
    assert not [i for i in jira.issues.values() if i["fields"]["summary"] == "Something broke"]


async def test_a_connected_person_creates_as_themself(bot: Running, jira: LocalJira) -> None:
    connect_alice(bot, jira.flavour)
    status, _, _ = await bot.command("ticket Card declined for Amex")
    assert status == 200
    await bot.drain()
    view = view_of(bot.slack.calls_to("views.update")[-1])
    values = await form(bot, "Card declined for Amex")
    await bot.post(
        *bot.requests.view_submission_with(ids.VIEW_CREATE_ISSUE, values, view["private_metadata"])
    )
    await bot.drain()
    issue = next(i for i in jira.issues.values() if i["fields"]["summary"] == "Card declined for Amex")
    reporter = issue["fields"]["reporter"]
    assert (reporter.get("accountId") or reporter.get("name")) == alice_id(jira.flavour)
    assert "on behalf of" not in (issue["fields"].get("description") or "")
    post = bot.slack.calls_to("chat.postMessage")[-1]
    assert post.args["channel"] == CHANNEL_ID
    assert "on their behalf" not in json.dumps(post.args)


async def unfurl(bot: Running, jira: LocalJira, key: str) -> tuple[str, dict[str, Any] | None]:
    url = f"{jira.base_url}/browse/{key}"
    event = {"type": "link_shared", "user": "U0ALICE", "channel": CHANNEL_ID, "message_ts": UNFURLED_TS,
             "links": [{"domain": "127.0.0.1", "url": url}], "source": "conversations_history"}  # fmt: skip
    before = len(bot.slack.calls_to("chat.unfurl"))
    status, _, _ = await bot.post(*bot.requests.event(event))
    assert status == 200
    await bot.drain()
    calls = bot.slack.calls_to("chat.unfurl")[before:]
    if not calls:
        return url, None
    unfurls = calls[-1].args["unfurls"]
    unfurls = json.loads(unfurls) if isinstance(unfurls, str) else unfurls
    return url, unfurls[url]


def element(card: dict[str, Any], action_id: str) -> dict[str, Any]:
    actions = next(b for b in card["blocks"] if b["type"] == "actions")
    return next(e for e in actions["elements"] if e["action_id"] == action_id)


async def click(bot: Running, url: str, action: dict[str, Any]) -> None:
    status, _, _ = await bot.post(*bot.requests.unfurl_action(action, message_ts=UNFURLED_TS, url=url))
    assert status == 200
    await bot.drain()


async def test_unfurl_and_every_button_as_a_connected_person(bot: Running, jira: LocalJira) -> None:
    connect_alice(bot, jira.flavour)
    url, card = await unfurl(bot, jira, "PAY-1")
    assert card is not None
    text = json.dumps(card)
    assert "PAY-1" in text
    assert "*Status:*" in text
    assert "*Assignee:*" in text
    assert "*Priority:*" in text

    assign = element(card, ids.ACTION_ISSUE_ASSIGN_ME)
    await click(
        bot,
        url,
        {"type": "button", "action_id": assign["action_id"], "block_id": "b", "value": assign["value"]},
    )
    assignee = jira.issues["PAY-1"]["fields"]["assignee"]
    assert (assignee.get("accountId") or assignee.get("name")) == alice_id(jira.flavour)
    reply = bot.slack.calls_to("chat.postMessage")[-1]
    assert reply.args["thread_ts"] == UNFURLED_TS
    assert "assigned" in reply.args["text"]
    assert len(bot.slack.calls_to("chat.unfurl")) == 2  # refreshed

    _, card = await unfurl(bot, jira, "PAY-1")
    assert card is not None
    move = element(card, ids.ACTION_ISSUE_TRANSITION)
    before = jira.issues["PAY-1"]["fields"]["status"]["name"]
    option = move["options"][0]
    actions_block = next(b for b in card["blocks"] if b["type"] == "actions")
    select = {"type": "static_select", "action_id": ids.ACTION_ISSUE_TRANSITION,
              "block_id": actions_block["block_id"], "selected_option": option}  # fmt: skip
    await click(bot, url, select)
    after = jira.issues["PAY-1"]["fields"]["status"]["name"]
    assert after != before
    assert "moved" in bot.slack.calls_to("chat.postMessage")[-1].args["text"]

    stale = {**select, "selected_option": {"text": {"type": "plain_text", "text": "Old"}, "value": "99999"}}
    await click(bot, url, stale)
    refusal = bot.slack.calls_to("chat.postEphemeral")[-1]
    assert "no longer available" in refusal.args["text"]

    comment = element(card, ids.ACTION_ISSUE_COMMENT)
    await click(
        bot,
        url,
        {"type": "button", "action_id": comment["action_id"], "block_id": "b", "value": comment["value"]},
    )
    modal = view_of(bot.slack.calls_to("views.open")[-1])
    assert modal["callback_id"] == ids.VIEW_ISSUE_COMMENT
    values = {ids.BLOCK_COMMENT: {ids.ACTION_VALUE: {"value": "Looking into it now."}}}
    status, body, _ = await bot.post(
        *bot.requests.view_submission_with(ids.VIEW_ISSUE_COMMENT, values, modal["private_metadata"])
    )
    assert (status, body) == (200, "")
    await bot.drain()
    comments = jira.issues["PAY-1"]["fields"]["comment"]["comments"]
    assert "Looking into it now." in comments[-1]["body"]
    assert (comments[-1]["author"].get("accountId") or comments[-1]["author"].get("name")) == alice_id(
        jira.flavour
    )

    jira.forbid(header(jira.flavour, ALICE_EMAIL, ALICE_TOKEN), "comment")
    await bot.post(
        *bot.requests.view_submission_with(ids.VIEW_ISSUE_COMMENT, values, modal["private_metadata"])
    )
    await bot.drain()
    assert "permission" in bot.slack.calls_to("chat.postEphemeral")[-1].args["text"]


async def test_without_a_connected_account_the_service_account_acts_on_their_behalf(
    bot: Running, jira: LocalJira
) -> None:
    jira.add_user(alice_id(jira.flavour), "Alice Example", ALICE_EMAIL)
    url, card = await unfurl(bot, jira, "PAY-2")
    assert card is not None
    assign = element(card, ids.ACTION_ISSUE_ASSIGN_ME)
    await click(
        bot,
        url,
        {"type": "button", "action_id": assign["action_id"], "block_id": "b", "value": assign["value"]},
    )
    assignee = jira.issues["PAY-2"]["fields"]["assignee"]
    assert (assignee.get("accountId") or assignee.get("name")) == alice_id(jira.flavour)  # found by email

    comment = element(card, ids.ACTION_ISSUE_COMMENT)
    await click(
        bot,
        url,
        {"type": "button", "action_id": comment["action_id"], "block_id": "b", "value": comment["value"]},
    )
    modal = view_of(bot.slack.calls_to("views.open")[-1])
    values = {ids.BLOCK_COMMENT: {ids.ACTION_VALUE: {"value": "Customer confirmed the fix."}}}
    await bot.post(
        *bot.requests.view_submission_with(ids.VIEW_ISSUE_COMMENT, values, modal["private_metadata"])
    )
    await bot.drain()
    body = json.dumps(jira.issues["PAY-2"]["fields"]["comment"]["comments"])
    assert "Customer confirmed the fix." in body
    assert "on behalf of Alice Example" in body


async def test_restricted_projects_and_foreign_links_are_not_unfurled(bot: Running, jira: LocalJira) -> None:
    await bot.command("help", user_id="U0ROOT")
    await bot.command("admin project PAY restrict", user_id="U0ROOT")
    await bot.drain()
    _, card = await unfurl(bot, jira, "PAY-1")
    assert card is None
    with bot.bot.services.db.session() as session:
        assert session.scalar(select(JiraIssue.key).where(JiraIssue.key == "PAY-1")) == "PAY-1"


async def test_a_link_to_an_issue_moved_into_a_restricted_project_is_not_unfurled_or_acted_on(
    bot: Running, jira: LocalJira
) -> None:
    connect_alice(bot, jira.flavour)
    url, card = await unfurl(bot, jira, "PAY-3")
    assert card is not None
    with bot.bot.services.db.session() as session:
        session.add(Project(key="SEC", name="Security", url=f"{jira.base_url}/browse/SEC", restricted=True))
    jira.move("PAY-3", "SEC-1", "SEC")
    _, moved = await unfurl(bot, jira, "PAY-3")
    assert moved is None  # Jira answers the old key with SEC-1, which the channel may not see
    assign = element(card, ids.ACTION_ISSUE_ASSIGN_ME)
    action = {"type": "button", "action_id": assign["action_id"], "block_id": "b", "value": assign["value"]}
    await click(bot, url, action)
    assert "restricted project" in bot.slack.calls_to("chat.postEphemeral")[-1].args["text"]
    assignee = jira.issues["SEC-1"]["fields"].get("assignee") or {}
    assert alice_id(jira.flavour) not in (assignee.get("accountId"), assignee.get("name"))


async def test_an_issue_in_a_restricted_project_is_confirmed_privately(bot: Running, jira: LocalJira) -> None:
    connect_alice(bot, jira.flavour)
    await bot.command("help", user_id="U0ROOT")
    await bot.command("admin project PAY restrict <@U0ALICE>", user_id="U0ROOT")
    await bot.drain()
    view = await open_from_message(bot, "Chargeback evidence upload fails")
    values = await form(bot, "Chargeback evidence upload fails")
    status, body, _ = await bot.post(
        *bot.requests.view_submission_with(ids.VIEW_CREATE_ISSUE, values, view["private_metadata"])
    )
    assert (status, body) == (200, "")
    await bot.drain()
    post = bot.slack.calls_to("chat.postMessage")[-1]
    assert post.args["channel"] == "U0ALICE"  # a DM, not the channel's thread
    assert "thread_ts" not in post.args
