"""The operator's commands, run as an operator would (in-process through click, or as a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from bot.cli import main
from core.config import Role

pytestmark = pytest.mark.integration


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    for name in (
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "SLACK_BOT_TOKEN",
        "JIRA_BASE_URL",
        "OPENAI_API_KEY",
        "PINECONE_API_KEY",
        "AGENTPM_ENV",
    ):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_try_runs_the_bot_in_a_terminal(sqlite_env: str) -> None:
    script = (
        "/pm help\n\n/pm status\n/pm stauts\nwhat is blocked?\n/pm admin users\n:as admin\n/pm admin users\n"
        ":as outsider\n/pm help\n:as guest\n/pm status\n:as nobody\n"
    )
    result = CliRunner().invoke(main, ["try", "--as", "dana@northwind.example"], input=script)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "» /pm help" in out
    assert "`/pm status`: What is synced and indexed" in out
    assert "*PAY* Payments Service: 24 issues" in out
    assert "*WEB* Customer Web App: 16 issues" in out
    assert "Did you mean `/pm status`?" in out
    assert "Extractive answer" in out  # "what is blocked?" is a question to the bot, answered with sources
    assert "WEB-9: Login rate limit locks out" in out
    assert "Only Agent PM admins can do that." in out  # you are a USER
    assert "*ADMIN* @U0ADMIN admin@northwind.example" in out
    assert "only for members of your organisation's Google Workspace" in out
    assert "not available to guest accounts" in out
    assert "unknown person 'nobody'" in out
    assert "Traceback" not in out


def test_try_creates_a_jira_issue_from_a_message(sqlite_env: str) -> None:
    script = (
        ":ticket Refunds to SEPA accounts fail with 502 since the deploy\n"
        ":submit type=bug\n"  # issue types follow the project: none offered yet
        ":submit priority=high\n"  # no project: the form says so
        ":submit project=PAY type=bug priority=high\n"
        "/pm ticket Add Apple Pay to checkout\n"
        ":submit project=WEB type=story summary='Apple Pay in checkout'\n"
        ":submit project=WEB colour=red\n"
        "/pm search Apple Pay checkout\n"
    )
    result = CliRunner().invoke(main, ["try"], input=script)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "=== Create Jira issue ===" in out
    assert "Possible duplicates" in out
    assert "(Nothing matches type='bug'.)" in out
    assert "issue_project: Choose a project." in out
    assert "created PAY-25: Refunds to SEPA accounts fail with 502 since the deploy" in out
    assert "created WEB-17: Apple Pay in checkout" in out
    assert "This form has no colour" in out
    assert "*1. WEB-17: Apple Pay in checkout" in out  # searchable at once
    assert "Traceback" not in out


def test_try_covers_todos_digest_now_and_the_home(sqlite_env: str) -> None:
    script = (
        "/pm todo add Send the release notes due:tomorrow\n"
        "/pm todo list\n"
        ":home\n"
        "/pm todo done 1\n"
        "/pm digest now\n"
    )
    result = CliRunner().invoke(main, ["try"], input=script)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "*#1* Send the release notes" in out
    assert out.count("=== Home ===") == 1  # shown when asked for, not after every change
    assert "*Your TODOs*" in out
    assert ":white_check_mark: *#1*" in out
    assert "*Still blocked*" in out
    assert "Traceback" not in out


def test_try_indexes_a_channel_and_a_meeting(sqlite_env: str) -> None:
    script = (
        "/pm index channel on\n"
        ":say The SEPA refund webhook gives up after three retries\n"
        "/pm search SEPA refund webhook source:slack\n"
        ":meeting\n"
        "/pm search SEPA source:meeting\n"
    )
    result = CliRunner().invoke(main, ["try"], input=script)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "turned on indexing for this channel" in out
    assert "*1. #general: The SEPA refund webhook gives up after three retries" in out
    assert "6 action items from Northwind weekly planning" in out
    assert "*1. Northwind weekly planning" in out
    assert "Traceback" not in out


def test_try_as_a_subprocess_reads_standard_input(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "try"],
        input="/pm status\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Agent PM status" in result.stdout


def test_status_json_has_the_contract_shape(sqlite_env: str) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["migrate", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["jira"] == {"projects": {}}
    assert data["documents"] == {"jira": 0, "slack": 0, "meeting": 0}
    assert data["index"] == {"backend": "local", "vectors": 0}
    text = runner.invoke(main, ["status"])
    assert "No Jira project synced yet." in text.output


def test_doctor_prints_a_line_per_dependency(sqlite_env: str) -> None:
    runner = CliRunner()
    runner.invoke(main, ["migrate", "upgrade"])
    result = runner.invoke(main, ["doctor"])
    assert result.exit_code == 0, result.output
    for name in ("database", "redis", "worker", "slack"):
        assert f" {name} " in result.output
    as_json = runner.invoke(main, ["doctor", "--json"])
    report = json.loads(as_json.output.strip().splitlines()[-1])
    assert report["status"] == "ok"
    assert report["checks"]["database"]["ok"] is True


def test_doctor_exits_1_when_redis_is_down(sqlite_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    result = CliRunner().invoke(main, ["doctor", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["status"] == "degraded"
    assert report["checks"]["redis"]["ok"] is False


def test_production_refuses_weak_secrets_with_one_line_and_exit_2(
    sqlite_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTPM_ENV", "production")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "changeme")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2
    line = result.output.strip()
    assert "\n" not in line
    assert "SLACK_SIGNING_SECRET is weak" in line
    assert "AGENTPM_ENCRYPTION_KEYS is missing" in line


def test_production_accepts_file_secrets(
    sqlite_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "signing"
    secret_file.write_text("8f14e45fceea167a5a36dedd4bea2543\n")
    monkeypatch.setenv("AGENTPM_ENV", "production")
    monkeypatch.setenv("SLACK_SIGNING_SECRET_FILE", str(secret_file))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-abcdef")
    monkeypatch.setenv("AGENTPM_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("AGENTPM_ALLOWED_DOMAINS", "northwind.example")
    result = CliRunner().invoke(main, ["migrate", "current"])
    assert result.exit_code == 0, result.output
    assert "current: none" in result.output


def test_worker_and_socket_need_their_settings(sqlite_env: str) -> None:
    runner = CliRunner()
    worker = runner.invoke(main, ["worker"])
    assert worker.exit_code == 2
    assert "REDIS_URL" in worker.output
    assert runner.invoke(main, ["beat"]).exit_code == 2
    socket = runner.invoke(main, ["socket"])
    assert socket.exit_code == 2
    assert "SLACK_APP_TOKEN" in socket.output


def test_migrate_downgrade_needs_a_revision(sqlite_env: str) -> None:
    result = CliRunner().invoke(main, ["migrate", "downgrade"])
    assert result.exit_code == 2
    assert "needs a revision" in result.output


def test_unreachable_database_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(main, ["migrate", "check"])
    assert result.exit_code == 1
    assert "database error: OperationalError" in result.output
    assert "Traceback" not in result.output


def test_admin_grant_from_the_shell(sqlite_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTPM_ALLOWED_DOMAINS", "northwind.example")
    runner = CliRunner()
    runner.invoke(main, ["migrate", "upgrade"])
    result = runner.invoke(main, ["admin", "grant", "Dana@Northwind.example", "admin"])
    assert result.exit_code == 0, result.output
    assert "dana@northwind.example is now ADMIN (was new user)" in result.output
    outsider = runner.invoke(main, ["admin", "grant", "eve@evil.example", "USER"])
    assert outsider.exit_code == 2
    assert "outside AGENTPM_ALLOWED_DOMAINS" in outsider.output
    last = runner.invoke(main, ["admin", "grant", "dana@northwind.example", "USER"])
    assert last.exit_code == 2
    assert "without an admin" in last.output


def test_rotate_key_re_encrypts_under_the_newest_key(
    sqlite_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.config import load_settings
    from core.credentials import JiraCredential, load_jira, save_jira
    from core.crypto import Vault
    from core.db.session import Database, make_engine
    from core.users.identity import Profile
    from core.users.service import resolve

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    runner = CliRunner()
    runner.invoke(main, ["migrate", "upgrade"])
    settings = load_settings(agentpm_encryption_keys=[old], agentpm_allowed_domains=["northwind.example"])
    db = Database(make_engine(settings))
    with db.session() as session:
        owner = resolve(
            session, Profile(slack_user_id="U1", team_id="T1", email="a@northwind.example"), settings
        )
        save_jira(
            session, Vault([old]), owner, JiraCredential(email="a@northwind.example", token="tok-1"), "A"
        )

    assert runner.invoke(main, ["rotate-key"]).exit_code == 2  # no keys configured: nothing to rotate to
    monkeypatch.setenv("AGENTPM_ENCRYPTION_KEYS", new)
    unreadable = runner.invoke(main, ["rotate-key"])
    assert unreadable.exit_code == 1
    assert "keep the old key in the list" in unreadable.output
    monkeypatch.setenv("AGENTPM_ENCRYPTION_KEYS", f"{new},{old}")
    result = runner.invoke(main, ["rotate-key"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 1 credential(s); 0 already under the newest key" in result.output
    again = runner.invoke(main, ["rotate-key"])
    assert "re-encrypted 0 credential(s); 1 already under the newest key" in again.output
    with db.session() as session:
        credential = load_jira(session, Vault([new]), owner.user_id)  # the old key is no longer needed
    assert credential is not None
    assert credential.token == "tok-1"
    db.dispose()


def test_search_from_the_shell(sqlite_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.config import load_settings
    from core.db.session import Database, make_engine
    from core.demo import load_demo
    from core.users.service import grant

    runner = CliRunner()
    runner.invoke(main, ["migrate", "upgrade"])
    db = Database(make_engine(load_settings()))
    with db.session() as session:
        load_demo(session)
        grant(session, "bob@northwind.example", Role.USER, [])
    db.dispose()

    result = runner.invoke(main, ["search", "webhook retries charge twice", "--top", "3", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output.strip().splitlines()[-1])["results"]
    assert len(found) == 3
    assert set(found[0]) == {"id", "source", "key", "title", "url", "score"}
    assert found[0]["key"] in ("PAY-3", "PAY-17")
    assert len({r["id"] for r in found}) == 3  # one entry per document

    text = runner.invoke(main, ["search", "3-D Secure challenge timeout"])
    assert " 1. PAY-7:" in text.output or " 1. PAY-18:" in text.output

    batch = tmp_path / "queries.jsonl"
    batch.write_text(
        '{"id": "a", "query": "flaky checkout test"}\n\n{"id": "b", "query": "dashboard slow"}\n'
    )
    lines = runner.invoke(main, ["search", "--batch", str(batch), "--top", "2"]).output.strip().splitlines()
    answers = [json.loads(line) for line in lines if line.startswith("{")]
    assert [a["id"] for a in answers] == ["a", "b"]
    assert all(len(a["results"]) == 2 for a in answers)

    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    assert runner.invoke(main, ["search", "--batch", str(bad)]).exit_code == 2
    assert runner.invoke(main, ["search"]).exit_code == 2
    assert runner.invoke(main, ["search", "x", "--as", "nobody@northwind.example"]).exit_code == 2
    as_bob = runner.invoke(main, ["search", "webhook", "--as", "bob@northwind.example", "--json"])
    assert as_bob.exit_code == 0
