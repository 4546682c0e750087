"""Runs the real bot (services, Bolt app, aiohttp server) against the fake Slack, for listener tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import BotApp, build_app
from bot.server import build_web_app
from bot.wiring import build_services
from core.config import Settings, load_settings
from core.jobs.inprocess import InProcessQueue
from core.ports import JobQueue
from tests.fakes.slack import LocalSlack, SlackRequests


@dataclass
class Running:
    bot: BotApp
    slack: LocalSlack
    requests: SlackRequests
    base_url: str
    http: aiohttp.ClientSession

    async def post(self, body: str, headers: dict[str, str]) -> tuple[int, str, Any]:
        async with self.http.post(f"{self.base_url}/slack/events", data=body, headers=headers) as resp:
            return resp.status, await resp.text(), resp.headers

    async def command(self, text: str, **kwargs: Any) -> tuple[int, str, Any]:
        return await self.post(*self.requests.command(text, **kwargs))

    async def drain(self) -> None:
        """Wait for in-process jobs, off the loop: the fake Slack they post to runs on this loop."""
        await self.bot.services.after_ack.drain()
        queue = self.bot.services.queue
        if isinstance(queue, InProcessQueue):
            assert await asyncio.to_thread(queue.drain, 30)


def bot_settings(slack: LocalSlack, signing_secret: str, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "agentpm_env": "development",
        "database_url": database_url,
        "redis_url": None,
        "celery_broker_url": None,
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": signing_secret,
        "slack_api_url": slack.api_url,
        "jira_base_url": None,
        "openai_api_key": None,
        "pinecone_api_key": None,
        "agentpm_allowed_domains": ["northwind.example"],
        "agentpm_bootstrap_admins": ["root@northwind.example"],
        "agentpm_default_role": "USER",
    }
    values.update(overrides)
    return load_settings(**values)


@asynccontextmanager
async def running_bot(
    settings: Settings, slack: LocalSlack, *, queue: JobQueue | None = None, **app_kwargs: Any
) -> AsyncIterator[Running]:
    services = build_services(settings, queue=queue)
    bot = build_app(services, **app_kwargs)
    app: web.Application = build_web_app(bot)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    http = aiohttp.ClientSession()
    try:
        yield Running(
            bot=bot,
            slack=slack,
            requests=SlackRequests(settings.slack_signing_secret or "", slack),
            base_url=str(server.make_url("")).rstrip("/"),
            http=http,
        )
    finally:
        await http.close()
        await server.close()
