"""Indexed channels: who may opt a channel in, messages as documents, live events, retention, membership."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.channels.access import can_enable, disable, enable, indexed, indexed_channel_ids
from core.channels.membership import (
    MembershipCache,
    audience_channels,
    channels_for_audience,
    channels_for_user,
    personal_channel,
)
from core.channels.messages import apply_event, is_indexable, purge_older_than, title_of, upsert_messages
from core.config import Role
from core.db.knowledge_tables import IndexedChannel
from core.db.models import AuditEvent, Document
from core.db.session import Database
from core.errors import Retryable
from core.meetings.ingest import store_meeting

CHANNEL = "C0ENG"
NOW = time.time()


def ts(seconds_ago: float = 0.0, n: int = 0) -> str:
    return f"{NOW - seconds_ago:.0f}.{n:06d}"


def message(text: str, when: str, user: str = "U0ALICE", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "user": user, "text": text, "ts": when, **extra}


def event(**fields: Any) -> dict[str, Any]:
    return {"type": "message", "channel": CHANNEL, "channel_type": "channel", **fields}


def docs(db: Database, channel: str = CHANNEL) -> dict[str, Document]:
    with db.session() as session:
        rows = session.scalars(
            select(Document).where(Document.source == "slack", Document.channel_id == channel)
        )
        return {d.external_id.split(":", 1)[1]: d for d in rows}


@pytest.fixture
def channel(db: Database) -> str:
    with db.session() as session:
        enable(
            session, team_id="T1", channel_id=CHANNEL, name="eng", is_private=False, user_slack_id="U0ALICE"
        )  # fmt: skip
    return CHANNEL


def test_who_may_opt_a_channel_in() -> None:
    assert can_enable(Role.USER, is_private=False, bot_is_member=False) is None
    assert can_enable("ADMIN", is_private=True, bot_is_member=True) is None
    assert (
        can_enable(Role.USER, is_private=True, bot_is_member=True)
        == "Only an admin can index a private channel."
    )
    assert "Invite me" in (can_enable(Role.ADMIN, is_private=True, bot_is_member=False) or "")
    assert "do not have access" in (can_enable(Role.NO_ACCESS, is_private=False, bot_is_member=True) or "")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, True),
        ({"thread_ts": "1.000001"}, True),
        ({"subtype": "thread_broadcast", "thread_ts": "1.000001"}, True),
        ({"subtype": "file_share"}, True),
        ({"bot_id": "B1"}, False),
        ({"subtype": "bot_message"}, False),
        ({"subtype": "channel_join"}, False),
        ({"subtype": "channel_topic"}, False),
        ({"subtype": "pinned_item"}, False),
        ({"subtype": "some_future_subtype"}, False),
        ({"text": "   "}, False),
        ({"text": "<>"}, True),
        ({"user": None}, False),
        ({"ts": "not-a-ts"}, False),
        ({"hidden": True}, False),
    ],
)
def test_which_messages_are_indexed(fields: dict[str, Any], expected: bool) -> None:
    assert is_indexable({**message("the deploy is green", "1.000002"), **fields}) is expected


def test_messages_become_readable_documents_and_unchanged_ones_keep_their_embedding(
    db: Database, channel: str
) -> None:
    first, reply = ts(60), ts(30)
    messages = [
        message(
            "Deploy <https://ci.test/run/1|run 1> failed for <@U0BOB> &amp; <#C0OPS|ops>\nsecond line", first
        ),
        message("on it", reply, user="U0BOB", thread_ts=first),
        message("joined", ts(20), subtype="channel_join"),
        message("bot says hi", ts(10), bot_id="B9"),
    ]
    links = {first: "https://slack.test/archives/C0ENG/p1", reply: "https://slack.test/archives/C0ENG/p2"}
    with db.session() as session:
        assert upsert_messages(session, channel, "eng", messages, links) == 2
    stored = docs(db)
    assert set(stored) == {first, reply}
    root = stored[first]
    assert root.title == "#eng: Deploy run 1 (https://ci.test/run/1) failed for @U0BOB & #ops"
    assert root.body.endswith("\nsecond line")
    assert root.url == links[first]
    assert root.meta == {"user": "U0ALICE", "ts": first, "thread_ts": None, "version": first}
    assert stored[reply].meta["thread_ts"] == first
    assert root.updated_at.replace(tzinfo=UTC) == datetime.fromtimestamp(float(first), UTC)
    with db.session() as session:
        session.get_one(Document, root.id).indexed_at = datetime.now(UTC)
    with db.session() as session:  # the same page again: nothing changes, nothing is re-embedded
        assert upsert_messages(session, channel, "eng", messages, links) == 0
    assert docs(db)[first].indexed_at is not None


def test_titles_are_cut() -> None:
    assert title_of("eng", "x" * 200) == "#eng: " + "x" * 79 + "…"


def test_live_events_store_edit_delete_and_ignore(db: Database, channel: str) -> None:
    root, reply = ts(100), ts(90)
    with db.session() as session:
        assert (
            apply_event(session, event(user="U0ALICE", text="release at 5", ts=root), "https://l/1")
            == "stored"
        )
        assert apply_event(session, event(user="U0BOB", text="ok", ts=reply, thread_ts=root)) == "stored"
        assert (
            apply_event(session, event(bot_id="B1", subtype="bot_message", text="beep", ts=ts(80)))
            == "ignored"
        )
        assert (
            apply_event(session, event(subtype="channel_join", user="U0BOB", text="joined", ts=ts(70)))
            == "ignored"
        )
        assert (
            apply_event(session, {**event(user="U0A", text="x", ts=ts(60)), "channel": "C0OTHER"})
            == "ignored"
        )
    assert docs(db)[reply].meta["thread_ts"] == root
    edited = {
        "type": "message",
        "user": "U0ALICE",
        "text": "release at 6",
        "ts": root,
        "edited": {"ts": ts(50)},
    }
    with db.session() as session:
        assert apply_event(session, event(subtype="message_changed", message=edited, ts=ts(50))) == "updated"
    after_edit = docs(db)[root]
    assert after_edit.body == "release at 6"
    assert after_edit.url == "https://l/1"  # the link is kept
    assert after_edit.indexed_at is None
    stale = {**edited, "text": "release at 5", "edited": {"ts": ts(55)}}
    with db.session() as session:  # an older version arriving late changes nothing
        assert apply_event(session, event(subtype="message_changed", message=stale, ts=ts(49))) == "ignored"
        deleted = event(
            subtype="message_deleted", deleted_ts=reply, previous_message={"ts": reply}, ts=ts(40)
        )
        assert apply_event(session, deleted) == "deleted"
        assert apply_event(session, deleted) == "ignored"
        tombstone = {
            "type": "message",
            "subtype": "tombstone",
            "text": "This message was deleted.",
            "ts": root,
        }
        assert (
            apply_event(session, event(subtype="message_changed", message=tombstone, ts=ts(30))) == "deleted"
        )
        assert session.get_one(IndexedChannel, 1).messages_indexed == 0
    assert docs(db) == {}


def test_retention_purges_old_messages(db: Database, channel: str) -> None:
    old, recent = ts(40 * 86400), ts(86400)
    with db.session() as session:
        upsert_messages(session, channel, "eng", [message("old news", old), message("fresh", recent)], {})
        upsert_messages(session, "C0OTHER", "other", [message("old elsewhere", old)], {})
    with db.session() as session:
        assert purge_older_than(session, channel, 30) == 1
    assert set(docs(db)) == {recent}
    assert set(docs(db, "C0OTHER")) == {old}
    with db.session() as session:
        assert purge_older_than(session, None, 30) == 1
    assert docs(db, "C0OTHER") == {}


def test_disable_deletes_the_channels_messages_but_not_its_meetings(db: Database, channel: str) -> None:
    with db.session() as session:
        upsert_messages(session, channel, "eng", [message("one", ts(2)), message("two", ts(1))], {})
        store_meeting(
            session, team_id="T1", channel_id=channel, thread_ts=None, title="Sync", filename=None,
            text="notes", posted_by="U0ALICE",
        )  # fmt: skip
    with db.session() as session:
        assert indexed_channel_ids(session) == {channel}
        assert disable(session, channel, "U0ALICE") == 2
        assert indexed(session, channel) is None
        assert indexed_channel_ids(session) == set()
        assert session.scalar(select(Document.source).where(Document.channel_id == channel)) == "meeting"
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        assert actions == ["channel.index_on", "channel.index_off"]
        row = enable(
            session, team_id="T1", channel_id=channel, name="eng2", is_private=False, user_slack_id="U0B"
        )
        assert (row.enabled, row.backfill_done, row.backfill_cursor, row.name) == (True, False, None, "eng2")


def test_enabling_twice_keeps_the_backfill_going(db: Database, channel: str) -> None:
    with db.session() as session:
        row = session.get_one(IndexedChannel, 1)
        row.backfill_cursor = "page-7"
        again = enable(
            session, team_id="T1", channel_id=channel, name="eng", is_private=False, user_slack_id="U0B"
        )
        assert again.backfill_cursor == "page-7"
        assert again.enabled_by == "U0ALICE"


class Members:
    def __init__(self, members: dict[str, set[str]]) -> None:
        self.members = members
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, channel: str) -> set[str]:
        with self.lock:
            self.calls.append(channel)
        if channel not in self.members:
            raise Retryable("channel_not_found")
        return self.members[channel]


def test_membership_is_cached_briefly_and_fails_closed() -> None:
    lookup = Members({"C1": {"U1", "U2"}, "C2": {"U2"}})
    clock = [0.0]
    cache = MembershipCache(lookup, ttl_seconds=60, clock=lambda: clock[0])
    assert cache.channels_of("U1", {"C1", "C2", "C3"}) == {"C1"}
    assert cache.channels_of("U2", {"C1", "C2", "C3"}) == {"C1", "C2"}
    assert sorted(lookup.calls) == ["C1", "C2", "C3", "C3"]  # the failing channel is not cached
    lookup.members["C1"] = {"U2"}  # U1 left C1
    clock[0] = 59.0
    assert cache.channels_of("U1", {"C1"}) == {"C1"}
    clock[0] = 61.0
    assert cache.channels_of("U1", {"C1"}) == frozenset()
    lookup.members["C2"] = {"U1"}
    cache.invalidate("C2")
    assert cache.channels_of("U1", {"C2"}) == {"C2"}


def test_membership_cache_is_thread_safe() -> None:
    lookup = Members({f"C{i}": {"U1"} if i % 2 else {"U2"} for i in range(50)})
    cache = MembershipCache(lookup)
    results: list[frozenset[str]] = []

    def search() -> None:
        results.append(cache.channels_of("U1", set(lookup.members)))

    threads = [threading.Thread(target=search) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({*results}) == 1
    assert len(next(iter(results))) == 25


def test_a_public_answer_uses_only_channels_everyone_there_may_see() -> None:
    members = {
        "C0HERE": {"U1", "U2"},
        "C0ALL": {"U1", "U2", "U3"},  # everyone here is in it
        "C0SOME": {"U1", "U3"},  # U2 is not
        personal_channel("U1"): {"U1", "U2"},  # never in a public answer
    }
    assert audience_channels("C0HERE", members) == {"C0HERE", "C0ALL"}
    assert audience_channels("C0NOBODY", members) == frozenset()
    assert audience_channels("C0HERE", {**members, "C0HERE": set()}) == frozenset()


def test_viewer_channels_from_the_database_and_slack(db: Database, channel: str) -> None:
    with db.session() as session:
        store_meeting(
            session, team_id="T1", channel_id="C0SYNC", thread_ts=None, title="Sync", filename=None,
            text="notes", posted_by="U0ALICE",
        )  # fmt: skip
        store_meeting(
            session, team_id="T1", channel_id="D0DM", thread_ts=None, title="Mine", filename=None,
            text="notes", posted_by="U0ALICE",
        )  # fmt: skip
    cache = MembershipCache(Members({CHANNEL: {"U0ALICE", "U0BOB"}, "C0SYNC": {"U0BOB"}}))
    with db.session() as session:
        assert channels_for_user(session, cache, "U0ALICE") == {CHANNEL, "D:U0ALICE"}
        assert channels_for_user(session, cache, "U0BOB") == {CHANNEL, "C0SYNC", "D:U0BOB"}
        assert channels_for_audience(session, cache, "C0SYNC") == {"C0SYNC", CHANNEL}
        assert channels_for_audience(session, cache, CHANNEL) == {CHANNEL}


slack_text = st.text(max_size=200) | st.sampled_from(
    ["<@U1>", "<https://x.test|x>", "&lt;&gt;&amp;", "<!here>", ""]
)
event_values = (
    st.none() | st.booleans() | st.integers() | slack_text | st.sampled_from(["1767000000.000100", "C0ENG"])
)
event_fields = st.dictionaries(
    st.sampled_from(
        ["type", "subtype", "user", "text", "ts", "thread_ts", "bot_id", "hidden", "deleted_ts", "channel"]
    ),
    event_values,
    max_size=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=event_fields,
    inner=event_fields,
    subtype=st.sampled_from([None, "message_changed", "message_deleted"]),
)
def test_any_message_event_is_stored_ignored_or_deleted(
    db: Database, channel: str, fields: dict[str, Any], inner: dict[str, Any], subtype: str | None
) -> None:
    payload: dict[str, Any] = {"type": "message", "channel": CHANNEL, **fields}
    if subtype:
        payload.update(subtype=subtype, message=inner, previous_message=inner)
    with db.session() as session:
        outcome = apply_event(session, payload)
    assert outcome in ("stored", "updated", "deleted", "ignored")
    assert isinstance(is_indexable(fields), bool)
