"""core.jira.text: Jira descriptions (ADF and wiki markup) as clean text, verbatim where it matters."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.jira.text import adf_to_text, description_text, wiki_to_text

# --- wiki markup ---

STACK_TRACE = """\
java.lang.IllegalStateException: ledger 42 already sealed
\tat com.example.billing.LedgerWriter.append(LedgerWriter.java:118)
\tat com.example.billing.InvoiceJob.run(InvoiceJob.java:57)
Caused by: java.io.IOException: *not bold* _not italic_ [not|a link]
\t... 12 more"""

JAVA = """\
public int total(int[] xs) {
    int sum = 0; // x * y, a_b_c and -Xmx1g stay as they are
    for (int x : xs) { sum += x; }
    return sum;
}"""

WIKI = f"""\
h2. Summary
Invoice export fails for *large* tenants after the _nightly_ run; see BILL-1234 and -Dexport.batch=500.

h3. Steps
# Open [the export page|https://billing.example.com/export]
# Pick a tenant with {{{{more than 10k}}}} invoices
## Start the export
* Watch the log at /var/log/billing/*.log
** look for -ERROR- lines

{{noformat}}
{STACK_TRACE}
{{noformat}}

{{code:java}}
{JAVA}
{{code}}

||Tenant||Invoices||Result||
|acme|12,000|(x) fails|
|globex|800|(/) ok|

bq. Blocks the month-end close.
----
{{quote}}It worked in 3.2, [~mkowalski] says.{{quote}}
{{panel:title=Workaround|borderStyle=dashed}}Export per month with [https://billing.example.com/help].{{panel}}
{{color:red}}Urgent{{color}} before +Friday+; see !export-error.png|thumbnail! and ^sup^ or ~sub~ text.
"""


def test_wiki_realistic_description() -> None:
    text = wiki_to_text(WIKI)
    assert text.startswith("Summary\nInvoice export fails for large tenants after the nightly run;")
    assert "see BILL-1234 and -Dexport.batch=500." in text
    assert "- Open the export page (https://billing.example.com/export)" in text
    assert "- Pick a tenant with more than 10k invoices" in text
    assert "  - Start the export" in text
    assert "- Watch the log at /var/log/billing/*.log" in text
    assert "  - look for ERROR lines" in text
    assert STACK_TRACE in text
    assert JAVA in text
    assert "Tenant | Invoices | Result\nacme | 12,000 | (x) fails\nglobex | 800 | (/) ok" in text
    assert "\nBlocks the month-end close." in text
    assert "It worked in 3.2, @mkowalski says." in text
    assert "Export per month with https://billing.example.com/help." in text
    assert "Urgent before Friday; see and sup or sub text." in text
    for leftover in (
        "{code",
        "{noformat",
        "{quote",
        "{panel",
        "{color",
        "h2.",
        "bq.",
        "----",
        "!export",
        "||",
    ):
        assert leftover not in text
    assert "\n\n\n" not in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_preformatted_blocks_stand_apart_from_prose() -> None:
    text = wiki_to_text("The job dies:{noformat}at A.b(A.java:1){noformat}then retries.")
    assert text == "The job dies:\n\nat A.b(A.java:1)\n\nthen retries."


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("h1. Title", "Title"),
        ("h6.Tiny", "Tiny"),
        ("*bold* and _italic_ and -strike- and +under+", "bold and italic and strike and under"),
        ("a ^note^ and ~low~ and {{conf.get()}}", "a note and low and conf.get()"),
        ("({{a}}) *b*, _c_.", "(a) b, c."),
        ("*_both_*", "both"),
        ("[Design doc|https://docs.example.com/d/1]", "Design doc (https://docs.example.com/d/1)"),
        ("[https://example.com/a?b=c]", "https://example.com/a?b=c"),
        ("[https://example.com|https://example.com]", "https://example.com"),
        ("[mailto:ops@example.com]", "mailto:ops@example.com"),
        (
            "ping [~jdoe] and [~accountid:5b10a2844c20165700ede21g]",
            "ping @jdoe and @5b10a2844c20165700ede21g",
        ),
        ("[Ann Lee|~alee]", "Ann Lee (@alee)"),
        ("See [^trace.log].", "See trace.log."),
        ("before !diagram.png! after", "before after"),
        ("!https://cdn.example.com/x.gif|width=300!", ""),
        ("||a||b||\n|1|2|", "a | b\n1 | 2"),
        ("|cell with [link|https://e.com]|x|", "cell with link (https://e.com) | x"),
        (
            "* one\n** two\n*** three\n# four\n#* five\n- six",
            "- one\n  - two\n    - three\n- four\n  - five\n- six",
        ),
        ("bq. quoted", "quoted"),
        ("above\n----\nbelow", "above\n\nbelow"),
        ("first \\\\second\\\\ third\\\\", "first\nsecond\nthird"),
        ("\\*literal stars\\* and \\[brackets\\]", "*literal stars* and [brackets]"),
        ("C:\\\\Program Files\\\\app", "C:\\Program Files\\app"),
        ("(/) done (x) failed (!) warn (?) :)", "(/) done (x) failed (!) warn (?) :)"),
        ("a\n\n\n\n\nb   \n", "a\n\nb"),
        ("line\r\nnext\rlast", "line\nnext\nlast"),
        ("{{code}} is monospace", "code is monospace"),
        ("{code:title=Foo.java|borderStyle=solid}\nFoo f;\n{code}", "Foo f;"),
        ("{CODE}\nshout\n{CODE}", "shout"),
        ("{code:xml}<a/>{code:xml}", "<a/>"),
        ("intro {noformat}\nrest is unclosed *raw*", "intro\n\nrest is unclosed *raw*"),
        ("lone tag {noformat} runs to the end", "lone tag\n\n runs to the end"),
        ("{code}{code}", ""),
    ],
)
def test_wiki_constructs(markup: str, expected: str) -> None:
    assert wiki_to_text(markup) == expected


@pytest.mark.parametrize(
    "unchanged",
    [
        "a_b_c and snake_case_name and __init__",
        "HDFS-1234 blocks YARN-99 and 2024-06-15",
        "run with -Xmx1g -Xms512m -XX:+UseG1GC",
        "x * y * z and 2*3*4",
        "/usr/lib/*/conf/* and ~/.ssh/config~",
        "*.java,*.xml",
        "C++ and a + b + c and i++",
        "hadoop fs -ls -R /data",
        "${hadoop.tmp.dir}/dfs and {placeholder}",
        "ratio 1^2 and a^b and x~y",
        "Hello! World! Really!",
        "array[0] and [INFO] and [a|b",
        "email@example.com and http://example.com/a_b_c/d-e-f",
    ],
)
def test_wiki_leaves_lookalikes_alone(unchanged: str) -> None:
    assert wiki_to_text(unchanged) == unchanged


@pytest.mark.parametrize("empty", [None, "", "   ", "\n\n", "----", "{noformat}{noformat}"])
def test_wiki_empty(empty: str | None) -> None:
    assert wiki_to_text(empty) == ""


# --- Atlassian Document Format ---


def text(value: str, *marks: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def para(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def item(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "listItem", "content": list(content)}


def link(href: str) -> dict[str, Any]:
    return {"type": "link", "attrs": {"href": href}}


def cell(kind: str, *content: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "attrs": {}, "content": [para(*content)]}


ADF = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [text("Checkout times out")]},
        para(
            text("Since "),
            text("release 4.2", {"type": "strong"}),
            text(" the "),
            text("payment ", link("https://pay.example.com/status"), {"type": "em"}),
            text("gateway", link("https://pay.example.com/status")),
            text(" answers slowly; "),
            {"type": "mention", "attrs": {"id": "5b10ac8d82e05b22cc7d4ef5", "text": "@Priya Shah"}},
            text(" please look. Tracked in "),
            {"type": "inlineCard", "attrs": {"url": "https://jira.example.com/browse/PAY-88"}},
            text("."),
            {"type": "hardBreak"},
            text("Config: "),
            text("timeout_ms", {"type": "code"}),
            text(" "),
            {"type": "emoji", "attrs": {"shortName": ":fire:", "id": "1f525", "text": "🔥"}},
        ),
        {
            "type": "orderedList",
            "attrs": {"order": 1},
            "content": [
                item(
                    para(text("Add an item to the cart")),
                    {
                        "type": "bulletList",
                        "content": [item(para(text("any SKU works"))), item(para(text("even free ones")))],
                    },
                ),
                item(para(text("Pay with a saved card"))),
            ],
        },
        {
            "type": "codeBlock",
            "attrs": {"language": "python"},
            "content": [
                text("def pay(card):\n    return gateway.charge(card, timeout=30)  # *not* bold\n\n\nretry()")
            ],
        },
        {
            "type": "table",
            "attrs": {"layout": "default"},
            "content": [
                {
                    "type": "tableRow",
                    "content": [cell("tableHeader", text("Region")), cell("tableHeader", text("p99"))],
                },
                {
                    "type": "tableRow",
                    "content": [cell("tableCell", text("eu-west")), cell("tableCell", text("31 s"))],
                },
            ],
        },
        {"type": "rule"},
        {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "abc", "type": "file"}}]},
        {
            "type": "panel",
            "attrs": {"panelType": "warning"},
            "content": [para(text("Due "), {"type": "date", "attrs": {"timestamp": "1718409600000"}})],
        },
        {"type": "blockquote", "content": [para(text("Customers see a spinner."))]},
        {"type": "expand", "attrs": {"title": "Raw logs"}, "content": [para(text("none kept"))]},
        {"type": "blockCard", "attrs": {"url": "https://status.example.com/incidents/7"}},
        para(text("State: "), {"type": "status", "attrs": {"text": "BLOCKED", "color": "red"}}),
    ],
}

ADF_TEXT = """\
Checkout times out

Since release 4.2 the payment gateway (https://pay.example.com/status) answers slowly; @Priya Shah please \
look. Tracked in https://jira.example.com/browse/PAY-88.
Config: timeout_ms :fire:

1. Add an item to the cart
   - any SKU works
   - even free ones
2. Pay with a saved card

def pay(card):
    return gateway.charge(card, timeout=30)  # *not* bold

retry()

Region | p99
eu-west | 31 s

Due 2024-06-15

Customers see a spinner.

Raw logs

none kept

https://status.example.com/incidents/7

State: BLOCKED"""


def test_adf_realistic_description() -> None:
    assert adf_to_text(ADF) == ADF_TEXT


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (para(text("docs", link("https://d.example.com"))), "docs (https://d.example.com)"),
        (para(text("https://d.example.com", link("https://d.example.com"))), "https://d.example.com"),
        (para(text(" ", link("https://d.example.com"))), "https://d.example.com"),
        (para(text("x", {"type": "link"})), "x"),
        (para({"type": "mention", "attrs": {"id": "557058:f00"}}), "@557058:f00"),
        (para({"type": "emoji", "attrs": {"text": "🙂"}}), "🙂"),
        (para({"type": "date", "attrs": {"timestamp": "not a number"}}), ""),
        (para({"type": "date", "attrs": {"timestamp": "9" * 30}}), ""),
        (
            {"type": "orderedList", "attrs": {"order": 7}, "content": [item(para(text("seventh")))]},
            "7. seventh",
        ),
        (
            {"type": "bulletList", "content": [item(para(text("a")), para(text("b")))]},
            "- a\n  b",
        ),
        (
            {
                "type": "taskList",
                "content": [{"type": "taskItem", "attrs": {"state": "TODO"}, "content": [text("t")]}],
            },
            "- [ ] t",
        ),
        ({"type": "nestedExpand", "attrs": {}, "content": [para(text("body"))]}, "body"),
        ({"type": "mediaGroup", "content": [{"type": "media"}]}, ""),
        ({"type": "futureNode", "content": [para(text("inside"))]}, "inside"),
        (
            {
                "type": "table",
                "content": [{"type": "tableRow", "content": [cell("tableCell", text("a\nb"))]}],
            },
            "a b",
        ),
    ],
)
def test_adf_constructs(node: dict[str, Any], expected: str) -> None:
    assert adf_to_text({"type": "doc", "content": [node]}) == expected


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (None, ""),
        ("already text", "already text"),
        ({}, ""),
        ({"type": "doc"}, ""),
        ({"type": "doc", "content": None}, ""),
        ({"type": "doc", "content": "not a list"}, ""),
        ({"type": "doc", "content": [None, 3, "x", [], para()]}, ""),
        (
            {"type": "doc", "content": [para({"type": "text"}, {"type": "text", "text": None}, text("ok"))]},
            "ok",
        ),
        ({"type": "doc", "content": [{"type": "paragraph", "content": [text("a")], "attrs": "bad"}]}, "a"),
        ({"type": "doc", "content": [{"type": "mention", "attrs": None}]}, ""),
        ({"type": "doc", "content": [{"content": [text("no type")]}]}, "no type"),
        ({"type": "doc", "content": [{"type": "text", "text": "loose", "marks": "bad"}]}, "loose"),
        ([para(text("a list of nodes"))], "a list of nodes"),
        (42, ""),
    ],
)
def test_adf_malformed(doc: Any, expected: str) -> None:
    assert adf_to_text(doc) == expected


def test_adf_deep_nesting_does_not_recurse_forever() -> None:
    doc: dict[str, Any] = para(text("bottom"))
    for _ in range(5000):
        doc = {"type": "blockquote", "content": [doc]}
    assert adf_to_text({"type": "doc", "content": [doc]}) == ""


# --- dispatch ---


def test_description_text_dispatches_on_shape() -> None:
    assert description_text(ADF) == ADF_TEXT
    assert description_text("*done*") == "done"
    assert description_text(None) == ""
    assert description_text(12) == ""


# --- properties ---

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["type", "content", "text", "attrs", "marks", "x"]), children, max_size=4
        )
    ),
    max_leaves=30,
)
NODE_TYPES = st.sampled_from(
    [
        "doc",
        "paragraph",
        "text",
        "bulletList",
        "orderedList",
        "listItem",
        "table",
        "tableRow",
        "tableCell",
        "codeBlock",
        "mention",
        "date",
        "expand",
        "mediaSingle",
        "hardBreak",
        "bogus",
    ]
)
ADF_NODES = st.recursive(
    st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=10)}),
    lambda children: st.fixed_dictionaries(
        {"type": NODE_TYPES, "content": st.lists(children, max_size=4)},
        optional={
            "attrs": st.dictionaries(
                st.sampled_from(["text", "url", "timestamp", "order", "id"]), JSON, max_size=2
            )
        },
    ),
    max_leaves=25,
)


@given(st.text())
def test_wiki_never_raises(markup: str) -> None:
    assert isinstance(wiki_to_text(markup), str)
    assert isinstance(description_text(markup), str)


@given(JSON | ADF_NODES)
def test_adf_never_raises(value: Any) -> None:
    out = description_text(value)
    assert isinstance(out, str)
    if isinstance(value, dict):
        assert out == out.strip("\n")
        assert "\n\n\n" not in out
        assert not any(line.endswith((" ", "\t")) for line in out.split("\n"))


PROSE = st.text(
    alphabet=st.characters(codec="ascii", categories=("L", "N", "P", "S", "Zs"), exclude_characters="{}\\"),
    max_size=30,
)
VERBATIM_LINE = st.text(
    alphabet=st.characters(codec="ascii", categories=("L", "N", "P", "S"), exclude_characters="{}"),
    min_size=1,
    max_size=30,
)
INLINE = st.one_of(
    PROSE,
    st.sampled_from(
        [
            "*bold*",
            "_it_",
            "{{mono}}",
            "[x|https://e.com]",
            "{color:red}r{color}",
            "{quote}",
            "h3. H",
            "* item",
            "|a|b|",
            "!i.png!",
        ]
    ),
)


@st.composite
def balanced_wiki(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Prose and inline markup around closed ``{code}``/``{noformat}`` blocks, and the blocks' bodies."""
    pieces: list[str] = []
    bodies: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            opening, closing = draw(
                st.sampled_from(
                    [("{code}", "{code}"), ("{code:java}", "{code}"), ("{noformat}", "{noformat}")]
                )
            )
            body = "\n".join(draw(st.lists(VERBATIM_LINE, min_size=1, max_size=3)))
            bodies.append(body)
            pieces.append(f"{opening}\n{body}\n{closing}")
        else:
            pieces.append(draw(INLINE))
    separators = draw(
        st.lists(st.sampled_from([" ", "\n", "\n\n"]), min_size=len(pieces), max_size=len(pieces))
    )
    return "".join(piece + sep for piece, sep in zip(pieces, separators, strict=True)), bodies


@given(balanced_wiki())
def test_balanced_macros_leave_no_tags_and_keep_bodies(case: tuple[str, list[str]]) -> None:
    markup, bodies = case
    out = wiki_to_text(markup)
    assert "{code" not in out
    assert "{noformat" not in out
    for body in bodies:
        assert body.rstrip() in out


# --- performance guard ---


@pytest.mark.parametrize(
    "pathological",
    [
        "*a_b " * 40_000,
        "*_" * 100_000,
        "*_-+^~{}[]|!.\\/ " * 12_500,
        "{{" * 100_000,
        "[|" * 100_000,
        "!a." * 70_000,
        "|" + "||a" * 70_000,
        "\\" * 200_000,
        "{code}" * 35_000,
        "{code:" * 35_000,
        "* a *b* _c_\n" * 20_000,
        "{{" + "a" * 200_000,
        "[" + "a" * 100_000 + "|" + "b" * 100_000,
    ],
)
def test_long_pathological_input_converts(pathological: str) -> None:
    assert isinstance(description_text(pathological), str)
