"""Personal credentials: stored encrypted, read only by the jobs that act for their owner, rotatable."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.crypto import Vault
from core.db.models import Credential
from core.db.slack_tables import slack_bots, slack_installations
from core.users import audit
from core.users.service import Identity

JIRA = "jira"
BOT_TOKENS = ("bot_token", "bot_refresh_token")
INSTALLATION_TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")


class JiraCredential(BaseModel):
    email: str | None  # None: a Data Center personal access token
    token: str
    account_id: str = ""


def save_jira(
    session: Session, vault: Vault, owner: Identity, credential: JiraCredential, label: str
) -> None:
    row = session.scalar(
        select(Credential).where(Credential.user_id == owner.user_id, Credential.kind == JIRA)
    )
    action = "credential.replace" if row else "credential.connect"
    if row is None:
        row = Credential(user_id=owner.user_id, kind=JIRA)
        session.add(row)
    row.secret = vault.encrypt(credential.model_dump())
    row.label = label
    row.updated_at = datetime.now(UTC)
    audit.record(
        session,
        action=action,
        outcome="ok",
        actor_slack_id=owner.slack_user_id,
        actor_email=owner.email,
        target=JIRA,
        detail={"account": label},
    )


def load_jira(session: Session, vault: Vault, user_id: int) -> JiraCredential | None:
    row = session.scalar(select(Credential).where(Credential.user_id == user_id, Credential.kind == JIRA))
    return JiraCredential.model_validate(vault.decrypt(row.secret)) if row else None


def connected(session: Session, user_id: int) -> dict[str, str]:
    """Kind → label of what this user has connected (never the secret)."""
    rows = session.scalars(select(Credential).where(Credential.user_id == user_id))
    return {row.kind: row.label for row in rows}


def delete(session: Session, owner: Identity, kind: str) -> bool:
    row = session.scalar(
        select(Credential).where(Credential.user_id == owner.user_id, Credential.kind == kind)
    )
    if row is not None:
        session.delete(row)
    audit.record(
        session,
        action="credential.disconnect",
        outcome="ok" if row else "nothing_to_do",
        actor_slack_id=owner.slack_user_id,
        actor_email=owner.email,
        target=kind,
    )
    return row is not None


SEALED = "enc:"  # prefix of Slack install tokens sealed by the bot's installation store


def rotate_all(session: Session, vault: Vault) -> tuple[int, int]:
    """Re-encrypt every stored secret under the newest key: personal credentials and the Slack install
    tokens; returns (rotated, already current)."""
    rotated = current = 0
    for row in session.scalars(select(Credential)):
        if vault.is_current(row.secret):
            current += 1
            continue
        row.secret = vault.rotate(row.secret)
        rotated += 1
    for table, columns in ((slack_bots, BOT_TOKENS), (slack_installations, INSTALLATION_TOKENS)):
        for sealed in session.execute(select(table.c.id, *(table.c[c] for c in columns))).all():
            changes: dict[str, str] = {}
            for name in columns:
                value = getattr(sealed, name)
                if not value or not value.startswith(SEALED):
                    continue
                token = value[len(SEALED) :]
                if vault.is_current(token):
                    current += 1
                else:
                    changes[name] = SEALED + vault.rotate(token)
                    rotated += 1
            if changes:
                session.execute(update(table).where(table.c.id == sealed.id).values(**changes))
    audit.record(
        session,
        action="credential.rotate_keys",
        outcome="ok",
        actor_email="(shell)",
        detail={"rotated": rotated, "current": current},
    )
    return rotated, current
