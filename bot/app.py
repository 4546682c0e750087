"""The Bolt app factory: middleware, listeners and the error handler, wired to the given services."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from bot import ids, middleware
from bot.errors import handle_error
from bot.guard import Guard
from bot.installations import EncryptedInstallationStore, ThreadedStateStore
from bot.listeners import (
    admin,
    ask,
    channels,
    connect,
    digest,
    home,
    lifecycle,
    meeting,
    search,
    status,
    sync,
    ticket,
    todo,
    unfurl,
)
from bot.listeners import help as help_listener
from bot.listeners.registrar import Registrar
from bot.sender import async_web_client
from bot.surface import Surface
from bot.wiring import Services
from core.logging import get_logger

log = get_logger(__name__)

# One module per feature, each with register(registrar); the order is the order of matching.
FEATURES = (
    help_listener, status, search, ask, channels, sync, ticket, unfurl, todo, meeting, digest, home, admin,
    connect, lifecycle,
)  # fmt: skip


@dataclass
class BotApp:
    bolt: AsyncApp
    surface: Surface
    services: Services
    authorizer: SingleWorkspaceAuthorizer | None


def build_app(services: Services, *, process_before_response: bool = True) -> BotApp:
    """Build a fresh app; ``process_before_response`` answers as soon as the handler returns.

    Bolt's default runs handlers as tasks and polls for ``ack()`` every 10 ms; our handlers only parse and
    enqueue, so answering after they return is faster (see bench/ack_latency.py).
    """
    settings = services.settings
    client = async_web_client(None, settings.slack_api_url)  # Bolt gives each request the authorized token
    authorizer: SingleWorkspaceAuthorizer | None = None
    installations: EncryptedInstallationStore | None = None
    if settings.slack_client_id and settings.slack_client_secret:
        installations = EncryptedInstallationStore(
            settings.slack_client_id, services.db.engine, services.vault
        )
        oauth = AsyncOAuthFlow(
            client=client,
            settings=AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret,
                scopes=list(ids.BOT_SCOPES),
                installation_store=installations,
                state_store=ThreadedStateStore(services.db.engine),
                install_path="/slack/install",
                redirect_uri_path="/slack/oauth_redirect",
            ),
        )
        bolt = AsyncApp(
            client=client,
            signing_secret=settings.slack_signing_secret,
            oauth_flow=oauth,
            process_before_response=process_before_response,
            raise_error_for_unhandled_request=False,
            name="agentpm",
        )
    else:
        authorizer = SingleWorkspaceAuthorizer(client, settings.slack_bot_token)
        bolt = AsyncApp(
            client=client,
            signing_secret=settings.slack_signing_secret,
            authorize=authorizer.as_bolt_function(),
            process_before_response=process_before_response,
            raise_error_for_unhandled_request=False,
            name="agentpm",
        )
    surface = Surface()
    bolt.use(middleware.bind_request)
    bolt.use(middleware.make_dedupe(services.deduper))
    bolt.error(handle_error)

    guard = Guard(services.identities, services.limiter, services.db)
    registrar = Registrar(
        app=bolt, services=services, surface=surface, guard=guard, installations=installations
    )
    for feature in FEATURES:
        feature.register(registrar)
    help_listener.register_fallback(registrar)  # last: claims every /pm sub-command nobody else did
    return BotApp(bolt=bolt, surface=surface, services=services, authorizer=authorizer)


async def warm(bot: BotApp) -> None:
    """Look up the bot's own identity once at start-up (single-workspace mode)."""
    if bot.authorizer is not None:
        await bot.authorizer.warm()


class SingleWorkspaceAuthorizer:
    """Authorize with the one bot token; ``auth.test`` runs once per process, not per request.

    ``warm()`` at start-up fills the cache, so the ack never waits on Slack; when Slack cannot be reached the
    request still goes through (without the bot's own user ID) and the lookup is tried again next time.
    """

    def __init__(self, client: AsyncWebClient, token: str | None) -> None:
        self._client = client
        self._token = token
        self._result: AuthorizeResult | None = None
        self._lock = asyncio.Lock()

    async def warm(self) -> bool:
        async with self._lock:
            if self._result is None and self._token:
                try:
                    response = await self._client.auth_test(token=self._token)
                except Exception as exc:  # logged; the bot keeps serving without its own IDs
                    log.warning("slack.auth_test_failed", error=type(exc).__name__)
                    return False
                self._result = AuthorizeResult.from_auth_test_response(
                    bot_token=self._token, auth_test_response=response
                )
        return self._result is not None

    async def authorize(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        if self._result is None:
            await self.warm()
        if self._result is not None:
            return self._result
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=self._token)

    def as_bolt_function(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        """Bolt injects arguments by parameter name, so it needs a plain function, not a bound method."""

        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return await self.authorize(enterprise_id, team_id)

        return authorize
