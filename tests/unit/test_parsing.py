"""core.parsing: durations, `since:` filters and Slack mentions typed by users."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.parsing import MAX_DURATION, parse_duration, parse_since, parse_user_mention

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("7D", timedelta(days=7)),
        ("2W", timedelta(weeks=2)),
        ("  1h ", timedelta(hours=1)),
        ("1m", timedelta(minutes=1)),
        ("3660d", MAX_DURATION),
    ],
)
def test_parse_duration_accepts(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "0d",
        "0m",
        "7",
        "d7",
        "7x",
        "99999d",
        "-1d",
        "",
        "   ",
        "7 d",
        "1.5h",
        "+1d",
        "7dd",
        "3661d",
        "9999w",
        "7d7d",
    ],
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(text)


def test_parse_duration_error_message_is_bounded() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_duration("x" * 10_000)
    assert len(caught.value.user_message) < 200
    assert "30m" in caught.value.user_message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("since:7d", NOW - timedelta(days=7)),
        ("7d", NOW - timedelta(days=7)),
        ("SINCE:12h", NOW - timedelta(hours=12)),
        ("  since:30m  ", NOW - timedelta(minutes=30)),
        ("since: 2w", NOW - timedelta(weeks=2)),
    ],
)
def test_parse_since_with_fixed_now(text: str, expected: datetime) -> None:
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["since:", "since:abc", "since:0d", "since:since:7d", "sinc:7d", ""])
def test_parse_since_rejects(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_since(text, now=NOW)


def test_parse_since_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    result = parse_since("1h")
    after = datetime.now(UTC)
    assert result.tzinfo is not None
    assert before - timedelta(hours=1) <= result <= after - timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U123ABC>", "U123ABC"),
        ("<@U123ABC|bob>", "U123ABC"),
        ("<@U123ABC|>", "U123ABC"),
        ("U123ABC", "U123ABC"),
        ("W0ENTERPRISE1", "W0ENTERPRISE1"),
        ("<@W0ENTERPRISE1|Ann Lee>", "W0ENTERPRISE1"),
        ("  <@U123ABC>  ", "U123ABC"),
    ],
)
def test_parse_user_mention_accepts(text: str, expected: str) -> None:
    assert parse_user_mention(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "bob",
        "<@bob>",
        "<#C123>",
        "<#C123|general>",
        "@U123",
        "<!here>",
        "C123ABC",
        "u123abc",
        "<@u123abc>",
        "<@U123ABC",
        "<@U123ABC|bob",
        "<@U123ABC>x",
        "<@U123ABC> <@U456>",
        "U",
        "",
    ],
)
def test_parse_user_mention_rejects(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_user_mention(text)


# --- properties: arbitrary text is parsed or refused with InvalidInput, nothing else -------------------

TEXT = st.one_of(
    st.text(),
    st.text(alphabet="0123456789mhdwMHDW -+.:sinceSINCE\n\t", max_size=20),
    st.builds(lambda n, u: f"{n}{u}", st.integers(-10, 10**6), st.sampled_from("mhdwxMHDW")),
    st.text(alphabet="<@>|UWC0123ABCxyz #!", max_size=30),
)


@given(TEXT)
def test_parse_duration_never_raises_anything_else(text: str) -> None:
    try:
        value = parse_duration(text)
    except InvalidInput:
        return
    assert timedelta(0) < value <= MAX_DURATION


@given(TEXT)
def test_parse_since_never_raises_anything_else(text: str) -> None:
    try:
        value = parse_since(text, now=NOW)
    except InvalidInput:
        return
    assert NOW - MAX_DURATION <= value < NOW


@given(TEXT)
def test_parse_user_mention_never_raises_anything_else(text: str) -> None:
    try:
        value = parse_user_mention(text)
    except InvalidInput:
        return
    assert value[0] in "UW"
    assert value.isalnum()
    assert value.upper() == value
    assert value in text


@given(
    st.sampled_from("UW"), st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=20)
)
def test_parse_user_mention_round_trips_ids(prefix: str, rest: str) -> None:
    user_id = prefix + rest
    assert parse_user_mention(user_id) == user_id
    assert parse_user_mention(f"<@{user_id}>") == user_id
    assert parse_user_mention(f"<@{user_id}|someone>") == user_id
