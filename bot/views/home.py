"""The App Home tab: my TODOs (with their buttons), my digests, my connected accounts, and data freshness."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.views.format import ago, context, escape, section
from bot.views.todo import todo_blocks
from core.home import HomeData, SubscriptionLine

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HOME_BLOCK_LIMIT = 100


def _days(weekdays: list[int]) -> str:
    chosen = sorted(set(weekdays))
    if chosen == [0, 1, 2, 3, 4]:
        return "weekdays"
    if chosen == list(range(7)):
        return "every day"
    return ", ".join(DAYS[d] for d in chosen if 0 <= d < 7) or "no days"


def _subscription(line: SubscriptionLine) -> str:
    projects = f" · {escape(', '.join(line.projects))}" if line.projects else " · all projects"
    return (
        f"• <#{line.channel_id}> at {line.local_time} ({escape(line.tz)}), {_days(line.weekdays)}{projects}"
    )


def home_view(data: HomeData) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": "Agent PM"}}]
    blocks.append(section("*Your TODOs*"))
    if data.todos:
        for item in data.todos:
            blocks += todo_blocks(item)
        if data.more_todos:
            blocks.append(context(f"…and {data.more_todos} more: `/pm todo list`"))
    else:
        blocks.append(
            context("Nothing open: `/pm todo add &lt;text&gt; [due:fri] [@owner]` or “Add as TODO”.")
        )
    blocks.append({"type": "divider"})
    digest_lines = [_subscription(s) for s in data.subscriptions] or ["No channel digests set up by you."]
    personal = (
        f"Your daily DM digest is *on* at {data.personal_time} ({escape(data.personal_tz or 'UTC')})."
        if data.personal_digest
        else "Your daily DM digest is *off*."
    )
    toggle = {
        "type": "button", "action_id": ids.ACTION_HOME_PERSONAL_DIGEST,
        "text": {"type": "plain_text", "text": "Turn off" if data.personal_digest else "Turn on"},
        "value": "off" if data.personal_digest else "on",
    }  # fmt: skip
    blocks.append(section("*Digests*\n" + "\n".join(digest_lines)))
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": personal}, "accessory": toggle})
    blocks.append({"type": "divider"})
    if not data.jira_configured:
        jira = "Jira is not configured for this workspace."
    elif data.jira_account:
        jira = f"Jira: connected as *{escape(data.jira_account)}* (`/pm disconnect jira` removes it)."
    else:
        jira = "Jira: not connected; Agent PM acts on your behalf. `/pm connect jira` to act as yourself."
    blocks.append(section("*Connected accounts*\n" + jira))
    blocks.append({"type": "divider"})
    fresh = [f"{escape(f.project)} synced {ago(f.last_success)}" for f in data.freshness]
    blocks.append(context("Data: " + (" · ".join(fresh) if fresh else "no Jira project synced yet")))
    return {"type": "home", "blocks": blocks[:HOME_BLOCK_LIMIT]}
