"""`/pm sync`: the progress message (kept up to date) and the summary posted in its thread."""

from __future__ import annotations

from typing import Any

from bot.views.format import context, escape, section
from core.notices import SyncLine, SyncReport

MAX_PROJECT_LINES = 40

_ICON = {"pending": "⏳", "running": "🔄", "ok": "✅", "error": "⚠️", "skipped": "⏭️"}


def _line(line: SyncLine) -> str:
    head = f"{_ICON.get(line.outcome, '')} *{escape(line.project)}*"
    if line.outcome == "pending":
        return f"{head}: waiting"
    if line.outcome == "skipped":
        return f"{head}: skipped ({escape(line.error or 'already running')})"
    of = f" of {line.total:,}" if line.total is not None else ""
    text = (
        f"{head}: {line.fetched:,}{of} fetched, {line.changed:,} changed, {line.unchanged:,} unchanged, "
        f"{line.deleted:,} deleted"
    )
    if line.outcome in ("ok", "error"):
        text += f", {line.seconds:.1f} s"
    if line.error and line.outcome == "error":
        text += f"\n      {escape(line.error[:300])}"
    return text


def sync_message(report: SyncReport) -> dict[str, Any]:
    kind = "Full Jira sync" if report.full else "Jira sync"
    errors = [line for line in report.lines if line.outcome == "error"]
    if report.summary:
        total = sum(line.seconds for line in report.lines)
        changed = sum(line.changed for line in report.lines)
        title = f"{kind} finished in {total:.1f} s: {changed:,} issues changed"
        if errors:
            title += f", {len(errors)} project(s) failed"
    else:
        title = f"{kind}: " + ("done" if report.done else "running…")
    lines = [_line(line) for line in report.lines[:MAX_PROJECT_LINES]]
    blocks: list[dict[str, Any]] = [section(f"*{title}*\n" + "\n".join(lines))]
    if len(report.lines) > MAX_PROJECT_LINES:
        blocks.append(context(f"…and {len(report.lines) - MAX_PROJECT_LINES} more projects."))
    return {"text": title, "blocks": blocks}
