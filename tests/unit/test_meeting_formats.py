"""Meeting notes files as text: .txt/.md as written, .vtt/.srt captions without their timing; total parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InvalidInput
from core.meetings.formats import MAX_BYTES, format_of, read_notes

VTT = b"""WEBVTT - Weekly sync
Kind: captions

NOTE This transcript was generated
by the meeting tool.

STYLE
::cue { color: white }

1
00:00:01.000 --> 00:00:04.000
<v Alice Smith>Welcome everyone, let's start

2
00:00:04.000 --> 00:00:07.500 align:start
<v Alice Smith>with the release.</v>

00:00:08.000 --> 00:00:10.000
<v Bob>I'll update the runbook &amp; the <i>alerts</i> by Friday.

00:00:10.000 --> 00:00:12.000
Carol: Sounds good.
Thanks <00:00:11.000>all.
"""

SRT = b"""1
00:00:01,000 --> 00:00:04,000
Alice: Welcome everyone.

2
00:00:04,000 --> 00:00:06,000
Alice: Bob will send the deck.

3
00:00:06,500 --> 00:00:08,000
Bob: Sure,
by Monday.
"""


def test_vtt_keeps_speakers_and_words_only() -> None:
    text = read_notes("weekly.vtt", VTT)
    assert text.split("\n") == [
        "Alice Smith: Welcome everyone, let's start with the release.",
        "Bob: I'll update the runbook & the alerts by Friday.",
        "Carol: Sounds good. Thanks all.",
    ]
    assert "-->" not in text
    assert "WEBVTT" not in text
    assert "NOTE" not in text
    assert "cue" not in text


def test_srt_drops_indices_and_timings_and_merges_a_speaker() -> None:
    assert read_notes("standup.SRT", SRT).split("\n") == [
        "Alice: Welcome everyone. Bob will send the deck.",
        "Bob: Sure, by Monday.",
    ]


def test_srt_without_speakers_keeps_one_line_per_cue() -> None:
    data = b"1\n00:00:01,000 --> 00:00:02,000\nFirst line\n\n2\n00:00:02,000 --> 00:00:03,000\nSecond line\n"
    assert read_notes("x.srt", data) == "First line\nSecond line"


def test_text_and_markdown_are_kept_as_written() -> None:
    notes = "# Sprint planning\n\n- [ ] Bob: fix the login bug\r\n- Decisions: ship Friday\n"
    assert (
        read_notes("notes.md", notes.encode())
        == "# Sprint planning\n\n- [ ] Bob: fix the login bug\n- Decisions: ship Friday"
    )
    assert read_notes("notes.txt", "\ufeffcafé notes".encode()) == "café notes"
    assert read_notes("notes.markdown", b"hello") == "hello"


@pytest.mark.parametrize("name", ["notes.pdf", "notes.docx", "notes", "vtt", "archive.vtt.zip", ""])
def test_other_formats_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match=r"\.txt, \.md, \.vtt or \.srt"):
        read_notes(name, b"text")


def test_big_or_empty_files_are_refused() -> None:
    with pytest.raises(InvalidInput, match="over 1 MB"):
        read_notes("big.txt", b"a" * (MAX_BYTES + 1))
    with pytest.raises(InvalidInput, match="no text"):
        read_notes("empty.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n\n")
    assert format_of(" Notes.VTT ") == "vtt"


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(["a.txt", "a.md", "a.vtt", "a.srt", "a.pdf", "x"]) | st.text(max_size=30),
    data=st.binary(max_size=3000),
)
def test_any_bytes_give_text_or_invalid_input(name: str, data: bytes) -> None:
    try:
        text = read_notes(name, data)
    except InvalidInput:
        return
    assert isinstance(text, str)
    assert text == text.strip()
    assert text


caption_line = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60) | st.sampled_from(
    ["WEBVTT", "NOTE x", "00:00:01.000 --> 00:00:02.000", "<v Bob>hi", "1", "", "Alice: ok"]
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(caption_line, max_size=40), kind=st.sampled_from(["vtt", "srt"]))
def test_caption_like_input_never_raises_anything_else(lines: list[str], kind: str) -> None:
    data = "\n".join(lines).encode("utf-8", errors="ignore")
    try:
        text = read_notes("t." + kind, data)
    except InvalidInput:
        return
    assert text == text.strip()
    assert text
