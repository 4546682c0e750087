"""TODO input: due dates in the person's zone, `/pm todo add` text with its trailing options, ids, snoozes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.todos.dates import WEEKDAYS, local_today, parse_due
from core.todos.parse import parse_snooze, parse_todo_add, parse_todo_id

WED = date(2026, 10, 28)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", WED),
        ("Tomorrow", WED + timedelta(days=1)),
        ("wed", WED),  # a weekday equal to today means today
        ("wednesday", WED),
        ("thu", WED + timedelta(days=1)),
        ("FRIDAY", WED + timedelta(days=2)),
        ("mon", WED + timedelta(days=5)),
        ("tue", WED + timedelta(days=6)),
        ("3d", WED + timedelta(days=3)),
        ("2w", WED + timedelta(days=14)),
        ("2026-10-28", WED),
        ("2027-02-28", date(2027, 2, 28)),
        ("  2026-12-01 ", date(2026, 12, 1)),
    ],
)
def test_parse_due_accepts(text: str, expected: date) -> None:
    assert parse_due(text, WED) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-02-30", "not a calendar date"),
        ("2026-10-27", "in the past"),
        ("someday", "not a due date"),
        ("", "not a due date"),
        ("3h", "not a due date"),  # hours are no date
        ("2040-01-01", "ten years"),
        ("next week", "not a due date"),
    ],
)
def test_parse_due_refuses_clearly(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_due(text, WED)


days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))


@given(today=days, index=st.integers(0, 6), short=st.booleans())
def test_a_weekday_is_the_next_such_day_today_included(today: date, index: int, short: bool) -> None:
    name = WEEKDAYS[index][:3] if short else WEEKDAYS[index]
    due = parse_due(name, today)
    assert due.weekday() == index
    assert 0 <= (due - today).days <= 6


@given(today=days, ahead=st.integers(0, 3000))
def test_iso_dates_from_today_on_read_back(today: date, ahead: int) -> None:
    day = today + timedelta(days=ahead)
    assert parse_due(day.isoformat(), today) == day


@given(text=st.text(max_size=40), today=days)
def test_parse_due_never_fails_otherwise(text: str, today: date) -> None:
    try:
        due = parse_due(text, today)
    except InvalidInput:
        return
    assert due >= today


def test_local_today_is_the_persons_date() -> None:
    instant = datetime(2026, 10, 28, 23, 30, tzinfo=UTC)
    assert local_today("UTC", instant) == date(2026, 10, 28)
    assert local_today("Europe/Berlin", instant) == date(2026, 10, 29)
    assert local_today("America/Los_Angeles", instant) == date(2026, 10, 28)
    assert local_today("Pacific/Kiritimati", datetime(2026, 10, 28, 10, 0, tzinfo=UTC)) == date(2026, 10, 29)
    assert local_today(None, instant) == date(2026, 10, 28)
    assert local_today("Not/AZone", instant) == date(2026, 10, 28)  # unknown zone: UTC
    assert local_today("Asia/Tokyo", datetime(2026, 10, 28, 16, 0)) == date(2026, 10, 29)  # naive is UTC


@pytest.mark.parametrize(
    ("text", "body", "due", "owner"),
    [
        ("Send the release notes", "Send the release notes", None, None),
        ("Send the notes due:fri", "Send the notes", "fri", None),
        ("Send the notes <@U0MAYA>", "Send the notes", None, "U0MAYA"),
        ("Send the notes due:fri <@U0MAYA|maya>", "Send the notes", "fri", "U0MAYA"),
        ("Send the notes <@U0MAYA|Maya Chen> DUE:2026-11-02", "Send the notes", "2026-11-02", "U0MAYA"),
        ("ask <@U0MAYA> about the API due:mon", "ask <@U0MAYA> about the API", "mon", None),
        ("review due:tomorrow handover due:fri", "review due:tomorrow handover", "fri", None),
        ("ping <!here> now", "ping <!here> now", None, None),
    ],
)
def test_parse_todo_add(text: str, body: str, due: str | None, owner: str | None) -> None:
    draft = parse_todo_add(text)
    assert (draft.text, draft.due_text, draft.owner_slack_id) == (body, due, owner)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "What is the TODO"),
        ("due:fri <@U0MAYA>", "What is the TODO"),
        ("Ship it due:", "needs a date"),
        ("Ship it due:fri due:mon", "one `due:`"),
        ("Ship it <@U01> <@U02>", "one owner"),
        ("x" * 2001, "at most 2000"),
    ],
)
def test_parse_todo_add_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_todo_add(text)


words = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="<>"), min_size=1, max_size=60
)
user_ids = st.from_regex(r"U[A-Z0-9]{2,10}", fullmatch=True)


@given(
    body=words.filter(lambda t: t.strip() and not t.split()[-1].lower().startswith("due:")),
    due=st.none() | st.sampled_from(["fri", "tomorrow", "2026-12-01", "3d"]),
    owner=st.none() | user_ids,
    owner_first=st.booleans(),
)
def test_trailing_options_round_trip(
    body: str, due: str | None, owner: str | None, owner_first: bool
) -> None:
    options = [f"<@{owner}|someone>" if owner else "", f"due:{due}" if due else ""]
    if not owner_first:
        options.reverse()
    draft = parse_todo_add(" ".join([body, *options]))
    assert draft.text == body.strip()
    assert draft.due_text == due
    assert draft.owner_slack_id == owner


@given(text=st.text(max_size=300))
def test_parse_todo_add_never_fails_otherwise(text: str) -> None:
    try:
        draft = parse_todo_add(text)
    except InvalidInput:
        return
    assert draft.text
    assert draft.text == draft.text.strip()
    assert len(draft.text) <= 2000


def test_ids_and_snoozes() -> None:
    assert parse_todo_id("12") == 12
    assert parse_todo_id("#7") == 7
    for bad in ("", "0", "-1", "abc", "١٢", "1" * 13):
        with pytest.raises(InvalidInput):
            parse_todo_id(bad)
    assert parse_snooze(None) == timedelta(days=1)
    assert parse_snooze("1w") == timedelta(weeks=1)
    assert parse_snooze("3h") == timedelta(hours=3)
    with pytest.raises(InvalidInput):
        parse_snooze("soon")
