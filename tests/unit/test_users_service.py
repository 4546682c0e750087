"""core.users.service and core.users.audit on a real SQLite database: first sight, linking, roles, audit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import core.db.models  # noqa: F401  (registers the tables on Base.metadata)
from core.config import Role, Settings, load_settings
from core.context import request_context
from core.db.base import Base
from core.db.models import AuditEvent, User
from core.db.session import Database, make_engine
from core.errors import InvalidInput
from core.users import audit
from core.users.identity import Profile
from core.users.service import Identity, LastAdmin, UnknownUser, grant, list_users, resolve, set_role

TEAM = "T0001"
DOMAINS = ["example.com"]

MakeSettings = Callable[..., Settings]


@pytest.fixture
def make_settings(clean_env: Path) -> MakeSettings:
    def build(**overrides: object) -> Settings:
        fields: dict[str, object] = {
            "database_url": f"sqlite:///{clean_env}/u.db",
            "agentpm_allowed_domains": "example.com",
            "agentpm_bootstrap_admins": "Boss@Example.com",
        }
        fields.update(overrides)
        return load_settings(**fields)

    return build


@pytest.fixture
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings()


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    engine = make_engine(settings)
    Base.metadata.create_all(engine)
    database = Database(engine)
    yield database
    database.dispose()


def profile(slack_id: str, email: str, name: str = "", tz: str | None = None, team: str = TEAM) -> Profile:
    return Profile(slack_user_id=slack_id, team_id=team, email=email, name=name, tz=tz)


def audit_events(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- resolve -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("default_role", [Role.USER, Role.NO_ACCESS, Role.ADMIN])
def test_resolve_creates_user_on_first_sight_with_default_role(
    make_settings: MakeSettings, default_role: Role
) -> None:
    settings = make_settings(agentpm_default_role=default_role.value)
    database = Database(make_engine(settings))
    Base.metadata.create_all(database.engine)
    try:
        with database.session() as session:
            who = resolve(session, profile("U1", "Alice@Example.com", "Alice", "Europe/Paris"), settings)
        assert who.role is default_role
        assert who.email == "alice@example.com"
        assert (who.slack_user_id, who.team_id, who.name, who.tz) == ("U1", TEAM, "Alice", "Europe/Paris")
        with database.session() as session:
            row = session.get(User, who.user_id)
            assert row is not None
            assert row.role == default_role.value
            assert row.email == "alice@example.com"
            assert row.last_seen_at is not None
    finally:
        database.dispose()


def test_bootstrap_admin_email_becomes_admin_case_insensitively(
    database: Database, settings: Settings
) -> None:
    with database.session() as session:
        boss = resolve(session, profile("U1", "BOSS@example.COM"), settings)
        other = resolve(session, profile("U2", "worker@example.com"), settings)
    assert boss.role is Role.ADMIN
    assert other.role is Role.USER


def test_second_resolve_finds_by_slack_id_and_updates_profile(database: Database, settings: Settings) -> None:
    with database.session() as session:
        first = resolve(session, profile("U1", "alice@example.com", "Alice", "Europe/Paris"), settings)
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    with database.session() as session:
        row = session.get(User, first.user_id)
        assert row is not None
        row.last_seen_at = long_ago
    before = datetime.now(UTC)
    with database.session() as session:
        again = resolve(
            session, profile("U1", "alice.new@example.com", "Alice B", "America/New_York"), settings
        )
    assert again.user_id == first.user_id
    assert (again.name, again.tz, again.email) == ("Alice B", "America/New_York", "alice.new@example.com")
    with database.session() as session:
        row = session.get(User, first.user_id)
        assert row is not None
        assert row.display_name == "Alice B"
        assert row.tz == "America/New_York"
        assert row.last_seen_at is not None
        assert row.last_seen_at.replace(tzinfo=UTC) >= before - timedelta(seconds=1)
        assert session.scalar(select(User).where(User.email == "alice@example.com")) is None
        assert len(list(session.scalars(select(User)))) == 1


def test_resolve_keeps_name_and_tz_when_slack_sends_none(database: Database, settings: Settings) -> None:
    with database.session() as session:
        first = resolve(session, profile("U1", "alice@example.com", "Alice", "Europe/Paris"), settings)
        again = resolve(session, profile("U1", "alice@example.com", "", None), settings)
    assert again.user_id == first.user_id
    assert (again.name, again.tz) == ("Alice", "Europe/Paris")


def test_same_slack_id_in_another_team_is_another_user(database: Database, settings: Settings) -> None:
    with database.session() as session:
        one = resolve(session, profile("U1", "alice@example.com", team="T1"), settings)
        two = resolve(session, profile("U1", "bob@example.com", team="T2"), settings)
    assert one.user_id != two.user_id
    assert (one.team_id, two.team_id) == ("T1", "T2")


def test_user_granted_before_first_sight_is_linked_and_keeps_role(
    database: Database, settings: Settings
) -> None:
    with database.session() as session:
        assert grant(session, "Carol@Example.com", Role.ADMIN, DOMAINS) == (None, Role.ADMIN)
    with database.session() as session:
        row = session.scalar(select(User).where(User.email == "carol@example.com"))
        assert row is not None
        assert (row.slack_user_id, row.team_id) == (None, None)
        granted_id = row.id
    with database.session() as session:
        who = resolve(session, profile("U9", "carol@example.com", "Carol", "Asia/Tokyo"), settings)
    assert who.user_id == granted_id
    assert who.role is Role.ADMIN  # not the default USER
    assert (who.slack_user_id, who.team_id, who.name) == ("U9", TEAM, "Carol")
    with database.session() as session:
        assert len(list(session.scalars(select(User)))) == 1
        again = resolve(session, profile("U9", "carol@example.com"), settings)
    assert again.user_id == granted_id


def test_slack_email_changed_to_a_pre_granted_email_still_resolves(
    database: Database, settings: Settings
) -> None:
    with database.session() as session:
        resolve(session, profile("U1", "alice@example.com"), settings)
        grant(session, "alice.smith@example.com", Role.ADMIN, DOMAINS)
    with database.session() as session:
        who = resolve(session, profile("U1", "alice.smith@example.com"), settings)
    assert who.email == "alice.smith@example.com"
    assert who.role is Role.ADMIN  # the grant made ahead of time applies
    with database.session() as session:
        assert len(list(session.scalars(select(User).where(User.email == "alice.smith@example.com")))) == 1


def test_first_seen_is_audited_once(database: Database, settings: Settings) -> None:
    for _ in range(3):
        with database.session() as session:
            resolve(session, profile("U1", "Alice@example.com", "Alice"), settings)
    events = audit_events(database, "user.first_seen")
    assert len(events) == 1
    event = events[0]
    assert (event.actor_slack_id, event.actor_email, event.target) == (
        "U1",
        "alice@example.com",
        "alice@example.com",
    )
    assert event.outcome == "ok"
    assert event.detail == {"role": "USER"}


# --- set_role ------------------------------------------------------------------------------------------


def test_set_role_changes_role_and_records_from_to(database: Database, settings: Settings) -> None:
    with database.session() as session:
        boss = resolve(session, profile("U1", "boss@example.com"), settings)
        bob = resolve(session, profile("U2", "bob@example.com"), settings)
    with database.session() as session:
        assert set_role(session, boss, bob, Role.ADMIN) is Role.USER
    with database.session() as session:
        row = session.get(User, bob.user_id)
        assert row is not None
        assert row.role == "ADMIN"
    events = audit_events(database, "role.change")
    assert len(events) == 1
    assert events[0].detail == {"from": "USER", "to": "ADMIN"}
    assert (events[0].actor_slack_id, events[0].actor_email, events[0].target) == (
        "U1",
        "boss@example.com",
        "bob@example.com",
    )


def test_last_admin_cannot_be_demoted_until_there_is_a_second(database: Database, settings: Settings) -> None:
    with database.session() as session:
        boss = resolve(session, profile("U1", "boss@example.com"), settings)
        bob = resolve(session, profile("U2", "bob@example.com"), settings)
    for role in (Role.USER, Role.NO_ACCESS):
        with pytest.raises(LastAdmin), database.session() as session:
            set_role(session, boss, boss, role)
    with database.session() as session:
        row = session.get(User, boss.user_id)
        assert row is not None
        assert row.role == "ADMIN"
        assert set_role(session, boss, boss, Role.ADMIN) is Role.ADMIN  # no-op is fine
    assert [e.detail for e in audit_events(database, "role.change")] == [{"from": "ADMIN", "to": "ADMIN"}]

    with database.session() as session:
        set_role(session, boss, bob, Role.ADMIN)
    with database.session() as session:
        assert set_role(session, bob, boss, Role.USER) is Role.ADMIN
    with pytest.raises(LastAdmin), database.session() as session:
        set_role(session, bob, bob, Role.NO_ACCESS)
    with database.session() as session:
        roles = {u.email: u.role for u in session.scalars(select(User))}
    assert roles == {"boss@example.com": "USER", "bob@example.com": "ADMIN"}


def test_set_role_of_unknown_user(database: Database, settings: Settings) -> None:
    with database.session() as session:
        boss = resolve(session, profile("U1", "boss@example.com"), settings)
    ghost = Identity(
        user_id=9999, slack_user_id="U404", team_id=TEAM, email="x@example.com", name="", role=Role.USER
    )
    with pytest.raises(UnknownUser), database.session() as session:
        set_role(session, boss, ghost, Role.ADMIN)


# --- grant ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["not-an-email", "", "a@b@example.com", "a@", "a b@example.com"])
def test_grant_rejects_malformed_email(database: Database, email: str) -> None:
    with pytest.raises(InvalidInput), database.session() as session:
        grant(session, email, Role.USER, DOMAINS)
    with database.session() as session:
        assert list(session.scalars(select(User))) == []


@pytest.mark.parametrize("email", ["a@evil.org", "a@sub.example.com", "a@example.com.evil.org"])
def test_grant_rejects_email_outside_allowed_domains(database: Database, email: str) -> None:
    with pytest.raises(InvalidInput, match="outside"), database.session() as session:
        grant(session, email, Role.USER, DOMAINS)


def test_grant_without_allowed_domains_accepts_any_domain(database: Database) -> None:
    with database.session() as session:
        assert grant(session, "a@anywhere.org", Role.USER, []) == (None, Role.USER)


def test_grant_normalises_updates_and_audits(database: Database) -> None:
    with database.session() as session:
        assert grant(session, "  Dave@Example.COM ", Role.USER, DOMAINS) == (None, Role.USER)
    with database.session() as session:
        assert grant(session, "dave@example.com", Role.NO_ACCESS, DOMAINS) == (Role.USER, Role.NO_ACCESS)
    with database.session() as session:
        rows = list(session.scalars(select(User)))
    assert [(u.email, u.role) for u in rows] == [("dave@example.com", "NO_ACCESS")]
    events = audit_events(database, "role.grant")
    assert [e.detail for e in events] == [{"from": None, "to": "USER"}, {"from": "USER", "to": "NO_ACCESS"}]
    assert {(e.actor_email, e.target) for e in events} == {("(shell)", "dave@example.com")}


def test_grant_refuses_demoting_the_last_admin(database: Database) -> None:
    with database.session() as session:
        grant(session, "boss@example.com", Role.ADMIN, DOMAINS)
    with pytest.raises(LastAdmin), database.session() as session:
        grant(session, "boss@example.com", Role.USER, DOMAINS)
    with database.session() as session:
        grant(session, "second@example.com", Role.ADMIN, DOMAINS)
    with database.session() as session:
        assert grant(session, "boss@example.com", Role.USER, DOMAINS) == (Role.ADMIN, Role.USER)


def test_list_users_orders_by_role_then_email(database: Database) -> None:
    with database.session() as session:
        for email, role in [
            ("zed@example.com", Role.USER),
            ("amy@example.com", Role.USER),
            ("max@example.com", Role.ADMIN),
            ("nol@example.com", Role.NO_ACCESS),
            ("abe@example.com", Role.ADMIN),
        ]:
            grant(session, email, role, DOMAINS)
    with database.session() as session:
        users = list_users(session)
        first_two = list_users(session, limit=2)
    assert [(u.email, u.role) for u in users] == [
        ("abe@example.com", Role.ADMIN),
        ("max@example.com", Role.ADMIN),
        ("nol@example.com", Role.NO_ACCESS),
        ("amy@example.com", Role.USER),
        ("zed@example.com", Role.USER),
    ]
    assert [u.email for u in first_two] == ["abe@example.com", "max@example.com"]
    assert all(u.slack_user_id is None for u in users)


# --- audit ---------------------------------------------------------------------------------------------


def test_audit_recent_filters_and_orders_newest_first(database: Database) -> None:
    base = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with database.session() as session:
        for minutes, actor, action in [
            (0, "UA", "a.first"),
            (10, "UB", "b.first"),
            (20, "UA", "a.second"),
            (30, "UB", "b.second"),
            (40, "UA", "a.third"),
        ]:
            event = audit.record(session, action=action, outcome="ok", actor_slack_id=actor, detail=None)
            event.at = base + timedelta(minutes=minutes)
    with database.session() as session:
        everything = audit.recent(session)
        mine = audit.recent(session, actor_slack_id="UA")
        recent = audit.recent(session, since=base + timedelta(minutes=20))
        mine_recent = audit.recent(session, actor_slack_id="UA", since=base + timedelta(minutes=15))
        newest_two_of_b = audit.recent(session, actor_slack_id="UB", limit=1)
    assert [e.action for e in everything] == ["a.third", "b.second", "a.second", "b.first", "a.first"]
    assert [e.action for e in mine] == ["a.third", "a.second", "a.first"]
    assert [e.action for e in recent] == ["a.third", "b.second", "a.second"]
    assert [e.action for e in mine_recent] == ["a.third", "a.second"]
    assert [e.action for e in newest_two_of_b] == ["b.second"]
    assert everything[0].detail == {}
    assert everything[0].outcome == "ok"


def test_audit_same_instant_orders_by_insertion(database: Database) -> None:
    instant = datetime(2026, 3, 1, tzinfo=UTC)
    with database.session() as session:
        for action in ("one", "two", "three"):
            audit.record(session, action=action, outcome="ok").at = instant
    with database.session() as session:
        assert [e.action for e in audit.recent(session)] == ["three", "two", "one"]


def test_audit_record_carries_request_id(database: Database) -> None:
    with request_context("req-123"), database.session() as session:
        event = audit.record(session, action="x", outcome="ok", target="t", detail={"k": 1})
        assert event.request_id == "req-123"
    with database.session() as session:
        assert audit.record(session, action="y", outcome="ok").request_id is None


def test_another_workspace_with_the_same_email_does_not_take_over_the_role(
    database: Database, settings: Settings
) -> None:
    from core.users.service import IdentityConflict

    with database.session() as session:
        resolve(session, Profile(slack_user_id="U1", team_id="T1", email="root@example.com"), settings)
    with database.session() as session, pytest.raises(IdentityConflict):
        resolve(session, Profile(slack_user_id="U9", team_id="T2", email="root@example.com"), settings)
    events = audit_events(database, "user.link")
    assert [e.outcome for e in events] == ["refused:other_workspace"]
    with database.session() as session:
        again = resolve(
            session, Profile(slack_user_id="U1", team_id="T1", email="root@example.com"), settings
        )
    assert again.slack_user_id == "U1"
