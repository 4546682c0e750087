"""LocalSlack's reading of channel history: ``conversations.history`` and ``conversations.replies`` with
Slack's cursor pagination, over the messages LocalSlack stores.

Like Slack, history lists a channel's top-level messages (and replies also sent to the channel) newest
first, a thread root carrying ``reply_count``; replies list a thread oldest first, the root on the first
page. Cursors are opaque strings naming the next message to return, so messages posted between two pages
do not shift the pages.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

JsonDict = dict[str, Any]
Store = Mapping[tuple[str, str], JsonDict]
HISTORY_LIMIT, HISTORY_MAX = 100, 999
REPLIES_LIMIT, REPLIES_MAX = 1000, 1000


class CursorError(ValueError):
    """A cursor LocalSlack did not hand out (Slack answers ``invalid_cursor``)."""


def encode_cursor(ts: str) -> str:
    return base64.urlsafe_b64encode(("next_ts:" + ts).encode()).decode()


def decode_cursor(cursor: Any) -> str | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(str(cursor).encode()).decode()
    except ValueError as exc:
        raise CursorError("invalid_cursor") from exc
    if not text.startswith("next_ts:"):
        raise CursorError("invalid_cursor")
    return text[len("next_ts:") :]


def _limit(args: JsonDict, default: int, most: int) -> int:
    try:
        value = int(args.get("limit") or default)
    except (TypeError, ValueError):
        value = default
    return max(1, min(most, value))


def _is_reply(message: JsonDict) -> bool:
    thread_ts = message.get("thread_ts")
    return bool(thread_ts) and thread_ts != message.get("ts")


def _page(items: list[JsonDict], limit: int) -> JsonDict:
    page, more = items[:limit], len(items) > limit
    return {
        "messages": page,
        "has_more": more,
        "response_metadata": {"next_cursor": encode_cursor(str(items[limit]["ts"])) if more else ""},
    }


def history_page(store: Store, channel: str, args: JsonDict) -> JsonDict:
    """One page of ``conversations.history`` (``cursor``, ``limit``, ``oldest``, ``latest``, ``inclusive``);
    messages carry their ``metadata`` only with ``include_all_metadata``, as in Slack."""
    messages = [dict(m) for (c, _), m in store.items() if c == channel]
    if str(args.get("include_all_metadata", "")).lower() not in ("true", "1"):
        for message in messages:
            message.pop("metadata", None)
    replies: dict[str, list[JsonDict]] = {}
    for message in messages:
        if _is_reply(message):
            replies.setdefault(str(message["thread_ts"]), []).append(message)
    listed = [m for m in messages if not _is_reply(m) or m.get("subtype") == "thread_broadcast"]
    for message in listed:
        thread = replies.get(str(message["ts"]))
        if thread and not _is_reply(message):
            message["thread_ts"] = message["ts"]
            message["reply_count"] = len(thread)
            message["reply_users_count"] = len({r.get("user") for r in thread})
            message["latest_reply"] = max(str(r["ts"]) for r in thread)
    inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
    oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or 0) or None
    start = decode_cursor(args.get("cursor"))
    listed = [
        m for m in listed
        if (float(m["ts"]) >= oldest if inclusive else float(m["ts"]) > oldest)
        and (latest is None or (float(m["ts"]) <= latest if inclusive else float(m["ts"]) < latest))
        and (start is None or float(m["ts"]) <= float(start))
    ]  # fmt: skip
    listed.sort(key=lambda m: float(m["ts"]), reverse=True)
    return _page(listed, _limit(args, HISTORY_LIMIT, HISTORY_MAX))


def replies_page(store: Store, channel: str, thread_ts: str, args: JsonDict) -> JsonDict | None:
    """One page of ``conversations.replies``; None when there is no such thread."""
    thread = [
        dict(m)
        for (c, ts), m in store.items()
        if c == channel and (ts == thread_ts or m.get("thread_ts") == thread_ts)
    ]
    if not thread:
        return None
    thread.sort(key=lambda m: float(m["ts"]))
    start = decode_cursor(args.get("cursor"))
    if start is not None:
        thread = [m for m in thread if float(m["ts"]) >= float(start)]
    return _page(thread, _limit(args, REPLIES_LIMIT, REPLIES_MAX))
