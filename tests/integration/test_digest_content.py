"""What digests say, delivered through the real Slack side to LocalSlack: Jira activity everyone may see,
overdue TODOs of the channel's members only, long digests split in a thread, the LLM summary, personal
digests and reminders, and `/pm digest now`."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.sender import SlackSender
from core.db.schedule_tables import PersonalDigest
from core.digests.content import channel_digest
from core.digests.delivery import run_due
from core.digests.service import set_personal
from core.jobs.runner import run_job
from core.todos import service as todos
from tests.fakes.openai import FakeOpenAI
from tests.fakes.slack import LocalSlack
from tests.integration.digest_helpers import (
    add_issue,
    add_project,
    add_subscription,
    add_todo,
    add_user,
    deliveries,
    digest_settings,
    job_context,
    posts,
    text_of,
)

pytestmark = pytest.mark.integration

AT = datetime(2026, 10, 28, 8, 0, tzinfo=UTC)  # Wednesday, 09:00 in Berlin
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.fixture
def env(migrated_pg: str, slack_sync: tuple[LocalSlack, SlackSender]) -> tuple[str, LocalSlack]:
    slack = slack_sync[0]
    slack.add_user("U0BOB", "bob@northwind.example", "bob", team_id="T0TEST")
    slack.add_user("U0MAYA", "maya@northwind.example", "Maya Chen", team_id="T0TEST")
    return migrated_pg, slack


@pytest.fixture
def llm() -> Iterator[FakeOpenAI]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = FakeOpenAI()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def seed_jira(db: Any) -> None:
    add_project(db, "PAY")
    add_project(db, "WEB")
    add_project(db, "SEC", restricted=True)
    add_issue(db, "PAY-1", updated=AT - 2 * H, created=AT - 2 * H, status="To Do", category="new")
    add_issue(db, "PAY-2", updated=AT - 3 * H, status="Done", category="done", resolved=AT - 3 * H)
    add_issue(db, "PAY-3", updated=AT - H)  # moved to In Progress
    add_issue(db, "PAY-4", updated=AT - H, status="Blocked")  # newly blocked
    add_issue(db, "PAY-5", updated=AT - 4 * H, status="To Do", category="new", priority="Highest")
    add_issue(db, "PAY-6", updated=AT - 8 * D)  # stale
    add_issue(db, "PAY-7", updated=AT - 3 * D, status="Blocked")  # still blocked
    add_issue(db, "PAY-8", updated=AT - 9 * D, status="Done", category="done", resolved=AT - 9 * D)
    add_issue(db, "WEB-1", updated=AT - H, created=AT - H, status="To Do", category="new")
    add_issue(db, "SEC-1", updated=AT - H, created=AT - H, status="To Do", category="new", priority="Highest")
    add_issue(db, "SEC-2", updated=AT - 2 * D, status="Blocked")
    add_issue(db, "SEC-3", updated=AT - 9 * D)


def test_the_channel_digest_shows_activity_everyone_may_see(env: tuple[str, LocalSlack]) -> None:
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        seed_jira(ctx.db)
        with ctx.db.session() as session:
            notice = channel_digest(
                session, ctx.settings, channel_id="C0TEST", team_id="T0TEST", projects=[], tz="Europe/Berlin",
                until=AT, members=set(),
            )  # fmt: skip
        keys = {s.name: [i.key for i in s.items] for s in notice.sections}
        assert keys == {
            "blocked_new": ["PAY-4"], "high_priority": ["PAY-5"], "created": ["WEB-1", "PAY-1"],
            "in_progress": ["PAY-3"], "resolved": ["PAY-2"], "blocked": ["PAY-7"], "stale": ["PAY-6"],
            "todos_overdue": [],
        }  # fmt: skip
        assert notice.since == AT - D  # no digest before: the last 24 hours
        stale = next(s for s in notice.sections if s.name == "stale").items[0]
        assert stale.note == "no update for 8 days"

        add_subscription(ctx.db, "C0TEST", projects=["PAY"])
        assert run_due(ctx, AT).sent == 1
        (message,) = posts(slack, "C0TEST")
        body = text_of(message)
        for key in ("PAY-1", "PAY-2", "PAY-3", "PAY-4", "PAY-5", "PAY-6", "PAY-7"):
            assert f"<https://jira.example/browse/{key}|{key}>" in body
        assert "SEC-" not in body  # restricted: not for everyone in a channel
        assert "WEB-1" not in body  # not one of the subscription's projects
        assert "PAY-8" not in body  # nothing new, nothing open


def test_the_next_digest_starts_where_the_last_one_ended(env: tuple[str, LocalSlack]) -> None:
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        add_project(ctx.db, "PAY")
        add_subscription(ctx.db, "C0TEST")
        add_issue(ctx.db, "PAY-1", updated=AT - H, created=AT - H, status="To Do", category="new")
        assert run_due(ctx, AT).sent == 1
        add_issue(ctx.db, "PAY-2", updated=AT + H, created=AT + H, status="To Do", category="new")
        assert run_due(ctx, AT + D).sent == 1
        first, second = (text_of(call) for call in posts(slack, "C0TEST"))
        assert "PAY-1" in first
        assert "PAY-2" in second
        assert "PAY-1" not in second
        assert [r.covers_until for r in deliveries(ctx.db)] == [AT, AT + D]


def test_overdue_todos_of_the_channels_members_only(env: tuple[str, LocalSlack]) -> None:
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        mine = add_todo(ctx.db, "U0ALICE", date(2026, 10, 20), text="Alice's overdue TODO")
        add_todo(ctx.db, "U0BOB", date(2026, 10, 20), text="Bob's overdue TODO")  # not in C0TEST
        add_todo(ctx.db, "U0ALICE", date(2026, 10, 30), text="Alice's TODO due later")
        snoozed = add_todo(ctx.db, "U0ALICE", date(2026, 10, 21), text="Alice's snoozed TODO")
        done = add_todo(ctx.db, "U0ALICE", date(2026, 10, 21), text="Alice's finished TODO")
        with ctx.db.session() as session:
            todos.snooze(session, "U0ALICE", snoozed, AT + D, False)
            todos.complete(session, "U0ALICE", done, False)
        add_subscription(ctx.db, "C0TEST")
        add_subscription(ctx.db, "CEMPTY")  # a channel without those people
        slack.add_channel("CEMPTY", "empty", members=["U0MAYA"])
        assert run_due(ctx, AT).sent == 2
        body = text_of(posts(slack, "C0TEST")[0])
        assert f"<https://localslack.test/archives/C0TEST/pU0ALICE|#{mine}> Alice's overdue TODO" in body
        assert "<@U0ALICE> · due 2026-10-20 · _8 days overdue_" in body
        for absent in ("Bob's", "due later", "snoozed", "finished"):
            assert absent not in body
        assert "Overdue TODOs" not in text_of(posts(slack, "CEMPTY")[0])
        assert {c.args["channel"] for c in slack.calls_to("conversations.members")} == {"C0TEST", "CEMPTY"}


def test_a_long_digest_is_split_between_items_and_continues_in_the_thread(
    env: tuple[str, LocalSlack],
) -> None:
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        add_project(ctx.db, "PAY")
        long = "Checkout times out under load when the payment provider answers slowly " * 2
        for n in range(1, 41):
            add_issue(
                ctx.db,
                f"PAY-{n}",
                updated=AT - H,
                created=AT - H,
                status="To Do",
                category="new",
                summary=long,
            )
            add_issue(ctx.db, f"PAY-{100 + n}", updated=AT - H, summary=long)  # in progress
            add_issue(ctx.db, f"PAY-{200 + n}", updated=AT - 9 * D, summary=long)  # stale
            add_issue(ctx.db, f"PAY-{300 + n}", updated=AT - 2 * D, status="Blocked", summary=long)
        add_subscription(ctx.db, "C0TEST")
        assert run_due(ctx, AT).sent == 1
        messages = posts(slack, "C0TEST")
        assert len(messages) >= 2
        first, rest = messages[0], messages[1:]
        assert "thread_ts" not in first.args
        assert {m.args["thread_ts"] for m in rest} == {first.response["ts"]}
        delivery = deliveries(ctx.db)[0]
        assert delivery.message_ts == first.response["ts"]
        for part, message in enumerate(messages):
            blocks = message.args["blocks"]
            assert len(blocks) <= 50
            assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
            payload = message.args["metadata"]["event_payload"]
            assert payload == {"delivery_id": delivery.id, "part": part}
        items = [
            line for m in messages for b in m.args["blocks"] if b["type"] == "section"
            for line in b["text"]["text"].splitlines() if line.startswith("• ")
        ]  # fmt: skip
        assert len(items) == 4 * 25  # each section lists 25 whole items, the rest are counted
        assert all(" · Maya Chen" in line for line in items)
        assert json.dumps([m.args["blocks"] for m in messages]).count("and 15 more not listed here") == 4


def test_the_llm_summary_goes_on_top_and_its_failure_costs_only_the_summary(
    env: tuple[str, LocalSlack], llm: FakeOpenAI
) -> None:
    url, slack = env
    settings = digest_settings(
        url, slack.api_url, openai_api_key="sk-test-" + "k" * 24, openai_base_url=llm.api_url
    )
    with job_context(settings) as ctx:
        seed_jira(ctx.db)
        add_subscription(ctx.db, "C0TEST")
        llm.reply = "PAY-4 is now blocked; PAY-5 is the top priority. Two issues are stale."
        assert run_due(ctx, AT).sent == 1
        blocks = posts(slack, "C0TEST")[0].args["blocks"]
        assert (
            blocks[2]["text"]["text"]
            == "PAY-4 is now blocked; PAY-5 is the top priority. Two issues are stale."
        )
        prompt = llm.requests[0]["messages"][1]["content"]
        assert "PAY-4" in prompt
        assert "SEC-" not in prompt  # the model sees only what the channel may see

        llm.status = 400
        add_subscription(ctx.db, "COTHER")
        assert run_due(ctx, AT).sent == 1
        body = text_of(posts(slack, "COTHER")[0])
        assert "top priority" not in body
        assert "PAY-4" in body


def test_personal_digest_and_reminders_at_each_persons_morning(env: tuple[str, LocalSlack]) -> None:
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        seed_jira(ctx.db)
        maya = add_user(ctx.db, "U0MAYA", "maya@northwind.example", "Maya Chen", tz="Europe/Berlin")
        add_user(ctx.db, "U0BOB", "bob@northwind.example", "Bob Stone", tz="America/New_York")
        add_issue(ctx.db, "WEB-9", updated=AT - H, assignee=("Maya Chen", None))  # matched by display name
        add_issue(ctx.db, "WEB-10", updated=AT - H, assignee=("Bob Stone", "bob@northwind.example"))
        due_today = add_todo(
            ctx.db, "U0MAYA", date(2026, 10, 28), text="Maya's TODO due today", tz="Europe/Berlin"
        )
        add_todo(ctx.db, "U0MAYA", date(2026, 10, 29), text="Maya's TODO due tomorrow", tz="Europe/Berlin")
        bobs = add_todo(ctx.db, "U0BOB", date(2026, 10, 26), text="Bob's overdue TODO", tz="America/New_York")
        with ctx.db.session() as session:
            set_personal(session, "U0MAYA", True, "08:30", "Europe/Berlin", now=AT - 30 * D)
            set_personal(
                session, "U0ALICE", True, "08:30", "Europe/Berlin", now=AT - 30 * D
            )  # nothing for her

        first = run_due(ctx, AT - 31 * timedelta(minutes=1))  # 08:29 in Berlin: nothing yet
        assert (first.due, posts(slack)) == (0, [])
        report = run_due(ctx, AT)  # 09:00 in Berlin, 04:00 in New York
        assert (report.sent, report.empty) == (1, 1)  # Maya's digest; Alice had nothing to say
        (dm,) = posts(slack, "U0MAYA")
        body = text_of(dm)
        assert f"#{due_today}> Maya's TODO due today" in body
        assert "due tomorrow" not in body
        for key in ("PAY-3", "PAY-4", "PAY-6", "WEB-9"):
            assert f"|{key}>" in body
        assert "SEC-" not in body  # restricted, and Maya is not a member
        assert "WEB-10" not in body
        assert "PAY-2" not in body  # done

        assert run_due(ctx, AT + 5 * H - timedelta(minutes=1)).sent == 0  # 08:59 in New York
        assert (
            run_due(ctx, AT + 5 * H).sent == 1
        )  # Bob's reminder at 09:00 his time (no settings: Slack zone)
        (reminder,) = posts(slack, "U0BOB")
        assert f"#{bobs}> Bob's overdue TODO" in text_of(reminder)
        assert "_2 days overdue_" in text_of(reminder)
        assert run_due(ctx, AT + 10 * H).sent == 0  # one reminder a day
        with ctx.db.session() as session:
            assert session.get(PersonalDigest, 1) is not None
        kinds = sorted((r.kind, r.target, r.status) for r in deliveries(ctx.db))
        assert kinds == [
            ("personal", "U0ALICE", "skipped"),
            ("personal", "U0MAYA", "sent"),
            ("reminder", "U0BOB", "sent"),
        ]
        assert maya


def test_digest_now_and_the_tick_through_the_job_catalog(env: tuple[str, LocalSlack]) -> None:
    url, slack = env
    with job_context(digest_settings(url, slack.api_url)) as ctx:
        seed_jira(ctx.db)
        add_issue(
            ctx.db, "WEB-2", updated=datetime.now(UTC) - H, created=datetime.now(UTC) - H, category="new"
        )
        add_subscription(ctx.db, "C0TEST", projects=["WEB"])
        target = {"response_url": slack.new_response_url(), "private": True}
        payload = {"channel": "C0TEST", "requester": "U0ALICE", "team_id": "T0TEST", "target": target}
        run_job(ctx, "agentpm.digest.now", payload, request_id=None, final_attempt=True)
        (now_post,) = posts(slack, "C0TEST")
        assert "|WEB-2>" in text_of(now_post)  # the last 24 hours of the subscription's projects
        assert "PAY-" not in text_of(now_post)
        assert "asked for by <@U0ALICE>" in text_of(now_post)
        assert "metadata" not in now_post.args
        assert deliveries(ctx.db) == []  # not the scheduled delivery

        slack.fail_next("chat.postMessage", error="not_in_channel")
        run_job(
            ctx, "agentpm.digest.now", payload | {"channel": "CPRIVATE"}, request_id=None, final_attempt=True
        )
        refusal = slack.calls_to("response_url")[-1].args
        assert refusal["response_type"] == "ephemeral"
        assert "I could not post the digest in this channel" in json.dumps(refusal)
        assert "not_in_channel" in json.dumps(refusal)

        run_job(
            ctx,
            "agentpm.digest.tick",
            {"at": "2026-10-28T08:00:00+00:00"},
            request_id=None,
            final_attempt=True,
        )
        run_job(
            ctx, "agentpm.digest.tick", {"at": "2026-10-28T08:00:00Z"}, request_id=None, final_attempt=True
        )
        assert len(posts(slack, "C0TEST")) == 2  # digest now, then the scheduled one, once
        assert [r.status for r in deliveries(ctx.db)] == ["sent"]
