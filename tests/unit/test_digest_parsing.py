"""`/pm digest subscribe` arguments: time, projects and days, with clear refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.digests.parse import parse_subscribe, parse_time, parse_weekdays
from core.errors import InvalidInput


@pytest.mark.parametrize(
    ("args", "time", "projects", "weekdays"),
    [
        ([], "09:00", [], [0, 1, 2, 3, 4]),
        (["8:30"], "08:30", [], [0, 1, 2, 3, 4]),
        (["17:05", "project:PAY"], "17:05", ["PAY"], [0, 1, 2, 3, 4]),
        (["project:pay", "project:WEB,OPS", "mon,wed,fri"], "09:00", ["PAY", "WEB", "OPS"], [0, 2, 4]),
        (["daily", "07:00"], "07:00", [], [0, 1, 2, 3, 4, 5, 6]),
        (["weekdays"], "09:00", [], [0, 1, 2, 3, 4]),
        (["mon-fri"], "09:00", [], [0, 1, 2, 3, 4]),
        (["fri-mon"], "09:00", [], [0, 4, 5, 6]),
        (["Sat,sun"], "09:00", [], [5, 6]),
        (["weekends,mon"], "09:00", [], [0, 5, 6]),
        (["tuesday"], "09:00", [], [1]),
        (["project:PAY", "project:PAY"], "09:00", ["PAY"], [0, 1, 2, 3, 4]),
        (["", "  "], "09:00", [], [0, 1, 2, 3, 4]),
    ],
)
def test_parse_subscribe(args: list[str], time: str, projects: list[str], weekdays: list[int]) -> None:
    request = parse_subscribe(args)
    assert (request.time, request.projects, request.weekdays) == (time, projects, weekdays)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["25:00"], "not a time"),
        (["9:60"], "not a time"),
        (["09:00", "10:00"], "one time"),
        (["mon", "tue"], "days once"),
        (["project:"], "needs a key"),
        (["project:9X"], "not a Jira project key"),
        (["monx"], "not a time, `project:KEY` or days"),
        (["mon-funday"], "not a day"),
        (["tomorrow"], "not a time"),
        ([f"project:P{i}" for i in range(21)], "at most 20"),
    ],
)
def test_parse_subscribe_refuses(args: list[str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_subscribe(args)


def test_time_and_day_helpers() -> None:
    assert parse_time(" 0:00 ") == "00:00"
    assert parse_time("23:59") == "23:59"
    for bad in ("24:00", "9", "09:5", "٠٩:٠٠", "9:00am"):
        with pytest.raises(InvalidInput):
            parse_time(bad)
    assert parse_weekdays("sun-sun") == [6]
    assert parse_weekdays("sat-tue") == [0, 1, 5, 6]


DAY_NAMES = [
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "monday",
    "friday",
    "daily",
    "weekdays",
    "weekends",
]
times = st.builds(lambda h, m: f"{h}:{m:02d}", st.integers(0, 23), st.integers(0, 59))
days = st.lists(st.sampled_from(DAY_NAMES), min_size=1, max_size=4).map(",".join)
projects = st.lists(st.from_regex(r"[A-Z][A-Z0-9_]{0,9}", fullmatch=True), max_size=4)


@given(time=st.none() | times, day_text=st.none() | days, keys=projects, order=st.randoms())
def test_any_valid_combination_in_any_order(
    time: str | None, day_text: str | None, keys: list[str], order: object
) -> None:
    args = [f"project:{k}" for k in keys] + [t for t in (time, day_text) if t]
    order.shuffle(args)  # type: ignore[attr-defined]
    request = parse_subscribe(args)
    expected_time = f"{int(time.split(':')[0]):02d}:{time.split(':')[1]}" if time else "09:00"
    assert request.time == expected_time
    assert sorted(request.projects) == sorted(set(keys))
    assert request.weekdays == (parse_weekdays(day_text) if day_text else [0, 1, 2, 3, 4])
    assert request.weekdays == sorted(set(request.weekdays))
    assert all(0 <= d <= 6 for d in request.weekdays)


@given(args=st.lists(st.text(max_size=30), max_size=6))
def test_parse_subscribe_never_fails_otherwise(args: list[str]) -> None:
    try:
        request = parse_subscribe(args)
    except InvalidInput:
        return
    assert len(request.time) == 5
    assert request.weekdays
