"""What a job function gets: the process's services, never request objects."""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Settings
from core.db.session import Database
from core.ports import ChannelDirectory, JobQueue, Notifier, SlackHistory, ThreadReader
from core.search.engine import SearchEngine


@dataclass
class JobContext:
    settings: Settings
    db: Database
    notifier: Notifier
    queue: JobQueue
    search: SearchEngine | None = None
    threads: ThreadReader | None = None
    directory: ChannelDirectory | None = None  # channel members and recent history, for digests
    history: SlackHistory | None = None  # channel history, for the backfill of indexed channels
