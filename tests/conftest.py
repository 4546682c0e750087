"""Shared fixtures: real PostgreSQL and Redis (own database, own Redis DB number), the fake Slack."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
import pytest_asyncio
import redis
from psycopg import sql

from bot.sender import SlackSender as SenderT
from core.db import schema
from tests.fakes.slack import LocalSlack

PG_ADMIN_DSN = os.environ.get("AGENTPM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("AGENTPM_TEST_REDIS", "redis://127.0.0.1:6379")
REDIS_TEST_DB = int(os.environ.get("AGENTPM_TEST_REDIS_DB", "13"))
REQUIRE = os.environ.get("AGENTPM_REQUIRE_SERVICES") == "1"


def _unavailable(what: str, exc: Exception) -> None:
    message = f"{what} is not reachable ({type(exc).__name__}); scripts/test starts it"
    if REQUIRE:
        pytest.fail(message)
    pytest.skip(message)


def _sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"agentpm_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _unavailable("PostgreSQL", exc)
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = PG_ADMIN_DSN.rpartition("/")
    try:
        yield _sqlalchemy_url(f"{base}/{name}")
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def migrated_pg(pg_url: str) -> str:
    schema.upgrade(pg_url)
    return pg_url


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis database, emptied before and after."""
    url = f"{REDIS_BASE}/{REDIS_TEST_DB}"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        _unavailable("Redis", exc)
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@pytest_asyncio.fixture
async def slack() -> AsyncIterator[LocalSlack]:
    server = LocalSlack(team_id="T0TEST")
    await server.start()
    server.add_user("U0ALICE", "alice@northwind.example", "alice", team_id="T0TEST")
    server.add_channel("C0TEST", "general", members=["U0ALICE"])
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def signing_secret() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def slack_sync() -> Iterator[tuple[LocalSlack, SenderT]]:
    """LocalSlack on a background loop, for code that calls Slack synchronously (jobs)."""
    import asyncio
    import threading

    from bot.sender import SlackSender

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = LocalSlack(team_id="T0TEST")
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    server.add_user("U0ALICE", "alice@northwind.example", "alice", team_id="T0TEST")
    server.add_channel("C0TEST", "general", members=["U0ALICE"])
    try:
        yield server, SlackSender("xoxb-test-token", server.api_url)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.fixture(autouse=True, scope="session")
def _logging_through_stdlib() -> None:
    """As in every agentpm process: structlog routed through the standard library (so caplog sees it)."""
    from core.logging import configure_logging

    configure_logging("console")
