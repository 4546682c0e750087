"""`/pm status`: what is synced and indexed, and how fresh it is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot import ids
from bot.views.format import ago, context, escape, section
from core.notices import StatusReport

_OUTCOME = {"ok": "✅ ok", "error": "⚠️ failed", "running": "🔄 running", None: "not synced yet"}


def status_message(report: StatusReport, now: datetime | None = None) -> dict[str, Any]:
    if report.projects:
        lines = []
        for p in report.projects:
            line = f"*{escape(p.key)}* {escape(p.name)}: {p.issues} issues, synced {ago(p.last_sync, now)}"
            line += f" ({_OUTCOME.get(p.last_outcome, p.last_outcome)})"
            if p.last_error:
                line += f": {escape(p.last_error[:200])}"
            lines.append(line)
        projects = "\n".join(lines)
    else:
        projects = "No Jira project synced yet."
    docs = ", ".join(f"{source} {count}" for source, count in report.documents.items())
    pending = "unknown" if report.pending_jobs is None else str(report.pending_jobs)
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Agent PM status"}},
        section("*Jira*\n" + projects, block_id=ids.BLOCK_STATUS),
        section(f"*Documents*: {docs}\n*Index*: {report.index_backend}, {report.vectors} vectors"),
        context(f"Pending jobs: {pending} · as of {report.generated_at:%Y-%m-%d %H:%M} UTC"),
    ]
    total = sum(p.issues for p in report.projects)
    return {
        "text": f"Agent PM status: {total} Jira issues in {len(report.projects)} projects",
        "blocks": blocks,
    }
