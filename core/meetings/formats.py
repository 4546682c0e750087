"""Meeting notes and transcripts as plain text: .txt and .md as written, .vtt and .srt captions as lines of
``Speaker: what they said``.

Caption files are mostly timing: cue numbers, ``00:01:02.000 --> 00:01:05.000`` lines, WEBVTT headers and
NOTE/STYLE blocks say nothing about the meeting and would only dilute search, so they go. A speaker's
consecutive cues become one line, so a sentence split across captions reads as one. The reader is total:
any bytes give text or ``InvalidInput``, never another exception (tests/unit/test_meeting_formats.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import InvalidInput

MAX_BYTES = 1_000_000
FORMATS = ("txt", "md", "vtt", "srt")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TIMING = re.compile(r"-->")
_INDEX = re.compile(r"^\d{1,9}$")
_VOICE = re.compile(r"^<v(?:\.[^\s>]*)?\s+([^>]{1,80})>(.*)$", re.IGNORECASE)
_TAG = re.compile(r"</?[a-z][^<>]{0,80}>|<\d{1,2}:\d{2}(?::\d{2})?[.,]\d{1,3}>", re.IGNORECASE)
_SPEAKER = re.compile(r"^([^\s:][^:]{0,39}):\s+(\S.*)$")
_VTT_BLOCKS = ("NOTE", "STYLE", "REGION")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&nbsp;": " ", "&lrm;": "", "&rlm;": ""}


def format_of(filename: str) -> str:
    """The notes format from a file name (``txt``, ``md``, ``vtt``, ``srt``); ``InvalidInput`` otherwise."""
    name = filename.strip().lower()
    extension = name.rsplit(".", 1)[-1] if "." in name else ""
    if extension == "markdown":
        extension = "md"
    if extension not in FORMATS:
        raise InvalidInput("I can read meeting notes as .txt, .md, .vtt or .srt files.")
    return extension


def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark; undecodable bytes replaced), newlines normalised."""
    text = data.decode("utf-8-sig", errors="replace")
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def read_notes(filename: str, data: bytes) -> str:
    """The text of a notes or transcript file; ``InvalidInput`` for other formats, over 1 MB, or no text."""
    kind = format_of(filename)
    if len(data) > MAX_BYTES:
        raise InvalidInput("That file is over 1 MB; share the notes in smaller parts.")
    text = decode(data)
    if kind in ("vtt", "srt"):
        text = captions_text(text, webvtt=kind == "vtt")
    text = text.strip()
    if not text:
        raise InvalidInput("That file has no text in it.")
    return text


@dataclass
class _Line:
    speaker: str | None
    text: str


def _unescape(text: str) -> str:
    for entity, value in _ENTITIES.items():
        text = text.replace(entity, value)
    return text


def _cue_lines(lines: list[str]) -> list[_Line]:
    """A cue's text lines with their speakers (``<v Name>`` or ``Name:``); unnamed lines continue the last."""
    found: list[_Line] = []
    for raw in lines:
        speaker: str | None = None
        line = raw.strip()
        voice = _VOICE.match(line)
        if voice:
            speaker, line = voice.group(1).strip(), voice.group(2)
        line = " ".join(_unescape(_TAG.sub("", line)).split())
        if not line:
            continue
        named = _SPEAKER.match(line) if speaker is None else None
        if named:
            speaker, line = named.group(1).strip(), named.group(2).strip()
        if speaker is None and found:
            found[-1].text += " " + line
        else:
            found.append(_Line(speaker, line))
    return found


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in text.split("\n"):
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _cue_text(block: list[str], webvtt: bool) -> list[str] | None:
    """The text lines of one caption block; None for a block that is no cue (header, NOTE, STYLE)."""
    head = block[0].strip()
    if webvtt and (head.startswith("WEBVTT") or head.split(" ", 1)[0] in _VTT_BLOCKS):
        return None
    timing = next((i for i, line in enumerate(block[:3]) if _TIMING.search(line)), None)
    if timing is not None:
        return block[timing + 1 :]
    if not webvtt and _INDEX.match(head):
        return block[1:]
    return block


def captions_text(text: str, *, webvtt: bool) -> str:
    """WebVTT or SubRip captions as ``Speaker: text`` lines, a named speaker's consecutive cues merged (cues
    without a speaker stay lines of their own)."""
    merged: list[_Line] = []
    for block in _blocks(text):
        cue = _cue_text(block, webvtt)
        if not cue:
            continue
        for line in _cue_lines(cue):
            last = merged[-1] if merged else None
            if last is not None and line.speaker is not None and line.speaker == last.speaker:
                last.text += " " + line.text
            else:
                merged.append(line)
    return "\n".join((line.speaker + ": " if line.speaker else "") + line.text for line in merged)
