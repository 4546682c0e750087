"""`/pm sync` from Slack and `agentpm sync jira` from the shell, against the fake Jira."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from click.testing import CliRunner

from bot.cli import main
from core.jobs.inprocess import InProcessQueue
from tests.fakes.jira import LocalJira, make_issues
from tests.fakes.slack import LocalSlack
from tests.integration.harness import Running, bot_settings, running_bot

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def jira() -> AsyncIterator[LocalJira]:
    async with LocalJira(make_issues("PAY", 120) + make_issues("WEB", 30)) as server:
        yield server


@pytest_asyncio.fixture
async def bot(
    slack: LocalSlack, signing_secret: str, migrated_pg: str, jira: LocalJira
) -> AsyncIterator[Running]:
    slack.add_user("U0ROOT", "root@northwind.example", "root", team_id="T0TEST")
    settings = bot_settings(
        slack,
        signing_secret,
        migrated_pg,
        jira_base_url=jira.base_url,
        jira_email="bot@northwind.example",
        jira_api_token="service-token",
    )
    async with running_bot(settings, slack, queue=InProcessQueue()) as running:
        yield running


async def test_sync_posts_progress_and_a_summary_in_its_thread(bot: Running) -> None:
    status, text, _ = await bot.command("sync all --full", user_id="U0ROOT")
    assert status == 200
    assert "Syncing every project (full)" in json.loads(text)["text"]
    await bot.drain()
    posts = bot.slack.calls_to("chat.postMessage")
    progress, summary = posts[0], posts[-1]
    assert progress.args["channel"] == "C0TEST"
    assert summary.args["thread_ts"] == progress.response["ts"]
    assert "Full Jira sync finished" in summary.args["text"]
    summary_text = json.dumps(summary.args["blocks"])
    assert "*PAY*: 120 fetched, 120 changed" in summary_text
    assert "*WEB*: 30 fetched, 30 changed" in summary_text
    updates = bot.slack.calls_to("chat.update")
    assert updates
    assert all(u.args["ts"] == progress.response["ts"] for u in updates)
    assert "done" in updates[-1].args["text"]

    await bot.command("status", user_id="U0ROOT")
    await bot.drain()
    report = json.dumps(bot.slack.calls_to("response_url")[-1].args)
    assert "120 issues, synced just now" in report


async def test_sync_input_errors(bot: Running) -> None:
    for text, message in [
        ('sync PAY" OR project = "HR', "is not a Jira project key"),
        ("sync PAY all", "not both"),
        ("sync --fast", "Unknown option"),
    ]:
        _, answer, _ = await bot.command(text, user_id="U0ROOT")
        assert message in json.loads(answer)["text"], text
    assert bot.slack.calls_to("chat.postMessage") == []


async def test_a_private_channel_the_bot_is_not_in_gets_the_progress_privately(bot: Running) -> None:
    bot.slack.fail_next("chat.postMessage", error="not_in_channel", times=5)
    await bot.command("sync PAY", user_id="U0ROOT")
    await bot.drain()
    replies = bot.slack.calls_to("response_url")
    assert any("Jira sync finished" in json.dumps(r.args) for r in replies)


@pytest.fixture
def jira_in_thread() -> Iterator[LocalJira]:
    """The fake Jira on its own loop, for code that runs its own (the CLI)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = LocalJira(make_issues("PAY", 40), flavour="datacenter")
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_agentpm_sync_jira_in_the_foreground(
    jira_in_thread: LocalJira, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("JIRA_BASE_URL", jira_in_thread.base_url)
    monkeypatch.setenv("JIRA_API_TOKEN", "pat-token")
    monkeypatch.delenv("JIRA_EMAIL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    runner = CliRunner()
    runner.invoke(main, ["migrate", "upgrade"])
    result = runner.invoke(main, ["sync", "jira", "--project", "PAY"])
    assert result.exit_code == 0, result.output
    assert "PAY" in result.output
    assert "40 fetched" in result.output or "40/40" in result.output
    status = json.loads(runner.invoke(main, ["status", "--json"]).output.strip().splitlines()[-1])
    assert status["jira"]["projects"]["PAY"]["issues"] == 40
    assert status["jira"]["projects"]["PAY"]["last_outcome"] == "ok"
    assert status["documents"]["jira"] == 40
    bad = runner.invoke(main, ["sync", "jira", "--project", "NOPE"])
    assert bad.exit_code == 1
    assert "does not exist" in bad.output


class RecordingQueue:
    backend = "recording"

    def __init__(self) -> None:
        self.enqueued: list[tuple[str, dict[str, object]]] = []

    def enqueue(self, name: str, payload: dict[str, object]) -> str:
        self.enqueued.append((name, payload))
        return str(len(self.enqueued))

    def pending(self) -> int:
        return len(self.enqueued)

    def ping(self, timeout: float) -> int:
        return 1


class SilentNotifier:
    def send(self, target: object, notice: object) -> None:
        return None

    def update(self, target: object, ts: str, notice: object) -> None:
        return None


@pytest.fixture
def job_context(jira_in_thread: LocalJira, migrated_pg: str) -> Iterator[object]:
    from core.config import load_settings
    from core.db.session import Database, make_engine
    from core.jobs.context import JobContext

    settings = load_settings(
        database_url=migrated_pg,
        jira_base_url=jira_in_thread.base_url,
        jira_api_token="pat",
        jira_email=None,
        jira_projects=[],
    )
    db = Database(make_engine(settings))
    yield JobContext(settings=settings, db=db, notifier=SilentNotifier(), queue=RecordingQueue())  # type: ignore[arg-type]
    db.dispose()


def test_the_beat_tick_enqueues_one_sync_per_project(job_context: object) -> None:
    from core.jira.jobs import sync_all, sync_project

    sync_all(job_context, {})  # type: ignore[arg-type]
    queue = job_context.queue  # type: ignore[attr-defined]
    assert queue.enqueued == [("agentpm.jira.sync_project", {"project": "PAY", "full": False})]
    sync_project(job_context, {"project": "PAY"})  # type: ignore[arg-type]
    with job_context.db.session() as session:  # type: ignore[attr-defined]
        from sqlalchemy import func, select

        from core.db.models import JiraIssue

        assert session.scalar(select(func.count()).select_from(JiraIssue)) == 40


def test_two_syncs_of_one_project_never_run_at_once(job_context: object) -> None:
    from core.locks import single_flight

    db = job_context.db  # type: ignore[attr-defined]
    with single_flight(db, "jira-sync:PAY") as held:
        assert held
        with single_flight(db, "jira-sync:PAY") as again:
            assert not again  # a second holder (another worker's connection) is refused
        from core.jira.jobs import sync_project

        sync_project(job_context, {"project": "PAY"})  # type: ignore[arg-type]
        from sqlalchemy import func, select

        from core.db.models import JiraIssue

        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(JiraIssue)) == 0  # skipped
    with single_flight(db, "jira-sync:PAY") as after:
        assert after  # released


def test_beat_schedules_the_sync_when_jira_is_configured(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "JIRA_BASE_URL": "https://northwind.atlassian.net",
        "JIRA_SYNC_INTERVAL_MINUTES": "7",
        "REDIS_URL": "redis://127.0.0.1:6379/13",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
    }
    code = "import json, tasks.celery_app as c; print(json.dumps(c.app.conf.beat_schedule))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=60,
    )
    schedule = json.loads(out.stdout.strip().splitlines()[-1])
    assert schedule["jira-sync"]["task"] == "agentpm.jira.sync_all"
    assert schedule["jira-sync"]["schedule"] == 420.0
    assert schedule["digest-tick"]["task"] == "agentpm.digest.tick"
    assert schedule["channel-retention"]["task"] == "agentpm.channels.purge"
