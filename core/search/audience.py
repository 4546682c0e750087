"""Which channels' documents a search or an answer may use, decided in the job (it needs Slack membership):

- a person searching, or asking in a DM: the knowledge channels they are a member of (and their own
  privately shared meeting notes);
- a public answer or shared results in a channel: only channels whose members include everyone in that
  channel, i.e. what every member there may see.

Memberships come from Slack through the job context's channel directory, cached for a minute per process.
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from core.channels.membership import MembershipCache, channels_for_audience, channels_for_user
from core.jobs.context import JobContext
from core.search.service import Viewer

_caches: dict[int, MembershipCache] = {}
_lock = threading.Lock()


def membership(ctx: JobContext) -> MembershipCache | None:
    """The process's membership cache for ``ctx``'s Slack directory (None: no channel documents)."""
    directory = ctx.directory
    if directory is None:
        return None
    with _lock:
        cache = _caches.get(id(directory))
        if cache is None:
            cache = _caches[id(directory)] = MembershipCache(directory.members)
        return cache


def resolve(
    ctx: JobContext,
    session: Session,
    viewer: Viewer,
    *,
    member: str | None = None,
    audience: str | None = None,
) -> Viewer:
    """``viewer`` with the channels it may see filled in; an unrestricted viewer (the shell) stays so."""
    if viewer.channels is None or (member is None and audience is None):
        return viewer
    cache = membership(ctx)
    if cache is None:
        return viewer
    channels = (
        channels_for_audience(session, cache, audience)
        if audience
        else channels_for_user(session, cache, member or "")
    )
    return viewer.model_copy(update={"channels": channels})
