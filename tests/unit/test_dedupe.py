"""core.dedupe: a Slack retry is recognised; without Redis, memory does the job."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

import core.dedupe
from core.dedupe import MemoryDeduper, RedisDeduper


class FakeClock:
    """Stands in for the ``time`` module inside core.dedupe only."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(core.dedupe, "time", fake)
    return fake


async def test_first_time_then_not() -> None:
    deduper = MemoryDeduper()
    assert await deduper.first_time("Ev1", 60)
    assert not await deduper.first_time("Ev1", 60)
    assert not await deduper.first_time("Ev1", 60)
    assert await deduper.first_time("Ev2", 60)


async def test_key_expires_after_its_ttl(clock: FakeClock) -> None:
    deduper = MemoryDeduper()
    assert await deduper.first_time("Ev1", 1)
    clock.now += 0.5
    assert not await deduper.first_time("Ev1", 1)
    clock.now += 0.5
    assert await deduper.first_time("Ev1", 1)
    assert not await deduper.first_time("Ev1", 1)


async def test_zero_ttl_remembers_nothing(clock: FakeClock) -> None:
    deduper = MemoryDeduper()
    assert await deduper.first_time("Ev1", 0)
    assert await deduper.first_time("Ev1", 0)


async def test_real_clock_expiry() -> None:
    deduper = MemoryDeduper()
    assert await deduper.first_time("Ev1", 0)
    await asyncio.sleep(0.01)
    assert await deduper.first_time("Ev1", 0)


async def test_expired_keys_are_swept_when_full(clock: FakeClock) -> None:
    deduper = MemoryDeduper(max_keys=3)
    assert await deduper.first_time("old1", 1)
    assert await deduper.first_time("old2", 1)
    assert await deduper.first_time("live", 100)
    clock.now += 5
    assert await deduper.first_time("new", 100)  # full: the two expired keys go
    assert set(deduper._seen) == {"live", "new"}
    assert not await deduper.first_time("live", 100)  # the sweep kept what has not expired


async def test_no_sweep_below_the_limit(clock: FakeClock) -> None:
    deduper = MemoryDeduper(max_keys=10)
    assert await deduper.first_time("a", 1)
    clock.now += 5
    assert await deduper.first_time("b", 1)
    assert set(deduper._seen) == {"a", "b"}


async def test_redis_down_falls_back_to_memory() -> None:
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2, socket_timeout=0.2)
    deduper = RedisDeduper(client)
    started = time.monotonic()
    try:
        assert await deduper.first_time("Ev1", 60)
        assert not await deduper.first_time("Ev1", 60)
        assert await deduper.first_time("Ev2", 60)
    finally:
        await client.aclose()
    assert time.monotonic() - started < 5
