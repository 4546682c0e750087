"""Channel knowledge through Slack: `/pm index channel on|off`, the backfill, live message events, and
members-only results in `/pm search` and answers — over HTTP on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from core.db.models import Document
from core.jobs.inprocess import InProcessQueue
from tests.fakes.slack import LocalSlack
from tests.integration.harness import Running, bot_settings, running_bot

pytestmark = pytest.mark.integration

ENG, SECRET, GENERAL = "C0ENG", "G0SECRET", "C0TEST"


@pytest_asyncio.fixture
async def bot(slack: LocalSlack, signing_secret: str, migrated_pg: str) -> AsyncIterator[Running]:
    for user, name in [("U0ALICE", "alice"), ("U0BOB", "bob"), ("U0ROOT", "root")]:
        slack.add_user(user, f"{name}@northwind.example", name, team_id="T0TEST")
    slack.add_channel(ENG, "eng", members=["U0ALICE", "U0ROOT"], bot_is_member=False)
    slack.add_channel(SECRET, "incident", members=["U0ROOT"], is_private=True, bot_is_member=False)
    slack.add_channel(GENERAL, "general", members=["U0ALICE", "U0BOB", "U0ROOT"])
    slack.add_message(
        ENG, "The payment gateway timeout comes from the retry storm in checkout", user="U0ALICE"
    )
    root = slack.add_message(ENG, "Who owns the ledger snapshot job?", user="U0ROOT")
    slack.add_message(ENG, "Priya does, the snapshot job is hers", user="U0ALICE", thread_ts=root)
    slack.add_raw_message(ENG, {"subtype": "channel_join", "user": "U0ROOT", "text": "<@U0ROOT> has joined"})
    slack.add_raw_message(ENG, {"bot_id": "B0OTHER", "text": "Deploy finished: payment gateway v42"})
    settings = bot_settings(slack, signing_secret, migrated_pg)
    async with running_bot(settings, slack, queue=InProcessQueue()) as running:
        yield running


def slack_docs(bot: Running) -> list[Document]:
    with bot.bot.services.db.session() as session:
        return list(session.scalars(select(Document).where(Document.source == "slack").order_by(Document.id)))


async def search_as(bot: Running, user: str, query: str) -> str:
    await bot.command(f"search {query} source:slack", user_id=user)
    await bot.drain()
    return json.dumps(bot.slack.calls_to("response_url")[-1].args)


async def reply(bot: Running) -> dict[str, Any]:
    await bot.drain()
    return bot.slack.calls_to("response_url")[-1].args


async def test_index_channel_on_backfills_and_only_members_see_it(bot: Running) -> None:
    await bot.command("help", user_id="U0ROOT")
    status, _, _ = await bot.command("index channel on", channel_id=ENG)
    assert status == 200
    on = await reply(bot)
    assert on["response_type"] == "in_channel"
    assert bot.slack.calls_to("conversations.join")  # a public channel: the bot joins it
    texts = [d.body for d in slack_docs(bot)]
    assert len(texts) == 3  # two messages and a thread reply; the join and the bot's post are not stored
    assert any("Priya does" in t for t in texts)
    assert all(d.url and "/archives/C0ENG/" in d.url for d in slack_docs(bot))

    assert "retry storm" in await search_as(bot, "U0ALICE", "payment gateway timeout")  # a member
    assert "retry storm" not in await search_as(bot, "U0BOB", "payment gateway timeout")  # not a member

    # An answer posted in #general (Bob is there, not in #eng) uses none of #eng's messages.
    await bot.command("ask what causes the payment gateway timeout?", user_id="U0ALICE", channel_id=GENERAL)
    await bot.drain()
    answer = bot.slack.calls_to("chat.update")[-1]
    assert "retry storm" not in json.dumps(answer.args)


async def test_live_events_keep_the_channel_current(bot: Running) -> None:
    await bot.command("index channel on", channel_id=ENG)
    await bot.drain()
    event = {"type": "message", "channel": ENG, "channel_type": "channel", "user": "U0ALICE",
             "text": "Refund webhooks are delayed by 20 minutes", "ts": "1790000000.000100"}  # fmt: skip
    await bot.post(*bot.requests.event(event))
    await bot.drain()
    assert any("Refund webhooks are delayed" in d.body for d in slack_docs(bot))
    edited = {"type": "message", "subtype": "message_changed", "channel": ENG, "channel_type": "channel",
              "message": {**event, "text": "Refund webhooks are delayed by 45 minutes",
                          "edited": {"user": "U0ALICE", "ts": "1790000100.000100"}},
              "ts": "1790000100.000200"}  # fmt: skip
    await bot.post(*bot.requests.event(edited))
    await bot.drain()
    assert any("45 minutes" in d.body for d in slack_docs(bot))
    assert not any("20 minutes" in d.body for d in slack_docs(bot))
    deleted = {"type": "message", "subtype": "message_deleted", "channel": ENG, "channel_type": "channel",
               "deleted_ts": event["ts"], "previous_message": edited["message"],
               "ts": "1790000200.000100"}  # fmt: skip
    await bot.post(*bot.requests.event(deleted))
    await bot.drain()
    assert not any("Refund webhooks" in d.body for d in slack_docs(bot))
    # A channel that was never opted in: its messages are not stored.
    elsewhere = {**event, "channel": GENERAL, "ts": "1790000300.000100", "text": "General chatter"}
    await bot.post(*bot.requests.event(elsewhere))
    await bot.drain()
    assert not any("General chatter" in d.body for d in slack_docs(bot))


async def test_who_may_turn_indexing_on_and_off(bot: Running) -> None:
    await bot.command("help", user_id="U0ROOT")
    await bot.command("index channel on", channel_id=SECRET, user_id="U0ALICE")
    assert "Only an admin can index a private channel" in json.dumps(await reply(bot))
    await bot.command("index channel on", channel_id=SECRET, user_id="U0ROOT")
    assert "Invite me to this private channel first" in json.dumps(await reply(bot))
    for text in ("index channel", "index dm on", "index channel maybe"):
        _, body, _ = await bot.command(text, channel_id=ENG)
        assert "Usage" in body, text
    await bot.command("index channel on", channel_id=ENG)
    await bot.drain()
    await bot.command("index channel off", channel_id=ENG)
    off = await reply(bot)
    assert "3 stored messages were forgotten" in json.dumps(off)
    with bot.bot.services.db.session() as session:
        assert (
            session.scalar(select(func.count()).select_from(Document).where(Document.source == "slack")) == 0
        )
