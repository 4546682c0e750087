"""TODO and subscription services on the embedded database (SQLite): permissions, listing, overdue, snooze."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.db.schedule_tables import DigestSubscription
from core.db.session import Database
from core.digests.parse import SubscribeRequest
from core.digests.service import set_personal, subscribe, subscriptions, unsubscribe
from core.errors import Forbidden, InvalidInput
from core.todos import service
from core.todos.service import TodoNotFound

AT = datetime(2026, 10, 28, 12, 0, tzinfo=UTC)  # Wednesday


def add(
    db: Database, owner: str = "U0MAYA", due: date | None = None, tz: str | None = "UTC", **kw: object
) -> int:
    with db.session() as session:
        values: dict[str, object] = {
            "team_id": "T1", "creator": "U0ALICE", "owner": owner, "text": "Send the notes", "due": due,
            "tz": tz, "channel_id": "C1", "permalink": "https://slack.example/p1",
        }  # fmt: skip
        values.update(kw)
        return service.add_todo(session, **values).id  # type: ignore[arg-type]


def test_only_owner_creator_or_admin_may_change_a_todo(db: Database) -> None:
    todo_id = add(db)
    with db.session() as session, pytest.raises(Forbidden):
        service.complete(session, "U0BOB", todo_id, False)
    with db.session() as session, pytest.raises(Forbidden):
        service.edit(session, "U0BOB", todo_id, text="mine now", is_admin=False)
    with db.session() as session:
        assert service.edit(session, "U0ALICE", todo_id, text=" Send the slides ", is_admin=False).text == (
            "Send the slides"
        )
        assert service.snooze_for(session, "U0BOB", todo_id, timedelta(days=1), True).snoozed_until
        done = service.complete(session, "U0MAYA", todo_id, False)
        first_done = done.done_at
        assert done.status == "done"
        assert service.complete(session, "U0MAYA", todo_id, False).done_at == first_done
    with db.session() as session, pytest.raises(InvalidInput, match="already done"):
        service.snooze(session, "U0MAYA", todo_id, AT, False)
    with db.session() as session, pytest.raises(TodoNotFound, match="#999"):
        service.get_todo(session, 999)
    with db.session() as session, pytest.raises(TodoNotFound):
        service.get_todo(session, todo_id, team_id="T2")  # another workspace's TODO


def test_adding_needs_text_and_defaults_the_owner(db: Database) -> None:
    with db.session() as session, pytest.raises(InvalidInput):
        service.add_todo(
            session, team_id="T1", creator="U0ALICE", owner=None, text="  ", due=None, tz=None,
            channel_id=None, permalink=None,
        )  # fmt: skip
    todo_id = add(db, owner=None)  # type: ignore[arg-type]
    with db.session() as session:
        assert service.get_todo(session, todo_id).owner_slack_id == "U0ALICE"


def test_list_open_first_soonest_due_first(db: Database) -> None:
    late = add(db, due=date(2026, 11, 5))
    undated = add(db)
    soon = add(db, due=date(2026, 10, 29))
    theirs = add(db, owner="U0BOB", due=date(2026, 10, 30))
    done = add(db, due=date(2026, 10, 1))
    with db.session() as session:
        service.complete(session, "U0MAYA", done, False)
    with db.session() as session:
        assert [t.id for t in service.list_todos(session, owner="U0MAYA", team_id="T1")] == [
            soon,
            late,
            undated,
        ]
        everyone = service.list_todos(session, owner=None, team_id="T1", include_done=True)
        assert [t.id for t in everyone] == [soon, theirs, late, undated, done]
        assert service.list_todos(session, owner="U0MAYA", team_id="T2") == []


def test_overdue_is_judged_in_each_todos_zone_and_respects_snoozes(db: Database) -> None:
    # At 12:00 UTC on Wednesday 28 October it is already Thursday in Kiritimati (UTC+14).
    tuesday = add(db, owner="U0MAYA", due=date(2026, 10, 27))
    wednesday_utc = add(db, owner="U0MAYA", due=date(2026, 10, 28))
    wednesday_kiritimati = add(db, owner="U0BOB", due=date(2026, 10, 28), tz="Pacific/Kiritimati")
    snoozed = add(db, owner="U0BOB", due=date(2026, 10, 1))
    with db.session() as session:
        service.snooze(session, "U0BOB", snoozed, AT + timedelta(hours=1), False)
    with db.session() as session:
        ids = [t.id for t in service.overdue(session, team_id="T1", at=AT)]
        assert ids == [tuesday, wednesday_kiritimati]
        assert wednesday_utc not in ids
        assert [t.id for t in service.overdue(session, team_id="T1", at=AT, owners={"U0MAYA"})] == [tuesday]
        assert service.overdue(session, team_id="T1", at=AT, owners=set()) == []
        later = [t.id for t in service.overdue(session, team_id="T1", at=AT + timedelta(hours=2))]
        assert snoozed in later  # the snooze ran out
        due = service.due_by(session, owner="U0MAYA", today=date(2026, 10, 28), at=AT)
        assert [t.id for t in due] == [tuesday, wednesday_utc]


def test_one_active_subscription_per_channel(db: Database) -> None:
    request = SubscribeRequest(time="08:30", projects=["PAY"], weekdays=[0, 2, 4])
    with db.session() as session:
        first = subscribe(
            session, team_id="T1", channel_id="C1", user_id="U0ALICE", tz="Europe/Berlin", request=request
        )
        second = subscribe(session, team_id="T1", channel_id="C1", user_id="U0BOB", tz=None, request=request)
        subscribe(session, team_id="T1", channel_id="C2", user_id="U0BOB", tz="Nowhere/Land", request=request)
    with db.session() as session:
        active = subscriptions(session, "T1")
        assert (active[0].id, active[0].channel_id, active[0].tz) == (second.id, "C1", "UTC")
        assert [s.tz for s in active] == ["UTC", "UTC"]  # unknown zones fall back to UTC
        assert session.get(DigestSubscription, first.id).active is False  # type: ignore[union-attr]
        assert unsubscribe(session, "C1") is True
        assert unsubscribe(session, "C1") is False
        assert [s.channel_id for s in subscriptions(session, "T1")] == ["C2"]


def test_personal_settings_keep_what_is_not_said(db: Database) -> None:
    with db.session() as session:
        row = set_personal(session, "U0MAYA", True, "7:45", "Asia/Tokyo")
        assert (row.enabled, row.local_time, row.tz, row.reminders) == (True, "07:45", "Asia/Tokyo", True)
        row = set_personal(session, "U0MAYA", False, None, None, reminders=False)
        assert (row.enabled, row.local_time, row.tz, row.reminders) == (False, "07:45", "Asia/Tokyo", False)
        with pytest.raises(InvalidInput):
            set_personal(session, "U0MAYA", True, "25:00", None)
