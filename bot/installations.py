"""Multi-workspace installs: slack_sdk's SQLAlchemy stores, bot and user tokens encrypted at rest.

slack_sdk's SQLAlchemy stores are synchronous; Bolt's AsyncApp needs async ones, so each call runs in a
thread. Tokens pass through ``Vault`` on the way in and out; the database only ever holds ciphertext.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine

from core.credentials import INSTALLATION_TOKENS, SEALED
from core.crypto import Vault

TOKEN_FIELDS = INSTALLATION_TOKENS
PREFIX = SEALED  # `agentpm rotate-key` re-encrypts these columns too


class EncryptedInstallationStore(AsyncInstallationStore):
    def __init__(self, client_id: str, engine: Engine, vault: Vault) -> None:
        self._store = SQLAlchemyInstallationStore(client_id=client_id, engine=engine)
        self._vault = vault

    @property
    def logger(self) -> Any:
        return self._store.logger

    def _seal(self, value: str | None) -> str | None:
        return PREFIX + self._vault.encrypt({"t": value}) if value else value

    def _open(self, value: str | None) -> str | None:
        if value and value.startswith(PREFIX):
            return str(self._vault.decrypt(value[len(PREFIX) :])["t"])
        return value

    def _sealed(self, item: Any) -> Any:
        sealed = copy.copy(item)
        for name in TOKEN_FIELDS:
            if hasattr(sealed, name):
                setattr(sealed, name, self._seal(getattr(sealed, name)))
        return sealed

    def _opened(self, item: Any) -> Any:
        if item is None:
            return None
        for name in TOKEN_FIELDS:
            if hasattr(item, name):
                setattr(item, name, self._open(getattr(item, name)))
        return item

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self._store.save, self._sealed(installation))

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self._store.save_bot, self._sealed(bot))

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        bot = await asyncio.to_thread(
            self._store.find_bot,
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        opened: Bot | None = self._opened(bot)
        return opened

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        installation = await asyncio.to_thread(
            self._store.find_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        opened: Installation | None = self._opened(installation)
        return opened

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self._store.delete_bot, enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            self._store.delete_installation, enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self._store.delete_all, enterprise_id=enterprise_id, team_id=team_id)


class ThreadedStateStore(AsyncOAuthStateStore):
    """The OAuth ``state`` values, in the database so any web process can finish an install."""

    def __init__(self, engine: Engine, expiration_seconds: int = 600) -> None:
        self._store = SQLAlchemyOAuthStateStore(expiration_seconds=expiration_seconds, engine=engine)

    @property
    def logger(self) -> Any:
        return self._store.logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return str(await asyncio.to_thread(self._store.issue, *args, **kwargs))

    async def async_consume(self, state: str) -> bool:
        return bool(await asyncio.to_thread(self._store.consume, state))
