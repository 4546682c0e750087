"""Encryption of stored secrets with MultiFernet: the newest key encrypts, every listed key decrypts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.errors import AgentPMError


class UnreadableSecret(AgentPMError):
    user_message = "A stored credential can no longer be read (its key is gone); please connect again."


class Vault:
    """Encrypts JSON documents; rotation re-encrypts them under the newest key."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernets = [Fernet(key.encode() if isinstance(key, str) else key) for key in keys]
        self._multi = MultiFernet(self._fernets)

    def encrypt(self, document: dict[str, Any]) -> str:
        return self._multi.encrypt(json.dumps(document, separators=(",", ":")).encode()).decode()

    def decrypt(self, token: str) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._multi.decrypt(token.encode()))
        except (InvalidToken, ValueError) as exc:
            raise UnreadableSecret() from exc
        return data

    def rotate(self, token: str) -> str:
        """The same document, encrypted under the newest key."""
        try:
            return self._multi.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise UnreadableSecret() from exc

    def is_current(self, token: str) -> bool:
        """Whether the newest key alone can read ``token`` (nothing to rotate)."""
        try:
            self._fernets[0].decrypt(token.encode())
        except InvalidToken:
            return False
        return True
