"""Rate limits per user and per workspace, by command class, with the `limits` library.

Redis storage shares the counts between web processes; without Redis (or while it is down) counts live in
this process's memory, so limits still apply, only per process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from core.breaker import Breaker


class Cost(StrEnum):
    """Command classes: how expensive a request is for us and for the systems behind us."""

    READ = "read"
    SEARCH = "search"
    LLM = "llm"
    SYNC = "sync"
    ADMIN = "admin"


# (per user, per workspace)
DEFAULT_LIMITS: dict[Cost, tuple[str, str]] = {
    Cost.READ: ("60/minute", "1200/minute"),
    Cost.SEARCH: ("20/minute", "400/minute"),
    Cost.LLM: ("10/minute", "120/minute"),
    Cost.SYNC: ("3/minute", "20/minute"),
    Cost.ADMIN: ("30/minute", "200/minute"),
}


def parse_overrides(text: str | None) -> dict[Cost, tuple[str, str]]:
    """``search=10/minute:100/minute;llm=5/minute`` (the workspace part is optional)."""
    limits = dict(DEFAULT_LIMITS)
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        cost = Cost(name.strip().lower())
        user, _, workspace = value.strip().partition(":")
        parse(user)  # raises ValueError on a malformed limit
        if workspace:
            parse(workspace)
        limits[cost] = (user, workspace or limits[cost][1])
    return limits


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0
    scope: str = ""  # "user" or "workspace" when refused


class RateLimiter:
    def __init__(self, redis_url: str | None, limits: dict[Cost, tuple[str, str]] | None = None) -> None:
        self._items: dict[Cost, tuple[RateLimitItem, RateLimitItem]] = {
            cost: (parse(user), parse(workspace))
            for cost, (user, workspace) in (limits or DEFAULT_LIMITS).items()
        }
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self._breaker = Breaker("ratelimit")
        if redis_url:
            storage: Storage = RedisStorage(
                "async+" + redis_url if not redis_url.startswith("async+") else redis_url,
                implementation="redispy",
                key_prefix="agentpm:limits",
                socket_timeout=1,
                socket_connect_timeout=1,
            )
            self._shared = MovingWindowRateLimiter(storage)

    async def hit(self, cost: Cost, team_id: str, user_id: str) -> Decision:
        """Count one request; refused when the user's or the workspace's window is full."""
        user_item, team_item = self._items[cost]
        if self._shared is not None and self._breaker.available():
            try:
                return await self._hit(self._shared, cost, user_item, team_item, team_id, user_id)
            except Exception as exc:  # Redis down (limits wraps its errors): keep limiting, in memory
                self._breaker.failed(exc)
        return await self._hit(self._memory, cost, user_item, team_item, team_id, user_id)

    @staticmethod
    async def _hit(
        limiter: MovingWindowRateLimiter,
        cost: Cost,
        user_item: RateLimitItem,
        team_item: RateLimitItem,
        team_id: str,
        user_id: str,
    ) -> Decision:
        for scope, item, keys in (
            ("user", user_item, (cost.value, team_id, user_id)),
            ("workspace", team_item, (cost.value, team_id)),
        ):
            if not await limiter.hit(item, *keys):
                stats = await limiter.get_window_stats(item, *keys)
                return Decision(False, retry_after=max(1.0, stats.reset_time - time.time()), scope=scope)
        return Decision(True)
