"""Multi-workspace install: /slack/install → Slack → /slack/oauth_redirect → tokens stored encrypted → the
workspace can use the bot → `app_uninstalled` deletes its tokens."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select, text

from core.db.slack_tables import slack_bots, slack_installations
from core.jobs.inprocess import InProcessQueue
from tests.fakes.slack import LocalSlack
from tests.integration.harness import Running, bot_settings, running_bot

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def oauth_bot(slack: LocalSlack, signing_secret: str, migrated_pg: str) -> AsyncIterator[Running]:
    settings = bot_settings(
        slack,
        signing_secret,
        migrated_pg,
        slack_bot_token=None,
        slack_client_id="111.222",
        slack_client_secret="client-secret-value-123",
    )
    async with running_bot(settings, slack, queue=InProcessQueue()) as running:
        yield running


async def install(bot: Running) -> str:
    async with bot.http.get(f"{bot.base_url}/slack/install", allow_redirects=False) as resp:
        page = await resp.text()
        cookies = resp.cookies
    assert resp.status == 200
    state = re.search(r"state=([A-Za-z0-9-]+)", page)
    assert state, page[:500]
    cookie_header = "; ".join(f"{k}={v.value}" for k, v in cookies.items())
    url = f"{bot.base_url}/slack/oauth_redirect?code=the-code&state={state.group(1)}"
    async with bot.http.get(url, headers={"Cookie": cookie_header}, allow_redirects=False) as resp:
        body = await resp.text()
    assert resp.status == 200, body[:500]
    return body


async def test_install_stores_encrypted_tokens_and_the_workspace_can_use_the_bot(oauth_bot: Running) -> None:
    await install(oauth_bot)
    token = oauth_bot.slack.installed_tokens[-1]
    engine = oauth_bot.bot.services.db.engine
    with engine.connect() as connection:
        stored = [row.bot_token for row in connection.execute(select(slack_bots.c.bot_token))]
        stored += [row.bot_token for row in connection.execute(select(slack_installations.c.bot_token))]
    assert stored
    assert all(value.startswith("enc:") and token not in value for value in stored)

    status, answer, _ = await oauth_bot.command("help")
    assert status == 200
    assert "/pm status" in answer
    lookups = oauth_bot.slack.calls_to("users.info")
    assert lookups[-1].token == token  # the installation's (decrypted) token, not a global one

    body, headers = oauth_bot.requests.event({"type": "app_uninstalled"})
    status, _, _ = await oauth_bot.post(body, headers)
    assert status == 200
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM slack_bots")).scalar() == 0
        assert connection.execute(text("SELECT count(*) FROM slack_installations")).scalar() == 0

    status, answer, _ = await oauth_bot.command("help")
    assert "/pm status" not in answer  # no installation for this workspace any more


async def test_tokens_revoked_deletes_the_bot_token(oauth_bot: Running) -> None:
    await install(oauth_bot)
    body, headers = oauth_bot.requests.event({"type": "tokens_revoked", "tokens": {"bot": ["U0AGENTPM"]}})
    status, _, _ = await oauth_bot.post(body, headers)
    assert status == 200
    with oauth_bot.bot.services.db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM slack_bots")).scalar() == 0


async def test_a_bad_state_is_refused(oauth_bot: Running) -> None:
    url = f"{oauth_bot.base_url}/slack/oauth_redirect?code=the-code&state=forged"
    async with oauth_bot.http.get(url, allow_redirects=False) as resp:
        assert resp.status >= 400
    assert oauth_bot.slack.installed_tokens == []


async def test_rotate_key_covers_the_install_tokens(oauth_bot: Running) -> None:
    from cryptography.fernet import Fernet

    from core.credentials import rotate_all
    from core.crypto import Vault

    await install(oauth_bot)
    services = oauth_bot.bot.services
    old = services.settings.agentpm_encryption_keys
    new = Fernet.generate_key().decode()
    with services.db.session() as session:
        rotated, _ = rotate_all(session, Vault([new, *old]))
    assert rotated >= 2  # the bot row and the installation row
    from bot.installations import EncryptedInstallationStore

    store = EncryptedInstallationStore("111.222", services.db.engine, Vault([new]))  # the old key is gone
    bot = await store.async_find_bot(enterprise_id=None, team_id="T0TEST")
    assert bot is not None
    assert bot.bot_token == oauth_bot.slack.installed_tokens[-1]
