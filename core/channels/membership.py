"""Who may see which channel's documents: the members of that channel, checked against Slack, cached briefly.

Every ``slack`` and ``meeting`` document carries a ``channel_id``; ``core.search.service.visible_to`` shows
it only when that channel is in ``Viewer.channels``. This module computes that set:

* For a person (a search, a private answer): the channels with documents (indexed channels, channels
  where meetings were shared) that they are a member of, plus their personal pseudo-channel
  ``D:<their Slack ID>``, which holds the meeting notes they pasted or shared privately with the bot.
* For an answer posted publicly in channel X (the audience rule): X itself, and each channel with documents
  whose members include *every* member of X. Whoever reads the answer in X could read those channels'
  messages anyway; a channel some member of X is not in is left out, however relevant. Personal
  pseudo-channels never count for a public answer.

Memberships come from Slack (``conversations.members``) and are cached ``TTL_SECONDS`` per channel, so
someone who leaves a channel stops seeing it within a minute. A channel whose members cannot be read
counts as having none (fail closed), and that failure is not cached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping, Set

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.channels.access import indexed_channel_ids
from core.db.knowledge_tables import Meeting
from core.errors import AgentPMError
from core.logging import get_logger

log = get_logger(__name__)

TTL_SECONDS = 60.0
MAX_CHANNELS = 10_000
PERSONAL_PREFIX = "D:"

MembersOf = Callable[[str], Collection[str]]


def personal_channel(user_slack_id: str) -> str:
    """The pseudo-channel of one person's private documents (never a real Slack ID: those have no colon)."""
    return PERSONAL_PREFIX + user_slack_id


def audience_channels(channel_id: str, members_of: Mapping[str, Set[str]]) -> frozenset[str]:
    """The channels whose documents may be used in an answer everyone in ``channel_id`` reads.

    ``members_of`` maps ``channel_id`` and each candidate channel to its members. A candidate qualifies
    when every member of ``channel_id`` is also its member; ``channel_id`` itself always does. Nobody
    known in ``channel_id`` (its members could not be read) means nothing qualifies.
    """
    audience = members_of.get(channel_id)
    if not audience:
        return frozenset()
    return frozenset(
        channel
        for channel, members in members_of.items()
        if not channel.startswith(PERSONAL_PREFIX) and audience <= members
    ) | {channel_id}


class MembershipCache:
    """Channel members from ``members`` (a Slack lookup), kept ``ttl_seconds`` per channel; thread-safe."""

    def __init__(
        self,
        members: MembersOf,
        *,
        ttl_seconds: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._members = members
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, frozenset[str]]] = {}

    def members_of(self, channel_id: str) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(channel_id)
            if entry is not None and now - entry[0] < self._ttl:
                return entry[1]
        try:  # outside the lock: a slow Slack call must not hold up lookups of other channels
            members = frozenset(self._members(channel_id))
        except AgentPMError as exc:
            log.warning("channel.members_unreadable", channel=channel_id, error=type(exc).__name__)
            return frozenset()
        with self._lock:
            if len(self._entries) >= MAX_CHANNELS:
                oldest = min(self._entries, key=lambda c: self._entries[c][0])
                del self._entries[oldest]
            self._entries[channel_id] = (now, members)
        return members

    def invalidate(self, channel_id: str | None = None) -> None:
        """Forget one channel's members (someone joined or left it), or every channel's."""
        with self._lock:
            if channel_id is None:
                self._entries.clear()
            else:
                self._entries.pop(channel_id, None)

    def channels_of(self, user_slack_id: str, candidate_channels: Set[str]) -> frozenset[str]:
        """The candidate channels ``user_slack_id`` is a member of."""
        return frozenset(c for c in sorted(candidate_channels) if user_slack_id in self.members_of(c))

    def audience(self, channel_id: str, candidate_channels: Set[str]) -> frozenset[str]:
        """``audience_channels`` for an answer posted in ``channel_id``, with members from the cache."""
        channels = sorted(set(candidate_channels) | {channel_id})
        return audience_channels(channel_id, {c: self.members_of(c) for c in channels})


def knowledge_channels(session: Session) -> set[str]:
    """Channels that have documents: the indexed ones and those where meeting notes were shared (not DMs,
    whose meetings are their poster's personal documents)."""
    meeting_channels = session.scalars(
        select(Meeting.channel_id).where(Meeting.channel_id.is_not(None)).distinct()
    )
    shared = {c for c in meeting_channels if c and not c.startswith("D")}
    return indexed_channel_ids(session) | shared


def channels_for_user(session: Session, cache: MembershipCache, user_slack_id: str) -> frozenset[str]:
    """``Viewer.channels`` for a search or a private answer by ``user_slack_id``."""
    return cache.channels_of(user_slack_id, knowledge_channels(session)) | {personal_channel(user_slack_id)}


def channels_for_audience(session: Session, cache: MembershipCache, channel_id: str) -> frozenset[str]:
    """``Viewer.channels`` for an answer (or shared results) posted publicly in ``channel_id``."""
    return cache.audience(channel_id, knowledge_channels(session))
