"""Backup and restore on PostgreSQL: export, import into a fresh database, export again, byte-identical."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from psycopg import sql
from sqlalchemy import func, insert, select

from bot.cli import main
from core.backup import TABLES, ImportRefused, InvalidBackup, export_database, import_backup, parse
from core.channels.access import enable
from core.channels.messages import upsert_messages
from core.config import Role, load_settings
from core.credentials import JiraCredential, load_jira, save_jira
from core.crypto import Vault
from core.db import schema
from core.db.answer_tables import Answer, AnswerFeedback
from core.db.models import Chunk, Document, JiraIssue, Project, SyncState, User
from core.db.schedule_tables import Delivery, DigestSubscription
from core.db.session import Database, make_engine
from core.db.slack_tables import slack_bots, slack_installations
from core.digests.parse import SubscribeRequest
from core.digests.service import set_personal, subscribe
from core.meetings.actions import save_action_items
from core.meetings.ingest import store_meeting
from core.meetings.rules import ActionItem
from core.search.access import set_project_access
from core.todos.service import add_todo
from core.users.identity import Profile
from core.users.service import grant, resolve
from tests.conftest import PG_ADMIN_DSN, _sqlalchemy_url

pytestmark = pytest.mark.integration

KEY = Fernet.generate_key().decode()
AT = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def _db(url: str) -> Database:
    return Database(make_engine(load_settings(database_url=url, redis_url=None, celery_broker_url=None)))


def _create(template: str | None = None) -> str:
    """A new database (a copy of ``template`` when given: far faster than migrating each one)."""
    name = f"agentpm_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable ({type(exc).__name__})")
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with admin:
        admin.execute(statement)
    return name


def _drop(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _url(name: str) -> str:
    return _sqlalchemy_url(f"{PG_ADMIN_DSN.rpartition('/')[0]}/{name}")


@pytest.fixture(scope="module")
def migrated_template() -> Iterator[str]:
    """An empty database at head, copied for the source and every restore target."""
    name = _create()
    try:
        schema.upgrade(_url(name))
        yield name
    finally:
        _drop(name)


@pytest.fixture(scope="module")
def source(migrated_template: str) -> Iterator[Database]:
    """The database being backed up (filled once; no test changes it)."""
    name = _create(migrated_template)
    db = _db(_url(name))
    try:
        _fill(db)
        yield db
    finally:
        db.dispose()
        _drop(name)


@pytest.fixture(scope="module")
def exported(source: Database) -> str:
    return export_database(source.engine, at=AT).text


@pytest.fixture
def target(migrated_template: str) -> Iterator[Database]:
    """A fresh database at head: the restore's destination."""
    name = _create(migrated_template)
    db = _db(_url(name))
    try:
        yield db
    finally:
        db.dispose()
        _drop(name)


@pytest.fixture(scope="module")
def untouched(migrated_template: str) -> Iterator[Database]:
    """One fresh database shared by the refusals: each must leave it empty."""
    name = _create(migrated_template)
    db = _db(_url(name))
    try:
        yield db
    finally:
        db.dispose()
        _drop(name)


def _fill(db: Database) -> None:
    """A row in every exported table, through the real services where there is one."""
    settings = load_settings(database_url="sqlite://", redis_url=None, celery_broker_url=None)
    vault = Vault([KEY])
    with db.session() as s:
        alice = resolve(s, Profile(slack_user_id="U0ALICE", team_id="T1", email="alice@northwind.example",
                                   name="Alice", tz="Europe/Berlin"), settings)  # fmt: skip
        bob = resolve(
            s, Profile(slack_user_id="U0BOB", team_id="T1", email="bob@northwind.example"), settings
        )
        grant(s, "carol@northwind.example", Role.ADMIN, ["northwind.example"])
        save_jira(
            s, vault, alice, JiraCredential(email="alice@northwind.example", token="jira-secret"), "Alice"
        )
        s.add(Project(key="PAY", name="Payments"))
        s.add(Project(key="WEB", name="Web"))
        s.flush()
        set_project_access(s, alice, "PAY", restricted=True, members=[bob])
        s.add(SyncState(project_key="PAY", cursor_updated=AT, cursor_key="PAY-7", status="ok", issues_seen=7))
        # Jira-derived rows: not exported, rebuilt by a sync and a reindex.
        s.add(
            JiraIssue(
                key="PAY-7", jira_id="10007", project_key="PAY", summary="Refunds", created=AT, updated=AT
            )
        )
        jira_doc = Document(source="jira", external_id="PAY-7", title="Refunds", body="b", project_key="PAY")
        s.add(jira_doc)
        s.flush()
        s.add(Chunk(document_id=jira_doc.id, ordinal=0, text="b", vector=b"\x00\x01", model="m"))
        enable(s, team_id="T1", channel_id="C0GEN", name="general", is_private=False, user_slack_id="U0ALICE")
        message = {"type": "message", "user": "U0BOB", "ts": "1760000000.000100", "text": "deploy *done* ✅"}
        upsert_messages(s, "C0GEN", "general", [message], {})
        meeting = store_meeting(
            s, team_id="T1", channel_id=None, thread_ts=None, title="Planning", filename=None,
            text="Decisions\n- Alice to ship SEPA by Friday", posted_by="U0ALICE",
        )  # fmt: skip
        items = save_action_items(
            s, meeting, [ActionItem("ship SEPA", "U0ALICE", "Friday"), ActionItem("docs")]
        )
        todo = add_todo(
            s, team_id="T1", creator="U0ALICE", owner=None, text="ship SEPA", due=date(2026, 12, 4),
            tz="Europe/Berlin", channel_id="C0GEN", permalink=None,
        )  # fmt: skip
        items[0].status, items[0].todo_id, items[0].decided_by, items[0].decided_at = (
            "todo",
            todo.id,
            "U0A",
            AT,
        )
        subscription = subscribe(
            s, team_id="T1", channel_id="C0GEN", user_id="U0ALICE", tz="Europe/Berlin",
            request=SubscribeRequest(time="09:15", projects=["PAY"]), now=AT,
        )  # fmt: skip
        set_personal(s, "U0BOB", True, "08:00", "America/New_York", team_id="T1", now=AT)
        s.add(Delivery(
            kind="reminder", target="U0BOB", local_date=date(2026, 12, 1), status="sent", sent_at=AT,
            channel_id="D0BOB", message_ts="1760000001.000200",
        ))  # fmt: skip
        s.add(
            Delivery(kind="channel", target=str(subscription.id), local_date=date(2026, 12, 1), status="sent")
        )
        sources = [{"key": "PAY-7", "score": 0.5, "a": [1, {"z": None}]}]
        answer = Answer(question="what is blocked?", text="PAY-7", mode="extractive", sources=sources)
        s.add(answer)
        s.flush()
        s.add(AnswerFeedback(answer_id=answer.id, user_id="U0BOB", vote=-1))
        token = "enc:" + vault.encrypt({"token": "xoxb-1"})
        naive = datetime(2026, 11, 30, 12, 0)
        install = {"client_id": "1.2", "app_id": "A1", "team_id": "T1", "bot_token": token,
                   "is_enterprise_install": False, "installed_at": naive}  # fmt: skip
        s.execute(insert(slack_bots).values(**install))
        s.execute(
            insert(slack_installations).values(**install, user_id="U0ALICE", bot_token_expires_at=naive)
        )


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_round_trip_is_byte_identical_and_credentials_still_decrypt(
    source: Database, target: Database
) -> None:
    first = export_database(source.engine, at=AT)
    document = json.loads(first.text)
    assert document["format"] == "agentpm-export"
    assert document["version"] == 1
    assert document["schema"] == first.schema_revision
    assert set(document["tables"]) == {spec.name for spec in TABLES}
    empty = [name for name, rows in document["tables"].items() if not rows]
    assert empty == []  # every exported table has a row
    assert [d["source"] for d in document["tables"]["documents"]] == ["slack", "meeting"]  # no Jira document
    assert document["tables"]["credentials"][0]["secret"].startswith("gAAAA")  # still a Fernet token
    assert document["tables"]["todos"][0]["due"] == "2026-12-04"
    assert document["tables"]["sync_states"][0]["cursor_updated"] == "2026-12-01T08:30:00+00:00"
    assert document["tables"]["slack_bots"][0]["installed_at"] == "2026-11-30T12:00:00"

    report = import_backup(target.engine, parse(first.text))
    assert report.tables["users"].inserted == 3
    assert export_database(target.engine, at=AT).text == first.text

    with target.session() as s:
        alice = s.scalar(select(User).where(User.email == "alice@northwind.example"))
        assert alice is not None
        credential = load_jira(s, Vault([KEY]), alice.id)
        assert credential is not None
        assert credential.token == "jira-secret"
        assert s.scalar(select(func.count()).select_from(JiraIssue)) == 0
        # Sequences moved past the restored keys: new rows do not collide.
        fresh = add_todo(s, team_id="T1", creator="U0X", owner=None, text="after restore", due=None, tz=None,
                         channel_id=None, permalink=None)  # fmt: skip
        assert fresh.id == document["tables"]["todos"][-1]["id"] + 1
        s.add(User(email="dave@northwind.example"))
        s.flush()


def test_import_refuses_a_non_empty_database_and_merges_when_asked(exported: str, target: Database) -> None:
    text = exported
    with target.session() as s:  # the bot ran on the fresh database for a while: bob came first, as user 1
        settings = load_settings(database_url="sqlite://", redis_url=None, celery_broker_url=None)
        resolve(s, Profile(slack_user_id="U0BOB", team_id="T1", email="bob@northwind.example"), settings)
        resolve(s, Profile(slack_user_id="U0ERIN", team_id="T1", email="erin@northwind.example"), settings)
        subscribe(s, team_id="T1", channel_id="C0NEW", user_id="U0ERIN", tz="UTC", request=SubscribeRequest())
    with pytest.raises(
        ImportRefused, match=r"not empty: users \(2\), audit_events \(2\), digest_subscriptions \(1\)"
    ):
        import_backup(target.engine, parse(text))
    assert _count(target, User) == 2

    report = import_backup(target.engine, parse(text), merge=True)
    users = report.tables["users"]
    assert (users.inserted, users.skipped, users.renumbered) == (2, 1, 2)  # bob kept; alice, carol renumbered
    with target.session() as s:
        alice = s.scalar(select(User).where(User.email == "alice@northwind.example"))
        assert alice is not None
        credential = load_jira(s, Vault([KEY]), alice.id)  # followed alice to her new id
        assert credential is not None
        assert credential.token == "jira-secret"
        subscription = s.scalar(select(DigestSubscription).where(DigestSubscription.channel_id == "C0GEN"))
        assert subscription is not None
        assert subscription.id == 2  # renumbered: erin's subscription has 1
        delivered = s.scalar(select(Delivery.target).where(Delivery.kind == "channel"))
        assert delivered == "2"  # the delivery record followed it
    again = import_backup(target.engine, parse(text), merge=True)
    assert again.inserted == 0
    assert again.skipped == sum(len(r) for r in json.loads(text)["tables"].values())


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda d: d.update(version=2), "format version 2 is not supported"),
        (lambda d: d["tables"].update(jira_issues=[]), "unknown table(s): jira_issues"),
        (lambda d: d.update(schema="0001"), "exported at schema revision 0001"),
        (
            lambda d: d["tables"]["answer_feedback"][-1].update(vote="-1"),
            "table answer_feedback, row 1: vote",
        ),
        (lambda d: d["tables"]["todos"][-1].update(due=20261204), "table todos, row 1: due"),
        (
            lambda d: d["tables"]["action_items"][-1].update(position=None),
            "table action_items, row 2: position",
        ),
        (lambda d: d["tables"]["users"][0].update(colour="red"), "table users, row 1: colour"),
        (lambda d: d["tables"]["todos"][-1].update(created_at="2026-12-01T08:30:00"), "with a UTC offset"),
    ],
)
def test_a_corrupted_file_is_refused_with_nothing_written(
    exported: str, untouched: Database, corrupt: object, message: str
) -> None:
    document = json.loads(exported)
    corrupt(document)  # type: ignore[operator]
    with pytest.raises(InvalidBackup) as refused:
        import_backup(untouched.engine, parse(json.dumps(document)))
    assert message in str(refused.value)
    assert _count(untouched, User) == 0


def test_a_row_that_does_not_fit_rolls_everything_back(exported: str, untouched: Database) -> None:
    document = json.loads(exported)
    document["tables"]["answer_feedback"][0]["answer_id"] = 999  # no such answer: found only by the database
    with pytest.raises(ImportRefused, match="nothing was written"):
        import_backup(untouched.engine, parse(json.dumps(document)))
    assert _count(untouched, User) == 0


def test_cli_export_and_import(
    source: Database, target: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "AGENTPM_ENV"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    monkeypatch.setenv("DATABASE_URL", source.engine.url.render_as_string(hide_password=False))
    exported = runner.invoke(main, ["export", "backup.json"])
    assert exported.exit_code == 0, exported.output
    assert "users" in exported.output
    stdout = runner.invoke(main, ["export", "-"])
    assert stdout.exit_code == 0
    assert json.loads(stdout.stdout)["tables"] == json.loads((tmp_path / "backup.json").read_text())["tables"]

    monkeypatch.setenv("DATABASE_URL", target.engine.url.render_as_string(hide_password=False))
    imported = runner.invoke(main, ["import", "backup.json"])
    assert imported.exit_code == 0, imported.output
    assert "agentpm sync jira --full" in imported.output
    refused = runner.invoke(main, ["import", "backup.json"])
    assert refused.exit_code == 1
    assert "not empty" in refused.output
    assert "Traceback" not in refused.output
    merged = runner.invoke(main, ["import", "backup.json", "--merge"])
    assert merged.exit_code == 0, merged.output
    assert "0 inserted" in merged.output

    (tmp_path / "bad.json").write_text('{"format": "agentpm-export", "version": 1}')
    bad = runner.invoke(main, ["import", "bad.json"])
    assert bad.exit_code == 1
    assert bad.output.count("\n") == 1
    assert "Traceback" not in bad.output
    missing = runner.invoke(main, ["import", "nope.json"])
    assert missing.exit_code != 0
    assert "Traceback" not in missing.output
