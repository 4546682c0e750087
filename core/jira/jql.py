"""Building the JQL the sync sends: project keys validated and quoted, instants as epoch milliseconds.

A JQL date string is read in the service account's time zone; an epoch-millisecond number is not ambiguous.
"""

from __future__ import annotations

import re
from datetime import datetime

from core.errors import InvalidInput

# Jira project keys: an uppercase letter, then uppercase letters, digits or underscores (10 by default,
# up to 255 when an admin allows it). Nothing else can reach a JQL string.
PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,254}$")
ORDER = "ORDER BY updated ASC, key ASC"


def valid_project_key(key: str) -> str:
    candidate = key.strip().upper()
    if not PROJECT_KEY.match(candidate):
        raise InvalidInput(
            f"`{key[:40]}` is not a Jira project key (letters, digits and _ , starting with a letter)."
        )
    return candidate


def epoch_ms(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError("instants in JQL must be timezone-aware")
    return int(instant.timestamp() * 1000)


def updated_since(project: str, since: datetime | None) -> str:
    """Issues of ``project`` updated at or after ``since`` (all when None), oldest first, ties by key."""
    clause = f'project = "{valid_project_key(project)}"'
    if since is not None:
        clause += f" AND updated >= {epoch_ms(since)}"
    return f"{clause} {ORDER}"


def all_keys(project: str) -> str:
    """Every issue of ``project``, for reconciling deleted and moved issues."""
    return f'project = "{valid_project_key(project)}" ORDER BY key ASC'


ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,254}-[1-9][0-9]{0,9}$")


def keys_in(keys: list[str]) -> str:
    """These issues (keys validated, then quoted)."""
    for key in keys:
        if not ISSUE_KEY.match(key):
            raise InvalidInput(f"`{key[:40]}` is not a Jira issue key.")
    return "key in (" + ", ".join(f'"{key}"' for key in keys) + ") ORDER BY key ASC"
