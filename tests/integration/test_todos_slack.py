"""TODOs and the App Home over HTTP: commands, the "Add as TODO" form, every button, the Home tab."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot import ids
from core.db.schedule_tables import PersonalDigest, Todo
from core.jobs.inprocess import InProcessQueue
from tests.fakes.slack import CHANNEL_ID, LocalSlack
from tests.integration.harness import Running, bot_settings, running_bot

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def bot(slack: LocalSlack, signing_secret: str, migrated_pg: str) -> AsyncIterator[Running]:
    slack.add_user("U0ALICE", "alice@northwind.example", "alice", team_id="T0TEST", tz="Europe/Berlin")
    slack.add_user("U0BOB", "bob@northwind.example", "bob", team_id="T0TEST", tz="America/New_York")
    settings = bot_settings(slack, signing_secret, migrated_pg)
    async with running_bot(settings, slack, queue=InProcessQueue()) as running:
        yield running


def todos(bot: Running) -> list[Todo]:
    with bot.bot.services.db.session() as session:
        return list(session.scalars(select(Todo).order_by(Todo.id)))


def blocks_of(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def button(args: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in blocks_of(args):
        for element in [*(block.get("elements") or []), block.get("accessory") or {}]:
            if element.get("action_id") == action_id:
                return {"type": "button", "action_id": action_id, "block_id": block.get("block_id", "b"),
                        "value": element["value"]}  # fmt: skip
    raise AssertionError(f"no {action_id} button")


async def test_todo_commands(bot: Running) -> None:
    await bot.command("help", user_id="U0BOB")  # Bob is known to the bot
    status, _, _ = await bot.command("todo add Send the release notes due:tomorrow")
    assert status == 200
    await bot.command("todo add Review PR 42 due:2030-01-07 <@U0BOB|bob>")
    await bot.drain()
    first, second = todos(bot)
    assert (first.owner_slack_id, first.creator_slack_id, first.tz) == ("U0ALICE", "U0ALICE", "Europe/Berlin")
    assert first.due is not None
    assert (second.owner_slack_id, second.tz, str(second.due)) == ("U0BOB", "America/New_York", "2030-01-07")
    gave = [c for c in bot.slack.calls_to("chat.postMessage") if c.args["channel"] == "U0BOB"]
    assert "gave you a TODO" in json.dumps(gave[-1].args)  # the owner hears about it
    published = {c.args["user_id"] for c in bot.slack.calls_to("views.publish")}
    assert published == {"U0ALICE", "U0BOB"}  # both Homes refreshed

    await bot.command("todo list all")
    await bot.drain()
    listed = json.dumps(bot.slack.calls_to("response_url")[-1].args)
    assert "#1" in listed
    assert "#2" in listed

    replies = []
    for text, user in [("todo done 2", "U0ALICE"), ("todo snooze 1 1w", "U0ALICE"), ("todo done 1", "U0BOB"),
                       ("todo done 99", "U0ALICE")]:  # fmt: skip
        await bot.command(text, user_id=user)  # the creator may close Bob's; Bob may not close Alice's
        await bot.drain()
        replies.append(json.dumps(bot.slack.calls_to("response_url")[-1].args))
    assert "Done" in replies[0]
    assert "snoozed until" in replies[1]
    assert "Only the owner or the creator" in replies[2]
    assert "There is no TODO #99" in replies[3]
    first, second = todos(bot)
    assert (first.status, second.status) == ("open", "done")
    assert first.snoozed_until is not None

    for text, message in [("todo add", "What is the TODO?"), ("todo add x due:someday", "not a due date"),
                          ("todo done", "Which TODO?"), ("todo fly", "Usage")]:  # fmt: skip
        _, body, _ = await bot.command(text)
        await bot.drain()
        shown = body + json.dumps(
            bot.slack.calls_to("response_url")[-1].args if bot.slack.calls_to("response_url") else {}
        )
        assert message in shown, text


async def test_add_as_todo_form_buttons_and_home(bot: Running) -> None:
    text = "Please update the runbook for the payments failover"
    status, body, _ = await bot.post(*bot.requests.message_shortcut(ids.SHORTCUT_ADD_TODO, text))
    assert (status, body) == (200, "")
    await bot.drain()
    form = bot.slack.calls_to("views.open")[-1].args["view"]
    form = json.loads(form) if isinstance(form, str) else form
    assert form["callback_id"] == ids.VIEW_ADD_TODO
    values = {
        ids.BLOCK_TODO_TEXT: {ids.ACTION_VALUE: {"type": "plain_text_input", "value": text}},
        ids.BLOCK_TODO_OWNER: {ids.ACTION_VALUE: {"type": "users_select", "selected_user": "U0ALICE"}},
        ids.BLOCK_TODO_DUE: {ids.ACTION_VALUE: {"type": "datepicker", "selected_date": "2030-02-01"}},
    }
    status, body, _ = await bot.post(
        *bot.requests.view_submission_with(ids.VIEW_ADD_TODO, values, form["private_metadata"])
    )
    assert (status, body) == (200, "")
    await bot.drain()
    (todo,) = todos(bot)
    assert todo.permalink
    assert "/archives/" in todo.permalink
    assert str(todo.due) == "2030-02-01"
    confirmation = bot.slack.calls_to("chat.postEphemeral")[-1].args
    assert confirmation["channel"] == CHANNEL_ID

    # Buttons on the confirmation: Snooze, then Edit (a form), then Done.
    snooze = button(confirmation, ids.ACTION_TODO_SNOOZE)
    await bot.post(*bot.requests.block_action(ids.ACTION_TODO_SNOOZE, snooze["value"]))
    await bot.drain()
    assert "Snoozed for a day" in json.dumps(bot.slack.calls_to("response_url")[-1].args)
    edit = button(confirmation, ids.ACTION_TODO_EDIT)
    await bot.post(*bot.requests.block_action(ids.ACTION_TODO_EDIT, edit["value"]))
    await bot.drain()
    form = bot.slack.calls_to("views.open")[-1].args["view"]
    form = json.loads(form) if isinstance(form, str) else form
    assert form["callback_id"] == ids.VIEW_EDIT_TODO
    values[ids.BLOCK_TODO_TEXT] = {ids.ACTION_VALUE: {"value": "Update the failover runbook"}}
    await bot.post(*bot.requests.view_submission_with(ids.VIEW_EDIT_TODO, values, form["private_metadata"]))
    await bot.drain()
    assert todos(bot)[0].text == "Update the failover runbook"

    # The Home: opened, then Done from it and the personal digest switched on.
    event = {"type": "app_home_opened", "user": "U0ALICE", "channel": "D0ALICE", "tab": "home"}
    await bot.post(*bot.requests.event(event))
    await bot.drain()
    home = bot.slack.calls_to("views.publish")[-1].args
    home_text = json.dumps(home)
    assert "Update the failover runbook" in home_text
    assert "daily DM digest is *off*" in home_text
    view = json.loads(home["view"]) if isinstance(home["view"], str) else home["view"]
    done = button(view, ids.ACTION_TODO_DONE)
    await bot.post(*bot.requests.home_action(done))
    await bot.drain()
    assert todos(bot)[0].status == "done"
    toggle = button(view, ids.ACTION_HOME_PERSONAL_DIGEST)
    await bot.post(*bot.requests.home_action(toggle))
    await bot.drain()
    with bot.bot.services.db.session() as session:
        personal = session.scalars(select(PersonalDigest)).one()
    assert personal.enabled
    assert personal.tz == "Europe/Berlin"
    assert "daily DM digest is *on*" in json.dumps(bot.slack.calls_to("views.publish")[-1].args)


async def test_someone_else_cannot_use_my_todo_buttons(bot: Running) -> None:
    await bot.command("todo add Mine only")
    await bot.drain()
    added = bot.slack.calls_to("response_url")[-1].args
    done = button(added, ids.ACTION_TODO_DONE)
    await bot.post(*bot.requests.block_action(ids.ACTION_TODO_DONE, done["value"], user_id="U0BOB"))
    await bot.drain()
    refusal = bot.slack.calls_to("response_url")[-1].args
    assert refusal["response_type"] == "ephemeral"
    assert "Only the owner or the creator" in json.dumps(refusal)
    assert todos(bot)[0].status == "open"
