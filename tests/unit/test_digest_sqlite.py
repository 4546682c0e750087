"""The embedded default (SQLite, in-process jobs): the same run_due delivers once, also from two threads,
and takes over a dead worker's claim (SQLite hands back naive datetimes)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

from bot.directory import SlackDirectory
from bot.notifier import SlackNotifier
from bot.sender import SlackSender
from core.config import Settings
from core.db.schedule_tables import Delivery
from core.db.session import Database
from core.digests import claims
from core.digests.delivery import run_due
from core.digests.parse import SubscribeRequest
from core.digests.service import subscribe
from core.jobs.context import JobContext
from core.jobs.inprocess import InProcessQueue
from tests.fakes.slack import LocalSlack

AT = datetime(2026, 10, 28, 8, 0, tzinfo=UTC)


def context(db: Database, sender: SlackSender) -> JobContext:
    return JobContext(
        settings=Settings(database_url="sqlite://"), db=db, notifier=SlackNotifier(sender),
        queue=InProcessQueue(workers=1), directory=SlackDirectory(sender),
    )  # fmt: skip


def test_sqlite_delivers_once_from_two_threads_and_recovers_a_dead_claim(
    db: Database, slack_sync: tuple[LocalSlack, SlackSender]
) -> None:
    slack, sender = slack_sync
    ctx = context(db, sender)
    with db.session() as session:
        for channel in ("C1", "C2", "C3"):
            subscribe(
                session, team_id="T0TEST", channel_id=channel, user_id="U0ALICE", tz="Europe/Berlin",
                request=SubscribeRequest(weekdays=list(range(7))), now=AT - timedelta(days=3),
            )  # fmt: skip
    dead = claims.claim(db, "channel", "3", date(2026, 10, 28), now=datetime.now(UTC) - timedelta(minutes=30))
    assert dead is not None
    threads = [threading.Thread(target=run_due, args=(ctx, AT)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    sent = [c.args["channel"] for c in slack.calls_to("chat.postMessage") if not c.failed]
    assert sorted(sent) == ["C1", "C2", "C3"]
    with db.session() as session:
        rows = session.query(Delivery).order_by(Delivery.target).all()
        assert [(r.target, r.status, r.attempts) for r in rows] == [
            ("1", "sent", 1),
            ("2", "sent", 1),
            ("3", "sent", 2),
        ]
    assert run_due(ctx, AT + timedelta(hours=1)).due == 0
