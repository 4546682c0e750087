"""Action items found by rules, for when no language model is configured (or its answer is unusable).

The rules look for the ways people write down and say commitments in notes and transcripts:

* markers: ``ACTION: …``, ``Action item: …``, ``TODO: …``, ``Next step: …``, ``Follow-up: …``
* open checkboxes: ``- [ ] …`` (``- [x]`` is done, not an action)
* a person committing: ``Bob will …``, ``Bob to …``, ``@bob to …``, ``<@U123> will …``, and ``I'll …`` /
  ``I will …`` by the speaker of a transcript line (``Alice: I'll send the deck``)
* the team: ``we need to …``, ``we have to …``, ``we must …``

Each gives the task, an owner hint (a Slack user ID from a mention, a handle, a name, or none) and a due
hint as written (``by Friday``, ``before 2026-12-01``, ``tomorrow`` → ``Friday``, ``2026-12-01``,
``tomorrow``). Items are deduplicated by their words and capped. The rules favour precision: a sentence
has to start with the commitment, so "the build will fail" or "it is going to rain" are not tasks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.jira.markup import slack_to_text

MAX_ITEMS = 20
MAX_TEXT_CHARS = 300
MAX_LINE_CHARS = 2000


@dataclass(frozen=True)
class ActionItem:
    text: str
    owner_hint: str | None = None  # a Slack user ID (from a mention), a handle or a name
    due_hint: str | None = None  # as written: "Friday", "2026-12-01", "end of week"


_BULLET = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)])\s+")
_STAMP = re.compile(r"^\s*\[?\(?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?\)?\]?\s*")
_MARKER = re.compile(
    r"^(?:\*\*|__|\*|_)?(?:action(?:\s+items?)?|todo|to-do|to\s+do|next\s+steps?|follow[- ]?ups?)"
    r"(?:\s*\((?P<owner>[^()]{1,40})\)|\s+for\s+(?P<for>@?[\w.-]{1,40}))?(?:\*\*|__|\*|_)?\s*[:–—-]\s*"
    r"(?P<rest>\S.*)$",
    re.IGNORECASE,
)
_CHECKBOX = re.compile(r"^\s*(?:[-*•+]\s*)?\[(?P<mark>[ xX]?)\]\s*(?P<rest>\S.*)$")
_SPEAKER = re.compile(r"^(?P<speaker>[A-Z][\w.'-]{0,30}(?: [A-Z][\w.'-]{0,30}){0,2}):\s+(?P<rest>\S.*)$")
_MENTION = r"<@(?P<id>[UW][A-Z0-9]{1,20})(?:\|[^>]{0,80})?>|@(?P<handle>[A-Za-z0-9][\w.-]{0,40})"
_COMMIT = r"(?:will|shall|to|is\s+going\s+to|is\s+to|needs\s+to|has\s+to|can\s+you|please)\s+"
_BY_MENTION = re.compile(r"^(?:" + _MENTION + r")[:,]?\s+" + _COMMIT + r"(?P<task>.+)$")
_BY_NAME = re.compile(
    r"^(?P<name>[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)(?:'ll\s+|,?\s+" + _COMMIT + r")(?P<task>.+)$"
)
_BY_SPEAKER = re.compile(r"^(?:I\s+will|I'll|I\s+am\s+going\s+to|I'm\s+going\s+to)\s+(?P<task>.+)$", re.I)
_BY_TEAM = re.compile(r"^we\s+(?:really\s+)?(?:need\s+to|have\s+to|must)\s+(?P<task>.+)$", re.IGNORECASE)
_ANY_MENTION = re.compile(_MENTION)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z@<])")

_DAYS = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?"
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WHEN = (
    r"(?:(?:next|this|coming)\s+)?" + _DAYS + r"\b(?:\s+(?:morning|afternoon|evening|eod))?"
    r"|tomorrow|today|tonight|eod|eow|cob|end\s+of\s+(?:the\s+)?(?:day|week|month|sprint|quarter)"
    r"|(?:next|this)\s+(?:week|month|sprint)|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    r"|" + _MONTHS + r"\.?\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTHS + r"(?:\s+\d{4})?"
)
_DUE = re.compile(
    r"\b(?:by|before|due(?:\s+(?:on|by))?|until|no\s+later\s+than)\s+(?P<when>" + _WHEN + r")\b",
    re.IGNORECASE,
)
_BARE_DUE = re.compile(
    r"\b(?P<when>tomorrow|tonight|(?:next|this)\s+week|end\s+of\s+(?:the\s+)?(?:day|week))\b", re.IGNORECASE
)

# Capitalised words that start sentences without being anyone's name.
_NOT_NAMES = frozenset(
    re.findall(
        r"\w+",
        """
        it this that there these those he she they we you i who what which when where why how everyone
        everybody someone somebody nobody anyone anybody all both each one nothing something next then
        also and but so now today tomorrow here team plan agreed decided need going want have had try
        time way nice good great happy hard easy the a an if because maybe perhaps yes no ok okay sure
        thanks please let lets hopefully probably definitely action todo note notes update status
        meeting
        """,
    )
)

# First words of what follows "will" that make it a forecast, not a task.
_NOT_TASKS = frozenset(re.findall(r"\w+", "be not never probably likely maybe still have been"))
_FILLER = re.compile(r"^(?:(?:also|then|just|first|quickly)\s+)+", re.IGNORECASE)
_LEAD = re.compile(
    r"^(?:(?:and|so|but|then|also|ok|okay|well|right|yes|yeah|great)\b[,]?\s+)+", re.IGNORECASE
)


@dataclass
class _Found:
    text: str
    owner: str | None


def owner_of(value: str | None) -> str | None:
    """An owner hint in one form: ``<@U123>`` → ``U123``, ``@bob`` → ``bob``, a name as written."""
    if not value:
        return None
    text = value.strip()
    mention = _ANY_MENTION.fullmatch(text)
    if mention:
        return mention.group("id") or mention.group("handle")
    text = " ".join(text.split())
    return text[:80] if text else None


def _task_owner(sentence: str, speaker: str | None) -> _Found | None:
    """The commitment a sentence starts with: its task and owner (not a forecast like "Bob will be out")."""
    found = _commitment(_LEAD.sub("", sentence), speaker)
    if found is None:
        return None
    found.text = _FILLER.sub("", found.text)
    return None if found.text.split(" ", 1)[0].lower() in _NOT_TASKS else found


def _commitment(sentence: str, speaker: str | None) -> _Found | None:
    match = _BY_MENTION.match(sentence)
    if match:
        return _Found(match.group("task"), match.group("id") or match.group("handle"))
    match = _BY_NAME.match(sentence)
    if match and match.group("name").split()[0].lower() not in _NOT_NAMES:
        return _Found(match.group("task"), match.group("name"))
    match = _BY_SPEAKER.match(sentence)
    if match:
        return _Found(match.group("task"), speaker)
    match = _BY_TEAM.match(sentence)
    if match:
        return _Found(match.group("task"), None)
    return None


def _strip(line: str) -> str:
    return _STAMP.sub("", _BULLET.sub("", line, count=1), count=1).strip()


def _marked(sentence: str, speaker: str | None) -> _Found | None:
    """``ACTION: …``, ``TODO (Bob): …``: the rest is a task whatever its form."""
    marker = _MARKER.match(sentence)
    if marker is None:
        return None
    rest = marker.group("rest")
    found = _task_owner(rest, speaker) or _Found(rest, None)
    found.owner = owner_of(marker.group("owner") or marker.group("for")) or found.owner
    return found


def _line_items(raw: str) -> list[_Found]:
    line = raw.strip()[:MAX_LINE_CHARS]
    checkbox = _CHECKBOX.match(line)
    if checkbox:
        if checkbox.group("mark").strip():
            return []  # ticked: done already
        rest = checkbox.group("rest")
        return [_task_owner(rest, None) or _Found(rest, None)]
    line = _strip(line)
    whole = _marked(line, None)
    if whole is not None:
        return [whole]
    speaker: str | None = None
    named = _SPEAKER.match(line)
    if named and named.group("speaker").split()[0].lower() not in _NOT_NAMES:
        speaker, line = named.group("speaker"), named.group("rest")
    found_items = []
    for sentence in _SENTENCE.split(line):
        part = _strip(sentence)
        said = _marked(part, speaker)
        if said is None:
            said = _task_owner(part, speaker)
            said = said if said is not None and len(said.text.split()) >= 2 else None
        if said is not None:
            found_items.append(said)
    return found_items


def due_of(text: str) -> str | None:
    match = _DUE.search(text) or _BARE_DUE.search(text)
    return " ".join(match.group("when").split()) if match else None


def clean_task(text: str) -> str:
    """The task as one readable line: Slack markup undone, no trailing punctuation, a capital first."""
    flat = " ".join(slack_to_text(text).split()).strip(" .;,:!?-–—")
    if len(flat) > MAX_TEXT_CHARS:
        flat = flat[: MAX_TEXT_CHARS - 1].rstrip() + "…"
    return flat[:1].upper() + flat[1:]


def dedupe(items: list[ActionItem], limit: int = MAX_ITEMS) -> list[ActionItem]:
    """Items with the same words once (the first, completed by the others' hints), at most ``limit``."""
    kept: dict[str, ActionItem] = {}
    for item in items:
        key = " ".join(re.findall(r"[a-z0-9]+", item.text.lower()))
        if not key:
            continue
        first = kept.get(key)
        if first is None:
            if len(kept) < limit:
                kept[key] = item
        else:
            kept[key] = ActionItem(
                first.text, first.owner_hint or item.owner_hint, first.due_hint or item.due_hint
            )
    return list(kept.values())


def find_action_items(text: str) -> list[ActionItem]:
    """The action items of notes or a transcript, by rules, in the order they appear."""
    items: list[ActionItem] = []
    for line in text.split("\n"):
        for found in _line_items(line):
            task = clean_task(found.text)
            if task:
                items.append(ActionItem(task, owner_of(found.owner), due_of(found.text)))
    return dedupe(items)
