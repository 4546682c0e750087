"""`/pm ask`, mentions, DMs, feedback and "Find similar issues", end to end over HTTP on PostgreSQL.

Keyword ranking only here (nothing is embedded), so passages are judged by the words they share with the
question; the vector path is covered by tests/integration/test_hybrid_search.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import delete, select

from bot import ids
from core.db.answer_tables import Answer, AnswerFeedback
from core.db.models import Chunk, Document
from core.demo import load_demo
from core.jobs.inprocess import InProcessQueue
from core.search.indexer import index_pending
from tests.fakes.openai import FakeOpenAI
from tests.fakes.slack import CHANNEL_ID, LocalSlack
from tests.integration.harness import Running, bot_settings, running_bot

pytestmark = pytest.mark.integration

BOT_USER = "U0AGENTPM"


def people(slack: LocalSlack) -> None:
    slack.add_user("U0ROOT", "root@northwind.example", "root", team_id="T0TEST")
    slack.add_user("U0BOB", "bob@northwind.example", "bob", team_id="T0TEST")
    slack.add_user("U0ALICE", "alice@northwind.example", "alice", team_id="T0TEST")


@pytest_asyncio.fixture
async def bot(slack: LocalSlack, signing_secret: str, migrated_pg: str) -> AsyncIterator[Running]:
    people(slack)
    settings = bot_settings(slack, signing_secret, migrated_pg)
    async with running_bot(settings, slack, queue=InProcessQueue()) as running:
        with running.bot.services.db.session() as session:
            load_demo(session)
        yield running


@pytest_asyncio.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest_asyncio.fixture
async def llm_bot(
    slack: LocalSlack, signing_secret: str, migrated_pg: str, llm: FakeOpenAI
) -> AsyncIterator[Running]:
    people(slack)
    settings = bot_settings(
        slack, signing_secret, migrated_pg, openai_api_key="sk-test-" + "k" * 24, openai_base_url=llm.api_url
    )
    async with running_bot(settings, slack, queue=InProcessQueue()) as running:
        with running.bot.services.db.session() as session:
            load_demo(session)
        yield running


def mention(text: str, *, ts: str, thread_ts: str | None = None, user: str = "U0ALICE") -> dict[str, Any]:
    event = {"type": "app_mention", "user": user, "channel": CHANNEL_ID, "ts": ts, "text": text}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def blocks_text(args: dict[str, Any]) -> str:
    blocks = args.get("blocks")
    return json.dumps(json.loads(blocks) if isinstance(blocks, str) else blocks, ensure_ascii=False)


def final_text(slack: LocalSlack, ts: str) -> str:
    """What a message shows now: its last update, or what was posted."""
    updates = [c for c in slack.calls_to("chat.update") if c.args.get("ts") == ts]
    posted = [c for c in slack.calls_to("chat.postMessage") if c.response.get("ts") == ts]
    return blocks_text((updates or posted)[-1].args)


async def test_ask_posts_a_working_message_then_a_cited_extractive_answer(bot: Running) -> None:
    status, text, _ = await bot.command("ask has anyone seen customers charged twice?")
    assert (status, text) == (200, "")
    await bot.drain()
    posted = bot.slack.calls_to("chat.postMessage")
    assert len(posted) == 1
    assert "Looking through" in blocks_text(posted[0].args)  # the working indicator
    ts = posted[0].response["ts"]
    shown = final_text(bot.slack, ts)
    assert "<@U0ALICE> asked" in shown
    assert "Extractive answer" in shown  # labelled: no language model is configured
    assert "PAY-17" in shown
    assert "[1]" in shown
    assert "/browse/PAY-17|[1]>" in shown  # the citation links to its source
    assert "Jira synced" in shown
    with bot.bot.services.db.session() as session:
        answer = session.scalars(select(Answer)).one()
        assert answer.mode == "extractive"
        assert answer.message_ts == ts
        assert answer.asked_by == "U0ALICE"
        assert answer.sources[0]["key"] in shown


async def test_feedback_buttons_store_one_vote_per_person(bot: Running) -> None:
    await bot.command("ask has anyone seen customers charged twice?")
    await bot.drain()
    ts = bot.slack.calls_to("chat.postMessage")[0].response["ts"]
    update = [c for c in bot.slack.calls_to("chat.update") if c.args["ts"] == ts][-1]
    blocks = update.args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    actions = next(b for b in blocks if b.get("block_id") == ids.BLOCK_ANSWER_FEEDBACK)
    up, down = actions["elements"]
    await bot.post(*bot.requests.block_action(ids.ACTION_ANSWER_HELPFUL, up["value"]))
    await bot.post(*bot.requests.block_action(ids.ACTION_ANSWER_HELPFUL, up["value"], user_id="U0BOB"))
    await bot.post(*bot.requests.block_action(ids.ACTION_ANSWER_UNHELPFUL, down["value"]))  # changed mind
    await bot.drain()
    with bot.bot.services.db.session() as session:
        votes = {f.user_id: f.vote for f in session.scalars(select(AnswerFeedback))}
    assert votes == {"U0ALICE": -1, "U0BOB": 1}
    thanks = [c.args["text"] for c in bot.slack.calls_to("response_url")]
    assert thanks[-1] == "Thanks, noted as not helpful."
    gone = json.dumps({"answer_id": 999_999, "vote": 1})
    await bot.post(*bot.requests.block_action(ids.ACTION_ANSWER_HELPFUL, gone))
    await bot.drain()
    assert "That answer is gone" in bot.slack.calls_to("response_url")[-1].args["text"]


async def test_nothing_relevant_says_so_and_shows_the_nearest(bot: Running) -> None:
    await bot.command("ask what is the weather in Lisbon this weekend?")
    await bot.drain()
    ts = bot.slack.calls_to("chat.postMessage")[0].response["ts"]
    shown = final_text(bot.slack, ts)
    assert "I found nothing that answers this" in shown
    assert ids.BLOCK_ANSWER_FEEDBACK not in shown


async def test_a_mention_in_a_thread_uses_the_thread(bot: Running) -> None:
    root = bot.slack.add_message(CHANNEL_ID, "Is PAY-7 fixed yet?", user="U0BOB")
    ts = bot.slack.add_message(
        CHANNEL_ID, f"<@{BOT_USER}> who is working on it?", user="U0ALICE", thread_ts=root
    )
    event = mention(f"<@{BOT_USER}> who is working on it?", ts=ts, thread_ts=root)
    status, _, _ = await bot.post(*bot.requests.event(event))
    assert status == 200
    await bot.drain()
    replies = bot.slack.calls_to("conversations.replies")
    assert replies
    assert replies[0].args["ts"] == root
    posted = bot.slack.calls_to("chat.postMessage")[-1]
    assert posted.args["thread_ts"] == root  # answered in the thread
    shown = final_text(bot.slack, posted.response["ts"])
    assert "PAY-7 is In Progress, assigned to Maya Chen" in shown  # "it" is the issue the thread is about
    assert "asked" not in shown  # the question is right above; not repeated


async def test_a_mention_outside_a_thread_starts_one(bot: Running) -> None:
    ts = bot.slack.add_message(CHANNEL_ID, f"<@{BOT_USER}> flaky checkout tests", user="U0ALICE")
    await bot.post(*bot.requests.event(mention(f"<@{BOT_USER}> flaky checkout tests", ts=ts)))
    await bot.drain()
    posted = bot.slack.calls_to("chat.postMessage")[-1]
    assert posted.args["thread_ts"] == ts
    assert bot.slack.calls_to("conversations.replies") == []  # a new thread has no context yet
    assert "WEB-5" in final_text(bot.slack, posted.response["ts"])


async def test_an_empty_mention_gets_a_hint(bot: Running) -> None:
    ts = bot.slack.add_message(CHANNEL_ID, f"<@{BOT_USER}>", user="U0ALICE")
    await bot.post(*bot.requests.event(mention(f"<@{BOT_USER}>", ts=ts)))
    await bot.drain()
    hint = bot.slack.calls_to("chat.postEphemeral")[-1]
    assert "What would you like to know?" in json.dumps(hint.args)


async def test_channel_answers_leave_out_restricted_projects_but_dms_do_not(bot: Running) -> None:
    await bot.command("help", user_id="U0BOB")  # first sight
    await bot.command("admin project PAY restrict <@U0BOB>", user_id="U0ROOT")
    await bot.drain()
    await bot.command("ask has anyone seen customers charged twice?", user_id="U0BOB")
    await bot.drain()
    channel_answer = final_text(bot.slack, bot.slack.calls_to("chat.postMessage")[-1].response["ts"])
    assert "PAY-" not in channel_answer  # everyone in the channel reads it
    dm = {
        "type": "message", "channel_type": "im", "channel": "D0BOB", "user": "U0BOB",
        "ts": "1700000100.000100", "text": "has anyone seen customers charged twice?",
    }  # fmt: skip
    await bot.post(*bot.requests.event(dm))
    await bot.drain()
    posted = bot.slack.calls_to("chat.postMessage")[-1]
    assert posted.args["channel"] == "D0BOB"
    assert "PAY-17" in final_text(bot.slack, posted.response["ts"])
    assert "everyone in this conversation" not in final_text(bot.slack, posted.response["ts"])
    # The bot's own DM messages are not questions.
    before = len(bot.slack.calls)
    await bot.post(*bot.requests.event({**dm, "bot_id": "B0AGENTPM", "ts": "1700000100.000200"}))
    await bot.drain()
    assert bot.slack.calls[before:] == []


async def test_find_similar_shortcut_lists_issues_privately(bot: Running) -> None:
    text = "Checkout e2e suite fails randomly on CI again, the payment step times out"
    status, body, _ = await bot.post(*bot.requests.message_shortcut(ids.SHORTCUT_FIND_SIMILAR, text))
    assert (status, body) == (200, "")
    await bot.drain()
    reply = bot.slack.calls_to("response_url")[-1].args
    assert reply["response_type"] == "ephemeral"
    shown = blocks_text(reply)
    assert "Issues similar to the message" in shown
    assert "WEB-5" in shown
    status, _, _ = await bot.post(*bot.requests.message_shortcut(ids.SHORTCUT_FIND_SIMILAR, "   "))
    await bot.drain()
    assert "no text to compare" in json.dumps(bot.slack.calls[-1].args)


async def test_llm_answer_cites_only_real_sources(llm_bot: Running, llm: FakeOpenAI) -> None:
    llm.reply = "Yes: webhook retries charged customers twice [1], and a double tap on Pay did too [2][9]."
    await llm_bot.command("ask has anyone seen customers charged twice? {0.__class__}")
    await llm_bot.drain()
    prompt = llm.requests[-1]["messages"][1]["content"]
    assert "{0.__class__}" in prompt  # user text is data, never a format template
    assert prompt.startswith("Sources:\n[1] ")
    ts = llm_bot.slack.calls_to("chat.postMessage")[0].response["ts"]
    shown = final_text(llm_bot.slack, ts)
    assert "[9]" not in shown  # a citation to a source that was not given is dropped
    assert "|[1]>" in shown
    assert "|[2]>" in shown
    assert "Extractive" not in shown
    with llm_bot.bot.services.db.session() as session:
        assert session.scalars(select(Answer.mode)).one() == "llm"


async def test_llm_failure_falls_back_to_extractive(llm_bot: Running, llm: FakeOpenAI) -> None:
    llm.status = 500
    await llm_bot.command("ask has anyone seen customers charged twice?")
    await llm_bot.drain()
    ts = llm_bot.slack.calls_to("chat.postMessage")[0].response["ts"]
    shown = final_text(llm_bot.slack, ts)
    assert "The language model did not answer" in shown
    assert "Extractive answer" in shown
    assert len(llm.requests) == 2  # the client's own bounded retry, then the fallback


async def test_a_long_answer_is_split_into_thread_messages(llm_bot: Running, llm: FakeOpenAI) -> None:
    paragraph = "Customers were charged twice when webhooks were retried [1]. " * 40
    llm.reply = "\n\n".join([paragraph] * 12)  # ~29,000 characters
    await llm_bot.command("ask has anyone seen customers charged twice?")
    await llm_bot.drain()
    first = llm_bot.slack.calls_to("chat.postMessage")[0]
    rest = llm_bot.slack.calls_to("chat.postMessage")[1:]
    assert len(rest) >= 2
    assert all(c.args["thread_ts"] == first.response["ts"] for c in rest)
    for call in [*llm_bot.slack.calls_to("chat.update"), *rest]:
        blocks = call.args["blocks"]
        blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
        assert len(blocks) <= 50
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert ids.BLOCK_ANSWER_FEEDBACK in blocks_text(rest[-1].args)  # the buttons close the answer


async def test_with_embeddings_relevance_comes_from_the_passages(bot: Running) -> None:
    engine = bot.bot.services.jobs.search
    assert engine is not None
    index_pending(bot.bot.services.db, engine.embedder)
    await bot.command("ask who owns the load test?")
    await bot.command("ask kubernetes cluster upgrade plan")
    await bot.drain()
    first, second = (c.response["ts"] for c in bot.slack.calls_to("chat.postMessage"))
    assert "PAY-23" in final_text(bot.slack, first)
    assert "I found nothing that answers this" in final_text(bot.slack, second)


async def test_a_named_issue_not_embedded_yet_is_still_answered(bot: Running) -> None:
    engine = bot.bot.services.jobs.search
    assert engine is not None
    index_pending(bot.bot.services.db, engine.embedder)
    with bot.bot.services.db.session() as session:  # as if PAY-7 was synced a moment ago
        document = session.scalars(select(Document.id).where(Document.external_id == "PAY-7")).one()
        session.execute(delete(Chunk).where(Chunk.document_id == document))
    await bot.command("ask what is the state of PAY-7?")
    await bot.drain()
    ts = bot.slack.calls_to("chat.postMessage")[0].response["ts"]
    assert "PAY-7 is In Progress, assigned to Maya Chen" in final_text(bot.slack, ts)
