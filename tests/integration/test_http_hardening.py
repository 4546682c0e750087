"""HTTP hardening of `agentpm serve`: security headers on every response, no CORS, a body limit, and an
optional bearer token in front of /metrics and /api/v1/ready (never in front of /api/v1/health)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from multidict import CIMultiDictProxy

from bot.server import MAX_BODY_BYTES, SECURITY_HEADERS
from core.config import ConfigError, load_settings, production_problems
from tests.fakes.slack import LocalSlack
from tests.integration.harness import Running, bot_settings, running_bot

pytestmark = pytest.mark.integration

OPS_TOKEN = "ops-7Qv2kX9pLm4Rt8Zw1Yc6Nb3D"


@pytest_asyncio.fixture
async def bot(slack: LocalSlack, signing_secret: str, migrated_pg: str) -> AsyncIterator[Running]:
    async with running_bot(bot_settings(slack, signing_secret, migrated_pg), slack) as running:
        yield running


@pytest_asyncio.fixture
async def guarded(slack: LocalSlack, signing_secret: str, migrated_pg: str) -> AsyncIterator[Running]:
    settings = bot_settings(slack, signing_secret, migrated_pg, agentpm_ops_token=OPS_TOKEN)
    async with running_bot(settings, slack) as running:
        yield running


def assert_hardened(headers: CIMultiDictProxy[str]) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, name
    assert headers.get("Server") == "agentpm"
    assert not [h for h in headers if h.lower().startswith("access-control-")]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/health", 200),
        ("GET", "/metrics", 200),
        ("GET", "/nope", 404),
        ("GET", "/slack/events", 405),
        ("DELETE", "/api/v1/health", 405),
        ("POST", "/slack/events", 401),  # unsigned
    ],
)
async def test_security_headers_on_every_response(bot: Running, method: str, path: str, status: int) -> None:
    async with bot.http.request(method, f"{bot.base_url}{path}") as resp:
        body = await resp.text()
        assert resp.status == status
        assert_hardened(resp.headers)
    assert "aiohttp" not in body.lower()
    assert "Traceback" not in body


async def test_no_cors_and_preflight_is_not_answered(bot: Running) -> None:
    preflight = {
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    for path in ("/slack/events", "/api/v1/ready", "/metrics"):
        async with bot.http.options(f"{bot.base_url}{path}", headers=preflight) as resp:
            assert resp.status == 405
            assert_hardened(resp.headers)
    async with bot.http.get(
        f"{bot.base_url}/api/v1/health", headers={"Origin": "https://evil.example"}
    ) as resp:
        assert resp.status == 200
        assert "Access-Control-Allow-Origin" not in resp.headers


async def test_a_body_over_the_limit_is_refused_before_parsing(bot: Running) -> None:
    big = b"x" * (MAX_BODY_BYTES + 1)
    async with bot.http.post(f"{bot.base_url}/slack/events", data=big) as resp:
        assert resp.status == 413
        assert await resp.text() == "request body too large"
        assert_hardened(resp.headers)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit applies while reading
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"y" * 65536

    async with bot.http.post(f"{bot.base_url}/slack/events", data=chunks()) as resp:
        assert resp.status == 413
        assert await resp.text() == "request body too large"
        assert_hardened(resp.headers)
    assert [c.method for c in bot.slack.calls if c.method != "auth.test"] == []  # no listener ran


async def test_an_unexpected_error_is_a_short_500_with_the_headers(
    bot: Running, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("secret detail xoxb-should-not-leak")

    bot.bot.services.health_checks = broken  # type: ignore[method-assign]
    async with bot.http.get(f"{bot.base_url}/api/v1/ready") as resp:
        assert resp.status == 500
        body = await resp.text()
        assert_hardened(resp.headers)
    assert body == "internal error"
    assert any("http.unhandled" in r.getMessage() for r in caplog.records)


async def test_the_ops_token_guards_metrics_and_ready_but_not_health(guarded: Running) -> None:
    base = guarded.base_url
    for path in ("/metrics", "/api/v1/ready"):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {OPS_TOKEN}"}):
            async with guarded.http.get(f"{base}{path}", headers=headers) as resp:
                assert resp.status == 401, (path, headers)
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
                assert await resp.text() == "unauthorized"
                assert_hardened(resp.headers)
    auth = {"Authorization": f"Bearer {OPS_TOKEN}"}
    async with guarded.http.get(f"{base}/metrics", headers=auth) as resp:
        assert resp.status == 200
        assert "agentpm" in await resp.text()
    async with guarded.http.get(f"{base}/api/v1/ready", headers=auth) as resp:
        assert resp.status in (200, 503)  # no worker here; the point is that it answered
        assert "checks" in await resp.json()
    async with guarded.http.get(f"{base}/api/v1/health") as resp:
        assert resp.status == 200


async def test_without_a_token_metrics_and_ready_stay_open(bot: Running) -> None:
    async with bot.http.get(f"{bot.base_url}/metrics") as resp:
        assert resp.status == 200


def test_the_ops_token_is_a_secret_read_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "ops_token"
    secret.write_text(OPS_TOKEN + "\n")
    monkeypatch.setenv("AGENTPM_OPS_TOKEN_FILE", str(secret))
    monkeypatch.chdir(tmp_path)
    assert load_settings().agentpm_ops_token == OPS_TOKEN


def test_production_refuses_a_weak_ops_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(agentpm_ops_token="changeme")
    assert "AGENTPM_OPS_TOKEN is weak (use 24 or more random characters)" in production_problems(settings)
    with pytest.raises(ConfigError, match="AGENTPM_OPS_TOKEN is weak"):
        load_settings(agentpm_env="production", agentpm_ops_token="changeme")
