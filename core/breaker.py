"""A tiny circuit breaker for Redis: after a failure, skip it for a few seconds and say so once.

Without it every request would first wait for a refused connection, and log it, while Redis is down.
"""

from __future__ import annotations

import time

from core.logging import get_logger

log = get_logger(__name__)


class Breaker:
    def __init__(self, name: str, cooldown_seconds: float = 10.0) -> None:
        self.name = name
        self.cooldown = cooldown_seconds
        self._open_until = 0.0

    def available(self) -> bool:
        return time.monotonic() >= self._open_until

    def failed(self, exc: BaseException) -> None:
        if self.available():
            log.warning(f"{self.name}.redis_unavailable", error=type(exc).__name__, retry_in_s=self.cooldown)
        self._open_until = time.monotonic() + self.cooldown
