"""Channel and meeting documents in search and answers on PostgreSQL: only members of a channel see its
messages (memberships read from LocalSlack through the real SlackSender), a public answer uses only what
everyone in its channel may see, pasted meeting notes are their poster's alone, and citations link back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine

from bot.history import SlackChannelHistory
from bot.sender import SlackSender
from core.channels.access import enable
from core.channels.membership import MembershipCache, channels_for_audience, channels_for_user
from core.channels.messages import upsert_messages
from core.config import Role
from core.db.session import Database
from core.meetings.ingest import store_meeting
from core.search.answers import compose, find_sources
from core.search.service import SearchFilters, Viewer, search
from tests.fakes.slack import LocalSlack

pytestmark = pytest.mark.integration

QUESTION = "what causes the payment gateway timeout?"
LINK = "https://northwind.slack.com/archives/"
MESSAGES = [
    ("C0ENG", "eng", "1767000000.000100", "U0BOB",
     "The payment gateway timeout is caused by the retry storm"),
    ("C0SECRET", "incident-secret", "1767000001.000100", "U0CAROL",
     "Payment gateway timeout: the expired certificate causes it"),
    ("C0ALL", "general", "1767000002.000100", "U0ALICE",
     "Reminder: payment gateway timeout postmortem on Friday"),
]  # fmt: skip


@pytest.fixture
def world(
    migrated_pg: str, slack_sync: tuple[LocalSlack, SlackSender]
) -> Iterator[tuple[Database, MembershipCache]]:
    slack, sender = slack_sync
    slack.add_channel("C0ENG", "eng", members=["U0ALICE", "U0BOB"])
    slack.add_channel("C0SECRET", "incident-secret", members=["U0CAROL"], is_private=True)
    slack.add_channel("C0ALL", "general", members=["U0ALICE", "U0BOB", "U0CAROL"])
    db = Database(create_engine(migrated_pg))
    with db.session() as session:
        for channel, name in (("C0ENG", "eng"), ("C0SECRET", "incident-secret"), ("C0ALL", "general")):
            enable(
                session,
                team_id="T0TEST",
                channel_id=channel,
                name=name,
                is_private=False,
                user_slack_id="U0A",
            )
        for channel, name, ts, user, text in MESSAGES:
            link = LINK + channel + "/p" + ts.replace(".", "")
            upsert_messages(session, channel, name, [{"user": user, "ts": ts, "text": text}], {ts: link})
        store_meeting(
            session, team_id="T0TEST", channel_id=None, thread_ts=None, title="Carol's 1:1 notes",
            filename=None, text="The payment gateway timeout is why we are changing vendors.",
            posted_by="U0CAROL",
        )  # fmt: skip
        store_meeting(
            session, team_id="T0TEST", channel_id="C0ENG", thread_ts="1767000000.000100", title="Eng sync",
            filename="sync.txt", text="Bob will fix the payment gateway timeout by Friday.",
            posted_by="U0ALICE", url=LINK + "C0ENG/p1767000003000100",
        )  # fmt: skip
    try:
        yield db, MembershipCache(SlackChannelHistory(sender).members)
    finally:
        db.dispose()


def viewer_for(db: Database, cache: MembershipCache, user: str) -> Viewer:
    with db.session() as session:
        return Viewer(user_id=None, role=Role.USER, channels=channels_for_user(session, cache, user))


def titles(db: Database, viewer: Viewer, filters: SearchFilters | None = None) -> set[str]:
    with db.session() as session:
        return {r.title for r in search(session, "payment gateway timeout", viewer, filters)}


def test_search_shows_a_channels_messages_only_to_its_members(
    world: tuple[Database, MembershipCache],
) -> None:
    db, cache = world
    bob, carol = viewer_for(db, cache, "U0BOB"), viewer_for(db, cache, "U0CAROL")
    assert bob.channels == {"C0ENG", "C0ALL", "D:U0BOB"}
    assert titles(db, bob) == {
        "#eng: The payment gateway timeout is caused by the retry storm",
        "#general: Reminder: payment gateway timeout postmortem on Friday",
        "Eng sync",
    }
    assert titles(db, carol) == {
        "#incident-secret: Payment gateway timeout: the expired certificate causes it",
        "#general: Reminder: payment gateway timeout postmortem on Friday",
        "Carol's 1:1 notes",
    }
    assert titles(db, bob, SearchFilters(source="meeting")) == {"Eng sync"}
    assert titles(db, carol, SearchFilters(source="slack")) == {
        "#incident-secret: Payment gateway timeout: the expired certificate causes it",
        "#general: Reminder: payment gateway timeout postmortem on Friday",
    }
    nobody = Viewer(user_id=None, role=Role.USER, channels=frozenset())
    assert titles(db, nobody) == set()  # no membership known: no channel or meeting document
    assert len(titles(db, Viewer())) == 5  # the shell's ADMIN view sees everything


def test_answers_use_and_cite_only_what_the_asker_may_see(world: tuple[Database, MembershipCache]) -> None:
    db, cache = world
    bob = viewer_for(db, cache, "U0BOB")
    with db.session() as session:
        sources, results = find_sources(session, QUESTION, [], bob, None)
    assert sources
    assert all("secret" not in r.title and "Carol" not in r.title for r in results)
    composed = compose(QUESTION, [], sources, results, None)
    cited = {c.url for c in composed.citations}
    assert LINK + "C0ENG/p1767000000000100" in cited
    assert all(url and "C0SECRET" not in url for url in cited)


def test_a_public_answer_uses_only_what_everyone_in_its_channel_may_see(
    world: tuple[Database, MembershipCache],
) -> None:
    db, cache = world
    with db.session() as session:
        in_eng = channels_for_audience(session, cache, "C0ENG")
        in_general = channels_for_audience(session, cache, "C0ALL")
    assert in_eng == {"C0ENG", "C0ALL"}  # everyone in #eng is in #general, nobody there sees #incident-secret
    assert in_general == {"C0ALL"}  # Carol reads #general: #eng is left out
    public = Viewer(user_id=None, role=Role.USER, channels=in_general)
    with db.session() as session:
        sources, results = find_sources(session, QUESTION, [], public, None)
    assert {r.title for r in results} == {"#general: Reminder: payment gateway timeout postmortem on Friday"}
    assert all(s.result.url == LINK + "C0ALL/p1767000002000100" for s in sources)
