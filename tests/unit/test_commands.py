"""bot.commands.parse_pm: whatever a user types, the parser answers with a command or InvalidInput."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import MAX_COMMAND_TEXT, PmCommand, first_word, parse_pm
from core.errors import InvalidInput

words = st.text(
    alphabet=st.characters(exclude_categories=("Cs", "Zs", "Cc", "Zl", "Zp"), exclude_characters="\"'\\"),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.text(max_size=300),
        st.text(alphabet=st.characters(exclude_categories=()), max_size=300),  # lone surrogates too
        st.text(min_size=MAX_COMMAND_TEXT - 5, max_size=MAX_COMMAND_TEXT + 5),
    )
)
def test_never_raises_anything_but_invalid_input(text: str | None) -> None:
    try:
        command = parse_pm(text)
    except InvalidInput:
        return
    assert isinstance(command, PmCommand)
    assert command.sub == command.sub.lower()
    assert not any(ch.isspace() for ch in command.sub)
    assert len(command.sub) <= 64


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=200))
def test_sub_is_the_lower_cased_first_word(text: str) -> None:
    command = parse_pm(text)
    parts = text.split(maxsplit=1)
    assert command.sub == (parts[0].lower()[:64] if parts else "")
    assert command.sub == first_word(text)[:64]
    assert command.rest == (parts[1].strip() if len(parts) > 1 else "")
    assert not any(ch.isspace() for ch in command.sub)


@given(st.lists(words, min_size=1, max_size=8))
def test_plain_words_round_trip(parts: list[str]) -> None:
    command = parse_pm(" ".join(parts))
    assert command.sub == parts[0].lower()[:64]
    assert command.args == parts[1:]


@settings(max_examples=20)
@given(st.integers(min_value=MAX_COMMAND_TEXT + 1, max_value=MAX_COMMAND_TEXT * 3))
def test_text_over_the_limit_is_refused(length: int) -> None:
    with pytest.raises(InvalidInput, match="too long"):
        parse_pm("search " + "x" * (length - 7))


def test_text_at_the_limit_is_accepted() -> None:
    assert parse_pm("s " + "x" * (MAX_COMMAND_TEXT - 2)).sub == "s"


def test_surrounding_whitespace_does_not_count_towards_the_limit() -> None:
    assert parse_pm("  help  " + " " * MAX_COMMAND_TEXT).sub == "help"


@given(st.text(max_size=50), st.text(max_size=50))
def test_nul_is_refused(before: str, after: str) -> None:
    with pytest.raises(InvalidInput):
        parse_pm(before + "\x00" + after)


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_empty_text_is_the_empty_command(text: str | None) -> None:
    assert parse_pm(text) == PmCommand(sub="", args=[], rest="")


def test_quotes_group_words() -> None:
    command = parse_pm("Search \"login page\" 'on mobile' fast")
    assert command.sub == "search"
    assert command.args == ["login page", "on mobile", "fast"]
    assert command.rest == "\"login page\" 'on mobile' fast"


def test_unbalanced_quote_falls_back_to_plain_words() -> None:
    command = parse_pm('todo add "fix the login page')
    assert command.sub == "todo"
    assert command.args == ["add", '"fix', "the", "login", "page"]


def test_sub_is_lower_cased_but_args_keep_their_case() -> None:
    command = parse_pm("STATUS PAY Ops")
    assert command.sub == "status"
    assert command.args == ["PAY", "Ops"]


@pytest.mark.parametrize("text", ["\ud800", "search \udfff", "STATUS\ud83d"])
def test_lone_surrogates_are_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_pm(text)


@pytest.mark.parametrize("text", ["search\nlogin bug", "search\tlogin bug"])
def test_any_whitespace_ends_the_sub_command(text: str) -> None:
    assert parse_pm(text).sub == "search"
    assert first_word(text) == "search"
