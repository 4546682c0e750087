"""`/pm search` end to end on PostgreSQL full-text search, with permissions, More results and Share."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot import ids
from core.demo import load_demo
from core.jobs.inprocess import InProcessQueue
from tests.fakes.slack import LocalSlack
from tests.integration.harness import Running, bot_settings, running_bot

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def bot(slack: LocalSlack, signing_secret: str, migrated_pg: str) -> AsyncIterator[Running]:
    slack.add_user("U0ROOT", "root@northwind.example", "root", team_id="T0TEST")
    slack.add_user("U0BOB", "bob@northwind.example", "bob", team_id="T0TEST")
    settings = bot_settings(slack, signing_secret, migrated_pg)
    async with running_bot(settings, slack, queue=InProcessQueue()) as running:
        with running.bot.services.db.session() as session:
            load_demo(session)
        yield running


async def last_reply(bot: Running) -> dict[str, object]:
    await bot.drain()
    return bot.slack.calls_to("response_url")[-1].args


def keys_in(reply: dict[str, object]) -> list[str]:
    text = json.dumps(reply.get("blocks"))
    return [
        key
        for key in ("PAY-3", "PAY-17", "PAY-20", "WEB-12", "PAY-7", "PAY-18", "WEB-5", "WEB-13")
        if key in text
    ]


async def test_search_finds_duplicates_and_pages(bot: Running) -> None:
    status, text, _ = await bot.command("search webhook retries charge customers twice")
    assert (status, text) == (200, "")
    reply = await last_reply(bot)
    assert reply["response_type"] == "ephemeral"
    found = keys_in(reply)
    assert {"PAY-3", "PAY-17"} <= set(found)  # the near-duplicate pair
    blocks = reply["blocks"]
    assert isinstance(blocks, list)
    actions = next(b for b in blocks if b.get("block_id") == ids.BLOCK_SEARCH_ACTIONS)
    more = next(e for e in actions["elements"] if e["action_id"] == ids.ACTION_SEARCH_MORE)
    assert json.loads(more["value"])["offset"] == 5
    assert len(more["value"]) <= 2000

    status, _, _ = await bot.post(*bot.requests.block_action(ids.ACTION_SEARCH_MORE, more["value"]))
    assert status == 200
    second = await last_reply(bot)
    assert "Results 6–" in json.dumps(second["blocks"], ensure_ascii=False)

    share = next(e for e in actions["elements"] if e["action_id"] == ids.ACTION_SEARCH_SHARE)
    await bot.post(*bot.requests.block_action(ids.ACTION_SEARCH_SHARE, share["value"]))
    shared = await last_reply(bot)
    assert shared["response_type"] == "in_channel"
    assert "<@U0ALICE> shared search results" in json.dumps(shared["blocks"])


async def test_filters_and_input_errors(bot: Running) -> None:
    await bot.command("search flaky checkout test project:WEB")
    reply = await last_reply(bot)
    found = keys_in(reply)
    assert "WEB-5" in found
    assert all(key.startswith("WEB-") for key in found)
    for query, message in [
        ("search", "What should I search for?"),
        ("search x source:email", "`source:` is one of"),
        ("search x project:pay-1", "not a Jira project key"),
        ("search x since:forever", "not a duration"),
    ]:
        _, answer, _ = await bot.command(query)
        assert message in json.loads(answer)["text"], query
    status, _, _ = await bot.post(*bot.requests.block_action(ids.ACTION_SEARCH_MORE, "not json"))
    assert status == 200
    assert "out of date" in str((await last_reply(bot))["text"])  # told privately through the response_url


async def test_a_restricted_project_is_seen_only_by_its_members_and_admins(bot: Running) -> None:
    await bot.command("help", user_id="U0BOB")  # first sight
    await bot.command("admin project PAY restrict <@U0BOB>", user_id="U0ROOT")
    confirm = await last_reply(bot)
    assert "*PAY* is now restricted" in str(confirm["text"])

    query = "search webhook retries charge customers twice"
    await bot.command(query, user_id="U0ALICE")
    assert not any(k.startswith("PAY-") for k in keys_in(await last_reply(bot)))
    await bot.command(query, user_id="U0BOB")
    assert "PAY-3" in keys_in(await last_reply(bot))
    await bot.command(query, user_id="U0ROOT")
    reply = await last_reply(bot)
    assert "PAY-3" in keys_in(reply)

    # Shared in a channel, results show only what every member may see, whoever shares them.
    blocks = reply["blocks"]
    assert isinstance(blocks, list)
    actions = next(b for b in blocks if b.get("block_id") == ids.BLOCK_SEARCH_ACTIONS)
    share = next(e for e in actions["elements"] if e["action_id"] == ids.ACTION_SEARCH_SHARE)
    await bot.post(*bot.requests.block_action(ids.ACTION_SEARCH_SHARE, share["value"], user_id="U0ROOT"))
    assert not any(k.startswith("PAY-") for k in keys_in(await last_reply(bot)))

    await bot.command("admin project PAY open", user_id="U0ROOT")
    await last_reply(bot)
    await bot.command(query, user_id="U0ALICE")
    assert "PAY-3" in keys_in(await last_reply(bot))
