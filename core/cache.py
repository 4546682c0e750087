"""A small async key-value cache with expiry: Redis when configured (shared), else this process's memory."""

from __future__ import annotations

import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from core.breaker import Breaker


class MemoryCache:
    def __init__(self, max_keys: int = 50_000) -> None:
        self._data: dict[str, tuple[float, str]] = {}
        self._max_keys = max_keys

    async def get(self, key: str) -> str | None:
        entry = self._data.get(key)
        if entry is None or entry[0] < time.monotonic():
            self._data.pop(key, None)
            return None
        return entry[1]

    async def set(self, key: str, value: str, ttl_seconds: float) -> None:
        if len(self._data) >= self._max_keys:
            now = time.monotonic()
            self._data = {k: v for k, v in self._data.items() if v[0] > now}
            while len(self._data) >= self._max_keys:
                del self._data[next(iter(self._data))]
        self._data[key] = (time.monotonic() + ttl_seconds, value)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)


class RedisCache:
    """Shared between processes; while Redis is down it degrades to memory rather than failing requests."""

    def __init__(self, client: Redis, prefix: str = "agentpm:cache:") -> None:
        self._client = client
        self._prefix = prefix
        self._fallback = MemoryCache()
        self._breaker = Breaker("cache")

    async def get(self, key: str) -> str | None:
        if self._breaker.available():
            try:
                value = await self._client.get(self._prefix + key)
            except (OSError, RedisError) as exc:
                self._breaker.failed(exc)
            else:
                return value.decode() if isinstance(value, bytes) else value
        return await self._fallback.get(key)

    async def set(self, key: str, value: str, ttl_seconds: float) -> None:
        if self._breaker.available():
            try:
                await self._client.set(self._prefix + key, value, ex=max(1, int(ttl_seconds)))
                return
            except (OSError, RedisError) as exc:
                self._breaker.failed(exc)
        await self._fallback.set(key, value, ttl_seconds)

    async def delete(self, key: str) -> None:
        await self._fallback.delete(key)
        if self._breaker.available():
            try:
                await self._client.delete(self._prefix + key)
            except (OSError, RedisError) as exc:
                self._breaker.failed(exc)
