"""Seen-request memory so Slack's retries cause nothing more: Redis ``SET NX EX``, or memory without Redis."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.breaker import Breaker


class MemoryDeduper:
    """For one process (the embedded default); expired keys are swept as new ones arrive."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._seen: dict[str, float] = {}
        self._lock = asyncio.Lock()
        self._max_keys = max_keys

    async def first_time(self, key: str, ttl_seconds: int) -> bool:
        now = time.monotonic()
        async with self._lock:
            if len(self._seen) >= self._max_keys:
                self._seen = {k: exp for k, exp in self._seen.items() if exp > now}
                while len(self._seen) >= self._max_keys:  # all still live: forget the oldest
                    del self._seen[next(iter(self._seen))]
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            self._seen[key] = now + ttl_seconds
            return True


class RedisDeduper:
    """Shared by every web process; when Redis is down, requests are let through rather than dropped."""

    def __init__(self, client: Redis, prefix: str = "agentpm:seen:") -> None:
        self._client = client
        self._prefix = prefix
        self._fallback = MemoryDeduper()
        self._breaker = Breaker("dedupe")

    async def first_time(self, key: str, ttl_seconds: int) -> bool:
        if self._breaker.available():
            try:
                added = await self._client.set(self._prefix + key, b"1", nx=True, ex=ttl_seconds)
            except (OSError, RedisError) as exc:
                self._breaker.failed(exc)
            else:
                return bool(added)
        return await self._fallback.first_time(key, ttl_seconds)
