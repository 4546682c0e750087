"""Who acts in Jira when someone clicks in Slack: the person, or the service account on their behalf.

A person who connected Jira (``/pm connect jira``) acts as themselves, so Jira's own permissions and history
apply to them. Without a connection the service account acts, and what it writes says for whom (see
``on_behalf_of`` in ``core.jira.issues``).

Rejected credentials are told apart where the HTTP status is read, in ``JiraClient`` (core/jira/client.py):
a config built here for a person has ``personal=True``, so a 401 raises ``JiraCredentialRejected`` ("connect
it again with /pm connect jira") instead of the operator-facing error about the service account. A 403 is
``JiraForbidden`` (core/jira/issues.py), worded for the person or for the service account.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from core.config import Settings
from core.credentials import load_jira
from core.crypto import Vault
from core.jira.client import JiraClient, JiraConfig


@dataclass(frozen=True)
class Actor:
    config: JiraConfig
    as_user: bool  # True: the person's own credential
    on_behalf_of: str | None  # set when the service account acts for someone: how Jira should name them

    def client(self) -> JiraClient:
        """A client for this actor (use it as ``async with``)."""
        return JiraClient(self.config)


def actor_for(session: Session, vault: Vault, settings: Settings, user_id: int, display: str) -> Actor:
    """The person's connected credential on the configured site, else the service account for ``display``.

    ``display`` names the person in what the service account writes, e.g. "Alice Example (alice@x.com)".
    A stored credential the current keys cannot read raises ``UnreadableSecret`` (asks them to reconnect)
    rather than quietly acting as the service account.
    """
    service = JiraConfig.from_settings(settings)
    credential = load_jira(session, vault, user_id)
    if credential is None:
        name = " ".join(display.split())[:300] or "someone in Slack"  # one line: it ends up in a sentence
        return Actor(service, as_user=False, on_behalf_of=name)
    personal = replace(service, email=credential.email or None, token=credential.token, personal=True)
    return Actor(personal, as_user=True, on_behalf_of=None)
