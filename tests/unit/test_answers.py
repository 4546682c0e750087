"""Answers without Slack: the question parser, composition (LLM and extractive), prompts and the views."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.listeners.ask import MAX_QUESTION, is_direct_message, question_of
from bot.views.answer import answer_messages
from bot.views.format import split_text
from core.errors import InvalidInput
from core.notices import AnswerNotice, Citation, Quote
from core.ports import ThreadMessage
from core.search.answers import Source, build_prompt, compose, retrieval_query
from core.search.llm import LLMError
from core.search.passages import Passage, quote
from core.search.service import SearchResult

UPDATED = datetime(2026, 11, 20, tzinfo=UTC)


def result(n: int) -> SearchResult:
    return SearchResult(
        document_id=n, source="jira", key=f"PAY-{n}", title=f"PAY-{n}: Issue {n}", url=f"https://j/browse/PAY-{n}",
        score=1.0, snippet="", status="In Progress", assignee="Maya Chen", updated=UPDATED,
    )  # fmt: skip


def source(n: int, text: str = "Webhook retries charge customers twice. Nothing else.") -> Source:
    return Source(result(n), Passage(n, text, 0.8, True))


class FakeChat:
    name = "fake-chat"

    def __init__(self, reply: str | None) -> None:
        self.reply = reply
        self.prompts: list[tuple[str, str]] = []

    def complete(self, system: str, user: str) -> str:
        self.prompts.append((system, user))
        if self.reply is None:
            raise LLMError("down")
        return self.reply


@given(st.text(max_size=4000))
def test_question_parser_accepts_or_explains(text: str) -> None:
    try:
        question = question_of(text, "U0BOT")
    except InvalidInput:
        return  # a clear message (see below), never another exception
    assert question.strip()
    assert len(question) <= MAX_QUESTION
    assert "<@U0BOT>" not in question


def test_question_parser_strips_the_bot_mention_only() -> None:
    assert question_of("<@U0BOT> ask <@U0BOB> about it", "U0BOT") == "ask <@U0BOB> about it"
    assert question_of("<@U0BOT|agentpm>  why?", "U0BOT") == "why?"
    assert question_of("<@U0BOT> why?", None) == "why?"  # own ID unknown: the leading mention goes
    for empty in ("", "<@U0BOT>", "  <@U0BOT>  <@U0BOB> "):
        with pytest.raises(InvalidInput, match="What would you like to know"):
            question_of(empty, "U0BOT")
    with pytest.raises(InvalidInput, match="keep it under"):
        question_of("x" * (MAX_QUESTION + 1))


def test_direct_messages_are_people_only() -> None:
    message = {"channel_type": "im", "user": "U1", "text": "hi"}
    assert is_direct_message(message)
    assert not is_direct_message({**message, "bot_id": "B1"})
    assert not is_direct_message({**message, "subtype": "message_changed"})
    assert not is_direct_message({**message, "channel_type": "channel"})


def test_follow_ups_are_searched_with_the_thread() -> None:
    thread = [
        ThreadMessage("U1", "Checkout returns 500 after the deploy", "1.0"),
        ThreadMessage(None, "Here is what I found [1]", "1.1", from_bot=True),
        ThreadMessage("U2", "only for Visa cards", "1.2"),
    ]
    assert retrieval_query("who is on it?", thread) == (
        "who is on it?\nCheckout returns 500 after the deploy\nonly for Visa cards"
    )
    assert retrieval_query("who is on it?", []) == "who is on it?"


def test_prompt_is_joined_never_formatted() -> None:
    question = "why {0.__class__} and {question}?"
    prompt = build_prompt(question, [ThreadMessage("U1", "see {x}", "1.0")], [source(1)])
    assert prompt.startswith(
        "Sources:\n[1] PAY-1: Issue 1 (PAY-1, In Progress, assignee Maya Chen, updated 2026"
    )
    assert "user: see {x}" in prompt
    assert prompt.endswith("Question: " + question)


def test_llm_answer_keeps_only_citations_of_given_sources() -> None:
    chat = FakeChat("Retries double charge [1][3]; see also [7].")
    composed = compose("double charge?", [], [source(1), source(2), source(3)], [], chat)
    assert composed.mode == "llm"
    assert composed.text == "Retries double charge [1][3]; see also ."
    assert [c.number for c in composed.citations] == [1, 3]
    uncited = compose("double charge?", [], [source(1), source(2)], [], FakeChat("Yes, it happened."))
    assert [c.number for c in uncited.citations] == [1, 2]  # no markers: every source given is listed


def test_llm_failure_and_no_llm_give_a_labelled_extractive_answer() -> None:
    failed = compose("charge customers twice", [], [source(1)], [], FakeChat(None))
    assert failed.mode == "extractive"
    assert failed.note
    assert failed.quotes == [Quote(number=1, text="Webhook retries charge customers twice.")]
    plain = compose("charge customers twice", [], [source(1)], [], None)
    assert (plain.mode, plain.note) == ("extractive", None)


def test_nothing_relevant_lists_the_nearest() -> None:
    composed = compose("weather?", [], [], [result(1), result(2), result(3), result(4)], FakeChat("x"))
    assert composed.mode == "none"
    assert [h.key for h in composed.nearest] == ["PAY-1", "PAY-2", "PAY-3"]


def test_quotes_pick_sentences_that_share_words_and_skip_markup() -> None:
    passage = "h3. Steps\nOpen the mobile app. The webhook consumer retries every event twice. Then it stops."
    assert quote(passage, "webhook retries") == "The webhook consumer retries every event twice."
    assert quote(passage, "unrelated words") == "Open the mobile app."  # nothing shared: the start
    assert len(quote("word " * 500, "word")) <= 300


@given(st.text(min_size=1, max_size=20_000))
def test_split_text_keeps_every_piece_within_the_limit(text: str) -> None:
    pieces = split_text(text, 500)
    assert all(0 < len(p) <= 500 for p in pieces)
    assert "".join("".join(p.split()) for p in pieces) == "".join(text.split())


def citations(n: int) -> list[Citation]:
    return [
        Citation(number=i, title=f"PAY-{i}: Title", key=f"PAY-{i}", url=f"https://j/browse/PAY-{i}")
        for i in range(1, n + 1)
    ]


def test_views_stay_within_slack_limits() -> None:
    long = AnswerNotice(
        question="q", mode="llm", text=("A sentence citing [1]. " * 200 + "\n\n") * 10,
        citations=citations(5), answer_id=7, synced_at=UPDATED,
    )  # fmt: skip
    messages = answer_messages(long)
    assert len(messages) > 1
    for message in messages:
        assert len(message["blocks"]) <= 50
        assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in message["blocks"])
        assert len(message["text"]) <= 3000
    buttons = messages[-1]["blocks"][-1]
    assert [json.loads(e["value"]) for e in buttons["elements"]] == [
        {"answer_id": 7, "vote": 1},
        {"answer_id": 7, "vote": -1},
    ]


def test_extractive_view_is_labelled_and_links_citations() -> None:
    notice = AnswerNotice(
        question="<script>", asked_by="U1", echo_question=True, mode="extractive",
        quotes=[Quote(number=1, text="Charged <twice> & refunded")], citations=citations(1), answer_id=3,
    )  # fmt: skip
    text = json.dumps(answer_messages(notice)[0], ensure_ascii=False)
    assert "Extractive answer" in text
    assert "&lt;script&gt;" in text  # the question is escaped
    assert "Charged &lt;twice&gt; &amp; refunded <https://j/browse/PAY-1|[1]>" in text
    assert "PAY-1: Title" in text
    assert "PAY-1 PAY-1" not in text  # a title that starts with its key is not prefixed again
    working = answer_messages(AnswerNotice(question="why?", working=True))
    assert "Looking through" in working[0]["text"]
    assert len(working) == 1
