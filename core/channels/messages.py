"""Channel messages as documents: which messages count, how they read, and live edits and deletes.

People's messages and their thread replies are indexed; bots' messages and Slack's system messages (joins,
topic changes, pins, …) are not: they are noise in search and answers. Subtypes are allowed by a short list
rather than excluded one by one, so a subtype Slack adds later is left out until someone decides otherwise.

A message is the document ``slack``/``"{channel}:{ts}"``; its title names the channel and the message's first
line, its body is the text with Slack's markup made readable. The version of a message is its ``edited.ts``
(or its ``ts``): a stale copy (a backfill page fetched before an edit and stored after it) never overwrites
a newer one, and an unchanged message keeps ``indexed_at`` so it is not embedded again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.channels.access import SLACK_SOURCE, indexed
from core.db.knowledge_tables import IndexedChannel
from core.db.models import Document
from core.jira.markup import slack_to_text
from core.search.text import searchable_text

Message = Mapping[str, Any]

INDEXED_SUBTYPES = frozenset({"thread_broadcast", "file_share", "me_message"})
TITLE_CHARS = 80
_TS = re.compile(r"^[0-9]{1,12}\.[0-9]{1,6}$")


def _ts(value: Any) -> str | None:
    return value if isinstance(value, str) and _TS.match(value) else None


def readable(text: str) -> str:
    """Slack message text as people read it: ``<@U1>`` → ``@U1``, ``<url|label>`` → ``label (url)``,
    ``&lt;`` → ``<``."""
    return slack_to_text(text).strip()


def is_indexable(message: Message) -> bool:
    """A person's message (or thread reply) with text; not a bot's, not a system message."""
    if message.get("type", "message") != "message" or message.get("hidden"):
        return False
    subtype = message.get("subtype")
    if subtype is not None and subtype not in INDEXED_SUBTYPES:
        return False
    if message.get("bot_id") or message.get("bot_profile"):
        return False
    text = message.get("text")
    return (
        isinstance(message.get("user"), str)
        and _ts(message.get("ts")) is not None
        and isinstance(text, str)
        and bool(readable(text))
    )


def external_id(channel_id: str, ts: str) -> str:
    return f"{channel_id}:{ts}"


def _version(message: Message) -> str:
    edited = message.get("edited")
    edited_ts = _ts(edited.get("ts")) if isinstance(edited, Mapping) else None
    return edited_ts or str(message["ts"])


def _instant(ts: str) -> datetime:
    return datetime.fromtimestamp(float(ts), UTC)


def title_of(channel_name: str, body: str) -> str:
    first = body.split("\n", 1)[0].strip()
    if len(first) > TITLE_CHARS:
        first = first[: TITLE_CHARS - 1].rstrip() + "…"
    return "#" + (channel_name or "channel") + ": " + first


def _digest(document: Document) -> str:
    content = [document.title, document.body, document.url, document.meta]
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def _older(message: Message, document: Document) -> bool:
    """Whether ``message`` is an older version than the stored one (so it must not replace it)."""
    stored = (document.meta or {}).get("version")
    return isinstance(stored, str) and _ts(stored) is not None and float(_version(message)) < float(stored)


def _apply(
    session: Session,
    channel_id: str,
    channel_name: str,
    message: Message,
    permalink: str | None,
    document: Document | None,
) -> str:
    """Store one indexable message; "stored", "updated" or "ignored" (unchanged or stale)."""
    if document is not None and _older(message, document):
        return "ignored"
    ts = str(message["ts"])
    thread_ts = _ts(message.get("thread_ts"))
    body = readable(str(message["text"]))
    candidate = Document(
        source=SLACK_SOURCE,
        external_id=external_id(channel_id, ts),
        title=title_of(channel_name, body),
        body=body,
        url=permalink or (document.url if document is not None else None),
        channel_id=channel_id,
        meta={
            "user": message["user"], "ts": ts, "thread_ts": thread_ts if thread_ts != ts else None,
            "version": _version(message),
        },
    )  # fmt: skip
    digest = _digest(candidate)
    if document is not None and document.content_hash == digest:
        return "ignored"
    target = document if document is not None else candidate
    if document is not None:
        target.title, target.body, target.url, target.meta = (
            candidate.title, candidate.body, candidate.url, candidate.meta,
        )  # fmt: skip
    else:
        session.add(target)
    target.search_text = searchable_text(target.title, target.body)
    target.content_hash = digest
    target.updated_at = _instant(_version(message))
    target.indexed_at = None  # changed content must be embedded again
    return "stored" if document is None else "updated"


def _upsert(
    session: Session,
    channel_id: str,
    channel_name: str,
    messages: Sequence[Message],
    permalinks: Mapping[str, str],
) -> list[str]:
    latest: dict[str, Message] = {}
    for message in messages:
        if is_indexable(message):
            latest[str(message["ts"])] = message
    if not latest:
        return []
    ids = [external_id(channel_id, ts) for ts in latest]
    existing = {
        d.external_id: d
        for d in session.scalars(
            select(Document).where(Document.source == SLACK_SOURCE, Document.external_id.in_(ids))
        )
    }
    outcomes: list[str] = []
    with session.no_autoflush:
        for ts, message in latest.items():
            document = existing.get(external_id(channel_id, ts))
            outcomes.append(_apply(session, channel_id, channel_name, message, permalinks.get(ts), document))
    session.flush()
    return outcomes


def upsert_messages(
    session: Session,
    channel_id: str,
    channel_name: str,
    messages: list[dict[str, Any]],
    permalinks: Mapping[str, str],
) -> int:
    """Store the indexable ``messages`` of one channel; returns how many were new or changed.

    ``permalinks`` maps a message's ``ts`` to its link; a message without one keeps the link it had.
    """
    outcomes = _upsert(session, channel_id, channel_name, messages, permalinks)
    return len([outcome for outcome in outcomes if outcome != "ignored"])


def delete_message(session: Session, channel_id: str, ts: str) -> bool:
    """Remove one message's document (its vectors follow through the deletions outbox)."""
    result = session.execute(
        delete(Document).where(
            Document.source == SLACK_SOURCE, Document.external_id == external_id(channel_id, ts)
        )
    )
    return bool(getattr(result, "rowcount", 0))


def _count(channel: IndexedChannel, outcome: str) -> None:
    if outcome == "stored":
        channel.messages_indexed += 1
    elif outcome == "deleted":
        channel.messages_indexed = max(0, channel.messages_indexed - 1)


def apply_event(session: Session, event: Mapping[str, Any], permalink: str | None = None) -> str:
    """A live ``message`` event of an indexed channel: "stored", "updated", "deleted" or "ignored".

    New messages and thread replies are stored, ``message_changed`` stores the edited version (or deletes
    the document when the message no longer counts, e.g. a deleted thread root's tombstone),
    ``message_deleted`` deletes it. Events of channels not opted in are ignored. ``permalink`` is the
    message's link when the caller knows it; an edit keeps the link stored before.
    """
    channel_id = event.get("channel")
    if event.get("type") != "message" or not isinstance(channel_id, str):
        return "ignored"
    channel = indexed(session, channel_id)
    if channel is None:
        return "ignored"
    outcome = _event_outcome(session, channel, event, permalink)
    _count(channel, outcome)
    session.flush()
    return outcome


def _event_outcome(
    session: Session, channel: IndexedChannel, event: Mapping[str, Any], permalink: str | None
) -> str:
    subtype = event.get("subtype")
    if subtype == "message_deleted":
        previous = event.get("previous_message")
        ts = _ts(event.get("deleted_ts")) or (
            _ts(previous.get("ts")) if isinstance(previous, Mapping) else None
        )
        return "deleted" if ts and delete_message(session, channel.channel_id, ts) else "ignored"
    message: Any = event.get("message") if subtype == "message_changed" else event
    if not isinstance(message, Mapping):
        return "ignored"
    if subtype == "message_changed" and not is_indexable(message):
        ts = _ts(message.get("ts"))
        return "deleted" if ts and delete_message(session, channel.channel_id, ts) else "ignored"
    links = {str(message.get("ts")): permalink} if permalink else {}
    outcomes = _upsert(session, channel.channel_id, channel.name, [message], links)
    return outcomes[0] if outcomes else "ignored"


def purge_older_than(session: Session, channel_id: str | None, days: int) -> int:
    """Delete the channel's (or, with None, every channel's) messages not posted or edited in ``days`` days;
    returns how many."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    condition = [Document.source == SLACK_SOURCE, Document.updated_at < cutoff]
    if channel_id is not None:
        condition.append(Document.channel_id == channel_id)
    result = session.execute(delete(Document).where(*condition))
    purged = int(getattr(result, "rowcount", 0) or 0)
    if purged and channel_id is not None:
        channel = indexed(session, channel_id)
        if channel is not None:
            channel.messages_indexed = max(0, channel.messages_indexed - purged)
    session.flush()
    return purged
