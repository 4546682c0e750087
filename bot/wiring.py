"""The composition root: builds every service a process needs from the settings, once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis as AsyncRedis

from bot.directory import SlackDirectory
from bot.enqueue import AfterAck
from bot.history import SlackChannelHistory
from bot.identity import IdentityService
from bot.jobqueue import CeleryQueue, make_celery
from bot.notifier import SlackNotifier, SlackThreads
from bot.sender import SlackSender
from core.cache import MemoryCache, RedisCache
from core.config import Settings
from core.crypto import Vault
from core.db.session import Database, make_engine
from core.dedupe import MemoryDeduper, RedisDeduper
from core.health import Check, standard_checks
from core.jobs.context import JobContext
from core.jobs.inprocess import InProcessQueue
from core.logging import get_logger
from core.ports import Cache, Deduper, JobQueue
from core.ratelimit import RateLimiter, parse_overrides
from core.search.engine import SearchEngine

SHUTDOWN_WAIT_SECONDS = 30.0
log = get_logger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    queue: JobQueue
    deduper: Deduper
    sender: SlackSender
    jobs: JobContext
    after_ack: AfterAck
    cache: Cache
    limiter: RateLimiter
    vault: Vault
    identities: IdentityService
    closers: list[Any] = field(default_factory=list)

    def health_checks(self) -> dict[str, Check]:
        checks = standard_checks(self.settings, self.db, self.queue)
        checks["slack"] = self._slack_check
        return checks

    def _slack_check(self) -> str:
        if not self.settings.slack_bot_token:
            return "not configured"
        data = self.sender.auth_test()
        return f"team {data.get('team_id', '?')}"

    async def aclose(self) -> None:
        await self.after_ack.aclose()
        for closer in self.closers:
            result = closer()
            if hasattr(result, "__await__"):
                await result
        if isinstance(self.queue, InProcessQueue):
            # Off the loop: a running job may be posting to a server on this very loop (try, tests). Bounded:
            # a long sync must not hold a shutdown for an hour (it resumes from its checkpoint next time).
            try:
                await asyncio.wait_for(asyncio.to_thread(self.queue.shutdown), SHUTDOWN_WAIT_SECONDS)
            except TimeoutError:
                log.warning("shutdown.jobs_still_running", waited_s=SHUTDOWN_WAIT_SECONDS)
        self.db.dispose()


def build_services(settings: Settings, *, queue: JobQueue | None = None) -> Services:
    """Redis configured: Celery jobs and Redis dedupe; otherwise the in-process defaults."""
    db = Database(make_engine(settings))
    sender = SlackSender(settings.slack_bot_token, settings.slack_api_url)
    closers: list[Any] = []
    if queue is None:
        queue = CeleryQueue(make_celery(settings), settings) if settings.broker_url else InProcessQueue()
    deduper: Deduper
    cache: Cache
    if settings.redis_url:
        redis_client: AsyncRedis = AsyncRedis.from_url(
            settings.redis_url, socket_timeout=1, socket_connect_timeout=1
        )
        deduper = RedisDeduper(redis_client)
        cache = RedisCache(redis_client)
        closers.append(redis_client.aclose)
    else:
        deduper = MemoryDeduper()
        cache = MemoryCache()
    jobs = JobContext(
        settings=settings,
        db=db,
        notifier=SlackNotifier(sender),
        queue=queue,
        search=SearchEngine(settings, db),
        threads=SlackThreads(sender),
        history=SlackChannelHistory(sender),
        directory=SlackDirectory(sender),
    )
    if isinstance(queue, InProcessQueue):
        queue.bind(jobs)
    return Services(
        settings=settings,
        db=db,
        queue=queue,
        deduper=deduper,
        sender=sender,
        jobs=jobs,
        after_ack=AfterAck(queue),
        cache=cache,
        limiter=RateLimiter(settings.redis_url, parse_overrides(settings.agentpm_rate_limits)),
        vault=Vault(settings.agentpm_encryption_keys),
        identities=IdentityService(settings, db, cache),
        closers=closers,
    )
