"""Maps each core notice to its view."""

from __future__ import annotations

from typing import Any

from bot.views.answer import answer_messages
from bot.views.digest import digest_messages
from bot.views.errors import error_message
from bot.views.meeting import action_items_messages
from bot.views.search import search_message
from bot.views.status import status_message
from bot.views.sync import sync_message
from core.notices import (
    ActionItemsNotice,
    AnswerNotice,
    DigestNotice,
    ErrorNotice,
    Notice,
    SearchPage,
    StatusReport,
    SyncReport,
)


def render_parts(notice: Notice) -> list[dict[str, Any]]:
    """The messages a notice takes: one, or several for a long answer (the rest go in its thread)."""
    if isinstance(notice, AnswerNotice):
        return answer_messages(notice)
    if isinstance(notice, DigestNotice):
        return digest_messages(notice)
    if isinstance(notice, ActionItemsNotice):
        return action_items_messages(notice)
    return [render_notice(notice)]


def render_notice(notice: Notice) -> dict[str, Any]:
    if isinstance(notice, StatusReport):
        return status_message(notice)
    if isinstance(notice, SyncReport):
        return sync_message(notice)
    if isinstance(notice, SearchPage):
        return search_message(notice)
    if isinstance(notice, AnswerNotice):
        return answer_messages(notice)[0]
    if isinstance(notice, DigestNotice):
        return digest_messages(notice)[0]
    if isinstance(notice, ErrorNotice):
        return error_message(notice.message, notice.error_id)
    if isinstance(notice, ActionItemsNotice):
        return action_items_messages(notice)[0]
    raise TypeError(f"no view for {type(notice).__name__}")
