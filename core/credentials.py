"""Personal credentials: stored encrypted, read only by the jobs that act for their owner, rotatable."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import Vault
from core.db.models import Credential
from core.users import audit
from core.users.service import Identity

JIRA = "jira"


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


def rotate_all(session: Session, vault: Vault) -> tuple[int, int]:
    """Re-encrypt every credential under the newest key; returns (rotated, already current)."""
    rotated = current = 0
    for row in session.scalars(select(Credential)):
        if vault.is_current(row.secret):
            current += 1
            continue
        row.secret = vault.rotate(row.secret)
        rotated += 1
    audit.record(
        session,
        action="credential.rotate_keys",
        outcome="ok",
        actor_email="(shell)",
        detail={"rotated": rotated, "current": current},
    )
    return rotated, current
