"""Backfill of an opted-in channel through the real SlackSender against LocalSlack over HTTP: pages, threads,
injected rate limits (resumed from the saved cursor, no duplicates), retention; and the channel jobs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.history import SlackChannelHistory
from bot.sender import SlackSender
from core.channels import jobs as channel_jobs
from core.channels.access import enable
from core.channels.backfill import backfill
from core.channels.messages import upsert_messages
from core.config import Settings
from core.db.knowledge_tables import IndexedChannel
from core.db.models import Document, VectorDeletion
from core.db.schema import upgrade
from core.db.session import Database, make_engine
from core.errors import Retryable
from core.jobs.context import JobContext
from core.notices import Notice, ReplyTarget
from tests.fakes.slack import LocalSlack

pytestmark = pytest.mark.integration

CHANNEL = "C0ENG"
PEOPLE = ("U0ALICE", "U0BOB", "U0CAROL")


@pytest.fixture
def db(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'channels.db'}"
    upgrade(url)
    database = Database(make_engine(Settings(database_url=url)))
    with database.session() as session:
        enable(
            session,
            team_id="T0TEST",
            channel_id=CHANNEL,
            name="eng",
            is_private=False,
            user_slack_id="U0ALICE",
        )
    return database


def seed(slack: LocalSlack) -> dict[str, Any]:
    """230 people's messages (3 start threads, one of 120 replies), bot and system messages, a broadcast."""
    slack.add_channel(CHANNEL, "eng", members=PEOPLE)
    people: list[str] = []
    threads: dict[str, list[str]] = {}
    noise = 0
    for i in range(230):
        people.append(slack.add_message(CHANNEL, f"message number {i} about the release", user=PEOPLE[i % 3]))
        if i % 40 == 0:
            slack.add_raw_message(
                CHANNEL, {"subtype": "channel_join", "user": "U0NEW", "text": "<@U0NEW> joined"}
            )
            slack.add_raw_message(
                CHANNEL, {"bot_id": "B0CI", "subtype": "bot_message", "text": "build passed"}
            )
            noise += 2
    for root, size in ((people[10], 120), (people[100], 3), (people[200], 2)):
        replies = [
            slack.add_message(CHANNEL, f"reply {n} in thread", user="U0BOB", thread_ts=root)
            for n in range(size)
        ]
        replies.append(
            slack.add_raw_message(CHANNEL, {"bot_id": "B0CI", "text": "bot reply", "thread_ts": root})
        )
        threads[root] = replies
    broadcast = slack.add_raw_message(
        CHANNEL,
        {
            "subtype": "thread_broadcast",
            "user": "U0CAROL",
            "text": "also sent to the channel",
            "thread_ts": people[100],
        },
    )
    threads[people[100]].append(broadcast)
    human_replies = sum(len(r) - 1 for r in threads.values())
    return {"people": people, "threads": threads, "expected": len(people) + human_replies, "noise": noise}


def stored(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(Document.external_id).where(Document.source == "slack")))


def channel_row(db: Database) -> IndexedChannel:
    with db.session() as session:
        return session.scalars(select(IndexedChannel)).one()


def test_backfill_across_pages_with_rate_limits_resumes_without_duplicates(
    slack_sync: tuple[LocalSlack, SlackSender], db: Database
) -> None:
    slack, sender = slack_sync
    seeded = seed(slack)
    history = SlackChannelHistory(sender)

    first = backfill(db, history, CHANNEL, page_size=50, max_pages=2)
    assert (first.pages, first.done) == (2, False)
    saved = channel_row(db).backfill_cursor
    assert saved
    after_two_pages = len(stored(db))

    # Slack keeps answering 429 (slack_sdk's own two retries give up): progress so far is kept.
    slack.fail_next("conversations.history", status=429, retry_after=1, times=3)
    with pytest.raises(Retryable) as limited:
        backfill(db, history, CHANNEL, page_size=50)
    assert limited.value.retry_after == 1.0
    assert channel_row(db).backfill_cursor == saved
    assert len(stored(db)) == after_two_pages

    # A rate limit while reading a page's threads stores that page's messages but not its cursor.
    slack.fail_next("conversations.replies", status=429, retry_after=0, times=3)
    with pytest.raises(Retryable):
        backfill(db, history, CHANNEL, page_size=50)
    assert channel_row(db).backfill_cursor == saved  # page 3 is read again on resume
    assert len(stored(db)) > after_two_pages  # but its messages are stored already
    slack.clear()

    report = backfill(db, history, CHANNEL, page_size=50)
    assert report.done
    ids = stored(db)
    assert len(ids) == len(set(ids)) == seeded["expected"]
    row = channel_row(db)
    assert (row.backfill_done, row.backfill_cursor, row.messages_indexed) == (True, None, seeded["expected"])
    history_calls = slack.calls_to("conversations.history")
    assert all(c.args.get("limit") == "50" for c in history_calls)
    assert any(c.args.get("cursor") for c in history_calls)
    assert len(slack.calls_to("conversations.replies")) >= 3  # the 120-reply thread took three pages

    with db.session() as session:
        by_ts = {d.external_id.split(":", 1)[1]: d for d in session.scalars(select(Document))}
    root = seeded["people"][10]
    reply = seeded["threads"][root][0]
    assert by_ts[reply].meta["thread_ts"] == root
    assert by_ts[reply].url == (
        f"https://localslack.test/archives/{CHANNEL}/p{reply.replace('.', '')}?thread_ts={root}&cid={CHANNEL}"
    )
    assert by_ts[root].url == f"https://localslack.test/archives/{CHANNEL}/p{root.replace('.', '')}"
    assert not any(
        "build passed" in d.body or "joined" in d.body or "bot reply" in d.body for d in by_ts.values()
    )
    assert not slack.calls_to("chat.getPermalink")  # links come from the workspace URL

    assert backfill(db, history, CHANNEL).done  # finished: nothing more is read
    assert len(slack.calls_to("conversations.history")) == len(history_calls)


def test_backfill_stops_at_the_retention_period(
    slack_sync: tuple[LocalSlack, SlackSender], db: Database
) -> None:
    slack, sender = slack_sync
    old = f"{time.time() - 40 * 86400:.0f}.000100"
    slack.add_raw_message(CHANNEL, {"user": "U0ALICE", "text": "ancient history", "ts": old})
    recent = [slack.add_message(CHANNEL, f"recent {i}", user="U0BOB") for i in range(5)]
    report = backfill(db, SlackChannelHistory(sender), CHANNEL, page_size=2, retention_days=30)
    assert report.done
    assert sorted(stored(db)) == sorted(f"{CHANNEL}:{t}" for t in recent)


def test_backfill_of_a_channel_turned_off_stops(
    slack_sync: tuple[LocalSlack, SlackSender], db: Database
) -> None:
    slack, sender = slack_sync
    slack.add_message(CHANNEL, "hello", user="U0BOB")
    with db.session() as session:
        session.scalars(select(IndexedChannel)).one().enabled = False
    report = backfill(db, SlackChannelHistory(sender), CHANNEL)
    assert (report.pages, report.done) == (0, False)
    assert stored(db) == []
    assert not slack.calls_to("conversations.history")


class Recorder:
    backend = "recording"

    def __init__(self) -> None:
        self.jobs: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[Notice] = []

    def enqueue(self, name: str, payload: dict[str, Any]) -> str:
        self.jobs.append((name, payload))
        return "job"

    def pending(self) -> int | None:
        return 0

    def ping(self, timeout: float) -> int:
        return 1

    def send(self, target: ReplyTarget, notice: Notice) -> str | None:
        self.sent.append(notice)
        return None

    def update(self, target: ReplyTarget, ts: str, notice: Notice) -> None:
        self.sent.append(notice)


def context(db: Database, sender: SlackSender, recorder: Recorder, **settings: Any) -> JobContext:
    return JobContext(
        settings=Settings(database_url=str(db.engine.url), **settings),
        db=db,
        notifier=recorder,
        queue=recorder,
        history=SlackChannelHistory(sender),
    )


def test_the_backfill_job_continues_in_new_runs_and_asks_for_indexing(
    slack_sync: tuple[LocalSlack, SlackSender], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack, sender = slack_sync
    for i in range(5):
        slack.add_message(CHANNEL, f"note {i}", user="U0BOB")
    monkeypatch.setattr(channel_jobs, "PAGES_PER_JOB", 2)
    monkeypatch.setattr(channel_jobs, "PAGE_SIZE", 2)
    recorder = Recorder()
    ctx = context(db, sender, recorder)
    channel_jobs.backfill_channel(ctx, {"channel_id": CHANNEL})
    assert [name for name, _ in recorder.jobs] == ["agentpm.search.index", "agentpm.channels.backfill"]
    channel_jobs.backfill_channel(ctx, recorder.jobs[-1][1])
    assert [name for name, _ in recorder.jobs][2:] == ["agentpm.search.index"]
    assert len(stored(db)) == 5
    assert channel_row(db).backfill_done


def test_live_events_through_the_event_job(slack_sync: tuple[LocalSlack, SlackSender], db: Database) -> None:
    slack, sender = slack_sync
    recorder = Recorder()
    ctx = context(db, sender, recorder)
    ts = slack.add_message(CHANNEL, "ship it", user="U0ALICE")
    base = {"type": "message", "channel": CHANNEL}
    channel_jobs.apply_message_event(ctx, {"event": {**base, "user": "U0ALICE", "text": "ship it", "ts": ts}})
    with db.session() as session:
        document = session.scalars(select(Document)).one()
    assert document.url == f"https://localslack.test/archives/{CHANNEL}/p{ts.replace('.', '')}"
    channel_jobs.apply_message_event(ctx, {"event": {**base, "subtype": "message_deleted", "deleted_ts": ts}})
    channel_jobs.apply_message_event(ctx, {"event": {**base, "channel": "C0NOPE", "text": "x", "ts": ts}})
    assert [name for name, _ in recorder.jobs] == ["agentpm.search.index", "agentpm.search.index"]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Document)) == 0
        assert session.scalar(select(func.count()).select_from(VectorDeletion)) == 1  # the index drops it too


def test_the_purge_job_uses_each_channels_retention(
    slack_sync: tuple[LocalSlack, SlackSender], db: Database
) -> None:
    _, sender = slack_sync
    old, new = f"{time.time() - 10 * 86400:.0f}.000100", f"{time.time():.0f}.000100"
    with db.session() as session:
        upsert_messages(
            session,
            CHANNEL,
            "eng",
            [{"user": "U1", "text": "old", "ts": old}, {"user": "U1", "text": "new", "ts": new}],
            {},
        )
    recorder = Recorder()
    channel_jobs.purge_channels(context(db, sender, recorder), {})
    assert len(stored(db)) == 2  # no retention configured
    channel_jobs.purge_channels(context(db, sender, recorder, agentpm_channel_retention_days=7), {})
    assert stored(db) == [f"{CHANNEL}:{new}"]
    assert [name for name, _ in recorder.jobs] == ["agentpm.search.index"]
