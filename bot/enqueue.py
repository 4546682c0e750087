"""Enqueue after the ack: Slack gets its answer first, the broker round trip happens just after.

Publishing to Celery costs about a millisecond of CPU and, with a dead broker, a few hundred milliseconds of
waiting; neither belongs on the ack path. Publishing runs on one background thread (so a slow broker never
blocks the event loop); a failure is reported to the user through ``respond`` with an error ID, so nothing
is lost silently.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.errors import user_facing
from bot.views.errors import error_message
from core.logging import get_logger
from core.metrics import ERRORS
from core.ports import JobQueue

log = get_logger(__name__)


class AfterAck:
    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentpm-enqueue")
        self._pending: set[asyncio.Future[None]] = set()

    def submit(self, name: str, payload: dict[str, Any], respond: AsyncRespond | None = None) -> None:
        """Publish ``name`` once the current handler has returned; the request ID goes along."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        published = loop.run_in_executor(self._executor, context.run, self.queue.enqueue, name, payload)
        task = asyncio.ensure_future(self._report_failure(published, name, respond))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def run(self, work: Awaitable[Any], respond: AsyncRespond | None, what: str) -> None:
        """Run short async work (a Slack lookup, a quick query) after the ack; failures reported alike."""
        task = asyncio.ensure_future(self._report_failure(work, what, respond))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _report_failure(
        self, published: Awaitable[Any], name: str, respond: AsyncRespond | None
    ) -> None:
        try:
            await published
        except Exception as exc:
            message, error_id = user_facing(exc)
            ERRORS.labels(where="after_ack").inc()
            if error_id:
                log.error("after_ack.failed", what=name, error_id=error_id, exc_info=exc)
            else:
                log.info("after_ack.refused", what=name, reason=message)
            if respond is not None:
                try:
                    await respond(
                        response_type="ephemeral", replace_original=False, **error_message(message, error_id)
                    )
                except Exception:
                    log.exception("slack.error_message_failed", error_id=error_id)

    async def drain(self) -> None:
        """Wait for every publish started so far (shutdown, tests)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def aclose(self) -> None:
        await self.drain()
        self._executor.shutdown(wait=True)
