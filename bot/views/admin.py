"""Admin views: users and roles, the audit log, role changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.views.format import context, escape, section
from core.users.audit import AuditEntry
from core.users.service import Identity

MAX_LINES = 40  # keeps every section under Slack's 3,000 characters


def _who(slack_id: str | None, email: str | None) -> str:
    return f"<@{slack_id}>" if slack_id else escape(email or "(unknown)")


def users_message(users: Sequence[Identity]) -> dict[str, Any]:
    if not users:
        return {"text": "No users yet.", "blocks": [section("No users yet.")]}
    lines = [
        f"*{u.role.value}* {_who(u.slack_user_id, None) if u.slack_user_id else ''} {escape(u.email)}"
        for u in users[:MAX_LINES]
    ]
    blocks = [section("*Agent PM users*\n" + "\n".join(line.replace("  ", " ") for line in lines))]
    if len(users) > MAX_LINES:
        blocks.append(context(f"…and {len(users) - MAX_LINES} more."))
    return {"text": f"{len(users)} Agent PM users", "blocks": blocks}


def audit_message(entries: Sequence[AuditEntry]) -> dict[str, Any]:
    if not entries:
        return {"text": "No audit events match.", "blocks": [section("No audit events match.")]}
    lines = []
    for e in entries[:MAX_LINES]:
        target = f" → {escape(e.target)}" if e.target else ""
        detail = " " + escape(", ".join(f"{k}={v}" for k, v in e.detail.items()))[:120] if e.detail else ""
        lines.append(
            f"`{e.at:%Y-%m-%d %H:%M}` {_who(e.actor_slack_id, e.actor_email)} *{escape(e.action)}*"
            f"{target}: {escape(e.outcome)}{detail}"
        )
    blocks = [section("*Audit log* (newest first)\n" + "\n".join(lines))]
    if len(entries) > MAX_LINES:
        blocks.append(
            context(f"…and {len(entries) - MAX_LINES} older events; narrow with `since:` or a user.")
        )
    return {"text": f"{len(entries)} audit events", "blocks": blocks}


def role_changed_message(slack_user_id: str, role: str, previous: str) -> dict[str, Any]:
    text = f"<@{slack_user_id}> is now *{role}* (was {previous})."
    return {"text": text, "blocks": [section(text)]}
