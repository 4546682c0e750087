"""core.ratelimit (user and workspace windows, memory fallback) and core.cache (memory, Redis fallback)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

import core.cache
from core.cache import MemoryCache, RedisCache
from core.ratelimit import DEFAULT_LIMITS, Cost, Decision, RateLimiter, parse_overrides

DOWN_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once
OVERRIDES = "search=2/minute:3/minute"


# --- parse_overrides -----------------------------------------------------------------------------------


def test_parse_overrides_defaults_and_overrides() -> None:
    assert parse_overrides(None) == DEFAULT_LIMITS
    assert parse_overrides("") == DEFAULT_LIMITS
    limits = parse_overrides(" SEARCH = 2/minute:3/minute ; llm=5/minute;")
    assert limits[Cost.SEARCH] == ("2/minute", "3/minute")
    assert limits[Cost.LLM] == ("5/minute", DEFAULT_LIMITS[Cost.LLM][1])  # the workspace part is optional
    assert limits[Cost.READ] == DEFAULT_LIMITS[Cost.READ]
    assert DEFAULT_LIMITS[Cost.SEARCH] == ("20/minute", "400/minute")  # the defaults are not mutated


@pytest.mark.parametrize(
    "text",
    [
        "foo=1/minute",
        "searches=1/minute",
        "=1/minute",
        "search",
        "search=",
        "search=abc",
        "search=1/fortnight",
        "search=2/minute:xx",
        "search=2/minute;llm=often",
    ],
)
def test_parse_overrides_rejects_unknown_classes_and_malformed_limits(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  (Cost's and limits' own messages)
        parse_overrides(text)


# --- RateLimiter ---------------------------------------------------------------------------------------


async def _limiter_behaviour(limiter: RateLimiter) -> None:
    assert await limiter.hit(Cost.SEARCH, "T1", "U1") == Decision(True)
    assert await limiter.hit(Cost.SEARCH, "T1", "U1") == Decision(True)
    refused = await limiter.hit(Cost.SEARCH, "T1", "U1")
    assert refused.allowed is False
    assert refused.scope == "user"
    assert 1 <= refused.retry_after <= 60

    # The user's refused request did not count against the workspace: another user gets the third.
    assert (await limiter.hit(Cost.SEARCH, "T1", "U2")).allowed is True
    for user in ("U2", "U3"):
        full = await limiter.hit(Cost.SEARCH, "T1", user)
        assert full.allowed is False
        assert full.scope == "workspace"
        assert 1 <= full.retry_after <= 60

    # Other cost classes and other workspaces have their own windows.
    assert (await limiter.hit(Cost.READ, "T1", "U1")).allowed is True
    assert (await limiter.hit(Cost.LLM, "T1", "U1")).allowed is True
    assert (await limiter.hit(Cost.SEARCH, "T2", "U1")).allowed is True
    assert (await limiter.hit(Cost.SEARCH, "T2", "U9")).allowed is True


async def test_memory_limiter_per_user_then_per_workspace() -> None:
    await _limiter_behaviour(RateLimiter(None, parse_overrides(OVERRIDES)))


async def test_limiters_do_not_share_memory() -> None:
    first = RateLimiter(None, parse_overrides("sync=1/minute:1/minute"))
    second = RateLimiter(None, parse_overrides("sync=1/minute:1/minute"))
    assert (await first.hit(Cost.SYNC, "T1", "U1")).allowed is True
    assert (await first.hit(Cost.SYNC, "T1", "U1")).allowed is False
    assert (await second.hit(Cost.SYNC, "T1", "U1")).allowed is True


async def test_default_limits_apply_without_overrides() -> None:
    limiter = RateLimiter(None)
    decisions = [await limiter.hit(Cost.SYNC, "T1", "U1") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]  # SYNC: 3/minute per user
    assert decisions[-1].scope == "user"


async def test_unreachable_redis_falls_back_to_memory_and_still_limits() -> None:
    await _limiter_behaviour(RateLimiter(DOWN_REDIS, parse_overrides(OVERRIDES)))


async def test_unreachable_redis_with_async_prefix_is_accepted() -> None:
    limiter = RateLimiter("async+" + DOWN_REDIS, parse_overrides("admin=1/minute"))
    assert (await limiter.hit(Cost.ADMIN, "T1", "U1")).allowed is True
    refused = await limiter.hit(Cost.ADMIN, "T1", "U1")
    assert (refused.allowed, refused.scope) == (False, "user")


# --- MemoryCache ---------------------------------------------------------------------------------------


class FakeClock:
    """Stands in for the ``time`` module inside core.cache, so expiry is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(core.cache, "time", fake)
    return fake


async def test_memory_cache_get_set_delete() -> None:
    cache = MemoryCache()
    assert await cache.get("k") is None
    await cache.set("k", "v1", 60)
    assert await cache.get("k") == "v1"
    await cache.set("k", "v2", 60)
    assert await cache.get("k") == "v2"
    await cache.delete("k")
    assert await cache.get("k") is None
    await cache.delete("never-set")  # no error


async def test_memory_cache_expiry(clock: FakeClock) -> None:
    cache = MemoryCache()
    await cache.set("short", "s", 10)
    await cache.set("long", "l", 100)
    clock.now += 9.9
    assert await cache.get("short") == "s"
    clock.now += 0.2
    assert await cache.get("short") is None
    assert await cache.get("long") == "l"
    await cache.set("short", "again", 10)  # setting again restarts the clock
    clock.now += 5
    assert await cache.get("short") == "again"
    clock.now += 100
    assert await cache.get("long") is None


async def test_memory_cache_evicts_oldest_when_full() -> None:
    cache = MemoryCache(max_keys=3)
    for key in ("k1", "k2", "k3", "k4"):
        await cache.set(key, key.upper(), 60)
    assert await cache.get("k1") is None
    assert [await cache.get(k) for k in ("k2", "k3", "k4")] == ["K2", "K3", "K4"]
    await cache.set("k5", "K5", 60)
    assert await cache.get("k2") is None
    assert [await cache.get(k) for k in ("k3", "k4", "k5")] == ["K3", "K4", "K5"]


async def test_memory_cache_drops_expired_before_evicting_live_keys(clock: FakeClock) -> None:
    cache = MemoryCache(max_keys=2)
    await cache.set("old", "o", 1)
    await cache.set("live", "l", 100)
    clock.now += 5
    await cache.set("new", "n", 100)
    assert await cache.get("live") == "l"  # the expired key made room, not the oldest live one
    assert await cache.get("new") == "n"
    assert await cache.get("old") is None
    await cache.set("newest", "x", 100)
    assert await cache.get("live") is None
    assert [await cache.get(k) for k in ("new", "newest")] == ["n", "x"]


# --- RedisCache with Redis down ------------------------------------------------------------------------


@pytest.fixture
async def down_client() -> AsyncIterator[Redis]:
    client = Redis.from_url(DOWN_REDIS, socket_connect_timeout=0.2)
    yield client
    await client.aclose()


async def test_redis_cache_falls_back_to_memory_when_redis_is_down(down_client: Redis) -> None:
    cache = RedisCache(down_client)
    assert await cache.get("k") is None
    await cache.set("k", "v", 60)
    assert await cache.get("k") == "v"
    await cache.set("k", "v2", 60)
    assert await cache.get("k") == "v2"
    await cache.delete("k")
    assert await cache.get("k") is None


async def test_redis_cache_fallback_honours_expiry(down_client: Redis, clock: FakeClock) -> None:
    cache = RedisCache(down_client)
    await cache.set("k", "v", 30)
    clock.now += 29
    assert await cache.get("k") == "v"
    clock.now += 2
    assert await cache.get("k") is None
