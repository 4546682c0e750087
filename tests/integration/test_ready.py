"""Readiness with Jira, OpenAI and Pinecone configured: each is checked, with latency, secrets never shown."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest_asyncio

from core.jobs.inprocess import InProcessQueue
from tests.fakes.services import FakeServices
from tests.fakes.slack import LocalSlack
from tests.integration.harness import bot_settings, running_bot

SECRETS = ("jira-token-123456789", "sk-test-openai-key-1234567890", "pcsk_pinecone_key_1234567890")


@pytest_asyncio.fixture
async def fakes() -> AsyncIterator[FakeServices]:
    services = FakeServices()
    await services.start()
    try:
        yield services
    finally:
        await services.stop()


async def ready(
    slack: LocalSlack, signing_secret: str, tmp_path: object, fakes: FakeServices, jira_email: str | None
) -> tuple[int, dict[str, object]]:
    settings = bot_settings(
        slack,
        signing_secret,
        f"sqlite:///{tmp_path}/ready.db",
        jira_base_url=fakes.base_url,
        jira_email=jira_email,
        jira_api_token=SECRETS[0],
        openai_api_key=SECRETS[1],
        openai_base_url=f"{fakes.base_url}/v1",
        pinecone_api_key=SECRETS[2],
        pinecone_index_host=fakes.base_url,
    )
    async with (
        running_bot(settings, slack, queue=InProcessQueue()) as bot,
        bot.http.get(f"{bot.base_url}/api/v1/ready") as resp,
    ):
        return resp.status, await resp.json()


async def test_configured_services_are_checked(
    slack: LocalSlack, signing_secret: str, tmp_path: object, fakes: FakeServices
) -> None:
    status, report = await ready(slack, signing_secret, tmp_path, fakes, jira_email="bot@northwind.example")
    checks = report["checks"]
    assert isinstance(checks, dict)
    assert {"jira", "openai", "pinecone"} <= set(checks)
    assert checks["jira"]["detail"] == "Cloud 1001.0.0"
    assert checks["openai"]["detail"] == "1 models"
    assert checks["pinecone"]["ok"] is True, checks["pinecone"]
    assert fakes.seen_auth["jira"].startswith("Basic ")
    assert status == 200, report


async def test_a_down_service_makes_ready_503_without_leaking_secrets(
    slack: LocalSlack, signing_secret: str, tmp_path: object, fakes: FakeServices
) -> None:
    fakes.down |= {"jira", "openai", "pinecone"}
    status, report = await ready(slack, signing_secret, tmp_path, fakes, jira_email=None)
    assert status == 503
    assert report["status"] == "degraded"
    checks = report["checks"]
    assert isinstance(checks, dict)
    assert not checks["jira"]["ok"]
    assert checks["jira"]["detail"] == "RuntimeError: HTTP 503"
    assert not checks["openai"]["ok"]
    assert not checks["pinecone"]["ok"]
    assert fakes.seen_auth["jira"] == f"Bearer {SECRETS[0]}"  # Data Center: a personal access token
    text = json.dumps(report)
    assert not any(secret in text for secret in SECRETS)
    assert "Traceback" not in text
