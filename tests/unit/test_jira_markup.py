"""core.jira.markup: Slack text as ADF and as wiki markup, read back with core.jira.text's converters."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.jira.markup import slack_to_text, text_to_adf, text_to_wiki, wiki_escape
from core.jira.text import _tidy, adf_to_text, wiki_to_text

MESSAGE = (
    "Checkout fails for *some* cards &amp; the retry <https://status.example.com/x?a=1&amp;b=2|status page> "
    "says so.\nSee <https://grafana.example.com/d/abc> and ask <@U024BE7LH> in <#C0PAY|payments>, "
    "<!here>.\n\n"
    "Steps:\n- open {code:java}\n- pay [~bob] h1. now\n\nhttps://example.com/trace_id-42."
)
PLAIN = (
    "Checkout fails for *some* cards & the retry status page (https://status.example.com/x?a=1&b=2) "
    "says so.\nSee https://grafana.example.com/d/abc and ask @U024BE7LH in #payments, @here.\n\n"
    "Steps:\n- open {code:java}\n- pay [~bob] h1. now\n\nhttps://example.com/trace_id-42."
)


def valid_adf(node: Any) -> None:
    """Jira Cloud's rules that matter here: typed nodes, non-empty text, no newlines inside text."""
    assert isinstance(node, dict)
    assert isinstance(node["type"], str)
    if node["type"] == "text":
        assert node["text"]
        assert "\n" not in node["text"]
    for child in node.get("content", []):
        valid_adf(child)


def test_a_slack_message_as_adf() -> None:
    doc = text_to_adf(MESSAGE)
    valid_adf(doc)
    assert doc["type"] == "doc"
    assert doc["version"] == 1
    assert [p["type"] for p in doc["content"]] == ["paragraph"] * 3
    first = doc["content"][0]["content"]
    link = next(n for n in first if n.get("marks"))
    assert link == {
        "type": "text",
        "text": "status page",
        "marks": [{"type": "link", "attrs": {"href": "https://status.example.com/x?a=1&b=2"}}],
    }
    assert {"type": "hardBreak"} in first
    bare = doc["content"][2]["content"]
    assert bare[0]["marks"][0]["attrs"]["href"] == "https://example.com/trace_id-42"
    assert bare[1] == {"type": "text", "text": "."}  # the sentence's full stop is not part of the URL
    assert adf_to_text(doc) == PLAIN


def test_a_slack_message_as_wiki() -> None:
    wiki = text_to_wiki(MESSAGE)
    assert "[status page|https://status.example.com/x?a=1&b=2]" in wiki
    assert "[https://grafana.example.com/d/abc]" in wiki
    assert r"\*some\*" in wiki
    assert r"\{code\:java\}" in wiki  # the colon too: `{code:java\}` would still open a code block
    assert r"\[\~bob\]" in wiki
    assert "\n\\- open" in wiki  # not a bullet
    assert wiki_to_text(wiki) == PLAIN


def test_slack_to_text() -> None:
    assert slack_to_text(MESSAGE) == PLAIN
    assert slack_to_text(
        "<@U1|alice> and <#C1> and <!subteam^S1|@oncall> <!date^1392734382^{date}|Feb 18>"
    ) == ("@alice and #C1 and @oncall Feb 18")
    assert (
        slack_to_text("a <b> c <not a link> <ftp://x.example/f>") == "a <b> c <not a link> ftp://x.example/f"
    )


@pytest.mark.parametrize(
    ("text", "wiki"),
    [
        ("snake_case PAY-123 a+b 2026-11-26 x^2", "snake_case PAY-123 a+b 2026-11-26 x^2"),  # inside words
        ("a - b", "a - b"),  # alone between spaces: no markup
        ("- item", r"\- item"),
        ("  * item", r"  \* item"),
        ("# one", r"\# one"),
        ("issue #42", "issue #42"),
        ("h2. Title", r"h2\. Title"),
        ("----", r"\-\-\-\-"),
        ("|a|b|", r"\|a\|b\|"),
        ("{{mono}}", r"\{\{mono\}\}"),
        ("wow! nice!", r"wow\! nice\!"),
        ("Done (x) and (/) and (on)", r"Done \(x) and \(/) and \(on)"),
        ("why??", r"why\?\?"),
        ("C:\\Users\\me", "C:\\Users\\me"),
    ],
)
def test_wiki_escape_only_what_jira_would_read(text: str, wiki: str) -> None:
    assert wiki_escape(text) == wiki
    assert wiki_to_text(wiki) == text.strip()


def test_paragraphs_breaks_and_blank_input() -> None:
    assert text_to_adf("") == {"type": "doc", "version": 1, "content": []}
    assert text_to_adf(" \n\t\n") == {"type": "doc", "version": 1, "content": []}
    assert text_to_wiki("\n\n") == ""
    doc = text_to_adf("one\r\ntwo\r\n \r\n\r\nthree\x00\x07")
    assert doc["content"] == [
        {"type": "paragraph", "content": [
            {"type": "text", "text": "one"}, {"type": "hardBreak"}, {"type": "text", "text": "two"},
        ]},
        {"type": "paragraph", "content": [{"type": "text", "text": "three"}]},
    ]  # fmt: skip
    assert text_to_wiki("one\r\ntwo\n\n\n\nthree") == "one\ntwo\n\nthree"


def test_link_labels_and_urls_are_safe_in_wiki() -> None:
    wiki = text_to_wiki("<https://x.example/a[1]|the [best] *doc*>")
    assert wiki == r"[the \[best\] \*doc\*|https://x.example/a%5B1%5D]"
    assert wiki_to_text(wiki) == "the [best] *doc* (https://x.example/a%5B1%5D)"


def test_urls_keep_balanced_parentheses_and_drop_trailing_punctuation() -> None:
    doc = text_to_adf("(see https://en.wikipedia.org/wiki/Foo_(bar)), or https://x.example/a.")
    hrefs = [n["marks"][0]["attrs"]["href"] for n in doc["content"][0]["content"] if n.get("marks")]
    assert hrefs == ["https://en.wikipedia.org/wiki/Foo_(bar)", "https://x.example/a"]


# --- properties -------------------------------------------------------------------------------------------

# Text people type: any printable character (markup characters often), spaces, tabs and newlines. Backslashes
# are left out of the exact round trip: Jira's `\\` is a line break, so no wiki escaping of them is faithful.
# `<`, `>` and `&` are Slack's syntax and escapes, checked on their own below.
MARKUP = list(" \n\t*_-+^~?{}[]|!#.:()/h1bqcodenfmat@'\",;=")
TYPED = st.text(
    st.one_of(
        st.sampled_from(MARKUP),
        st.characters(
            blacklist_categories=("Cs", "Cc", "Co", "Zl", "Zp", "Zs"), blacklist_characters="<>&\\"
        ),
    ),
    max_size=80,
)


@settings(max_examples=400)
@given(TYPED)
def test_adf_keeps_the_text(text: str) -> None:
    doc = text_to_adf(text)
    valid_adf(doc)
    assert adf_to_text(doc) == _tidy(text)


@settings(max_examples=400)
@given(TYPED)
def test_wiki_keeps_the_text(text: str) -> None:
    assert wiki_to_text(text_to_wiki(text)) == _tidy(text).strip()


WORD = st.text(st.sampled_from(list("abcXYZ019_-*")), min_size=1, max_size=8)
URL = st.builds(lambda host, path: f"https://{host}.example/{path}", WORD.filter(str.isalnum), WORD)


@st.composite
def slack_message(draw: st.DrawFn) -> tuple[str, str]:
    """Slack message text and the plain text it stands for."""
    parts: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["word", "link", "bare", "user", "channel", "amp"]))
        if kind == "word":
            word = draw(WORD)
            parts.append((word, word))
        elif kind == "link":
            url, label = draw(URL), draw(WORD)
            parts.append((f"<{url}|{label}>", f"{label} ({url})" if label != url else url))
        elif kind == "bare":
            url = draw(URL)
            parts.append((f"<{url}>", url))
        elif kind == "user":
            parts.append(("<@U0ABC>", "@U0ABC"))
        elif kind == "channel":
            parts.append(("<#C0DEF|general>", "#general"))
        else:
            parts.append(("&lt;&amp;&gt;", "<&>"))
    return " ".join(p[0] for p in parts), " ".join(p[1] for p in parts)


@settings(max_examples=300)
@given(slack_message())
def test_slack_syntax_becomes_links_and_names(message: tuple[str, str]) -> None:
    text, plain = message
    assert slack_to_text(text) == plain
    assert adf_to_text(text_to_adf(text)) == plain
    assert wiki_to_text(text_to_wiki(text)) == plain


@given(st.text(max_size=200))
def test_any_input_gives_a_document(text: str) -> None:
    doc = text_to_adf(text)
    valid_adf(doc)
    adf_to_text(doc)
    wiki_to_text(text_to_wiki(text))
    slack_to_text(text)
