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
