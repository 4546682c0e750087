"""The JQL subset LocalJira understands, parsed strictly like Jira (anything else is a 400)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.localjira.common import _bad_request, _JiraError

_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>>=|<=|!=|!~|=|>|<|~)
      | (?P<punct>[(),])
      | (?P<word>[^\s()",'=<>!~]+)
    )""",
    re.VERBOSE,
)
_FIELD_ALIASES = {
    "project": "project",
    "updated": "updated",
    "updateddate": "updated",
    "key": "key",
    "issuekey": "key",
    "issue": "key",
}


@dataclass(frozen=True)
class _Token:
    kind: str  # string | op | punct | word | end
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


@dataclass(frozen=True)
class _Jql:
    """A parsed query, before project and key values are resolved against the data."""

    projects: tuple[tuple[str, ...], ...] = ()  # one tuple per clause; clauses intersect
    keys: tuple[tuple[str, ...], ...] = ()
    lo: int | None = None  # updated >= lo (inclusive, epoch ms)
    hi: int | None = None  # updated < hi (exclusive)
    order: tuple[tuple[str, bool], ...] = ()  # (field, descending)

    @property
    def bounded(self) -> bool:
        return bool(self.projects or self.keys) or self.lo is not None or self.hi is not None


@dataclass(frozen=True)
class _Query:
    """A query resolved against the current data: hashable, so results can be cached per data version."""

    projects: frozenset[str] | None
    keys: frozenset[str] | None
    lo: int | None
    hi: int | None
    order: tuple[tuple[str, bool], ...]


def _tokenize(jql: str) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(jql):
        if not jql[pos:].strip():
            break
        match = _TOKEN_RE.match(jql, pos)
        if match is None or match.lastgroup is None:
            raise _jql_error(f"The character '{jql[pos:].lstrip()[0]}' is a reserved JQL character", pos)
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "string":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        tokens.append(_Token(kind, text, match.start(kind)))
        pos = match.end()
    tokens.append(_Token("end", "", len(jql)))
    return tokens


def _jql_error(detail: str, pos: int) -> _JiraError:
    return _bad_request(f"Error in the JQL Query: {detail} (line 1, character {pos + 1})")


class _JqlParser:
    """Strict parser for the subset the sync needs: AND-joined project/key/updated clauses + ORDER BY."""

    def __init__(self, jql: str) -> None:
        self._tokens = _tokenize(jql)
        self._i = 0
        self._projects: list[tuple[str, ...]] = []
        self._keys: list[tuple[str, ...]] = []
        self._lo: int | None = None
        self._hi: int | None = None

    def _peek(self) -> _Token:
        return self._tokens[self._i]

    def _next(self) -> _Token:
        token = self._tokens[self._i]
        self._i += 1
        return token

    def parse(self) -> _Jql:
        order: tuple[tuple[str, bool], ...] = ()
        if self._peek().kind != "end" and self._peek().upper != "ORDER":
            self._clause()
            while (token := self._peek()).upper == "AND":
                self._next()
                self._clause()
            if token.upper == "OR":
                raise _jql_error("LocalJira supports only AND between clauses, not 'OR'", token.pos)
        if self._peek().upper == "ORDER":
            order = self._order_by()
        token = self._peek()
        if token.kind != "end":
            raise _jql_error(f"Expecting either 'OR' or 'AND' but got '{token.text}'.", token.pos)
        return _Jql(tuple(self._projects), tuple(self._keys), self._lo, self._hi, order)

    def _field(self) -> str:
        token = self._next()
        if token.kind not in ("word", "string"):
            raise _jql_error(f"Expecting a field name but got '{token.text or 'end of query'}'.", token.pos)
        name = _FIELD_ALIASES.get(token.text.lower())
        if name is None:
            raise _jql_error(
                f"LocalJira supports only the fields project, key and updated; got '{token.text}'.",
                token.pos,
            )
        return name

    def _clause(self) -> None:
        name = self._field()
        op = self._next()
        if op.upper == "IN":
            if name == "updated":
                raise _jql_error("The operator 'in' is not supported by the 'updated' field.", op.pos)
            values = self._list()
        elif op.kind == "op" and op.text == "=" and name != "updated":
            values = (self._value(),)
        elif op.kind == "op" and op.text in ("=", ">=", ">", "<=", "<") and name == "updated":
            self._updated(op.text, self._value(), op.pos)
            return
        else:
            got = op.text or "end of query"
            raise _jql_error(f"LocalJira does not support the operator '{got}' for field '{name}'.", op.pos)
        (self._projects if name == "project" else self._keys).append(values)

    def _value(self) -> str:
        token = self._next()
        if token.kind not in ("word", "string") or (token.kind == "word" and token.upper in ("AND", "OR")):
            raise _jql_error(f"Expecting a value but got '{token.text or 'end of query'}'.", token.pos)
        return token.text

    def _list(self) -> tuple[str, ...]:
        token = self._next()
        if token.text != "(":
            raise _jql_error(f"Expecting '(' but got '{token.text or 'end of query'}'.", token.pos)
        values = [self._value()]
        while (token := self._next()).text == ",":
            values.append(self._value())
        if token.text != ")":
            raise _jql_error(f"Expecting ')' or ',' but got '{token.text or 'end of query'}'.", token.pos)
        return tuple(values)

    def _updated(self, op: str, value: str, pos: int) -> None:
        if not value.isdigit():
            raise _jql_error(
                f"Date value '{value}' for field 'updated' is invalid: LocalJira accepts epoch milliseconds.",
                pos,
            )
        ms = int(value)
        lo = {">=": ms, ">": ms + 1, "=": ms}.get(op)
        hi = {"<": ms, "<=": ms + 1, "=": ms + 1}.get(op)
        if lo is not None:
            self._lo = lo if self._lo is None else max(self._lo, lo)
        if hi is not None:
            self._hi = hi if self._hi is None else min(self._hi, hi)

    def _order_by(self) -> tuple[tuple[str, bool], ...]:
        self._next()
        token = self._next()
        if token.upper != "BY":
            raise _jql_error(f"Expecting 'by' but got '{token.text or 'end of query'}'.", token.pos)
        terms = []
        while True:
            name = self._field()
            if name == "project":
                raise _jql_error("LocalJira orders only by updated and key.", self._tokens[self._i - 1].pos)
            descending = False
            if self._peek().upper in ("ASC", "DESC"):
                descending = self._next().upper == "DESC"
            terms.append((name, descending))
            if self._peek().text != ",":
                return tuple(terms)
            self._next()


# -- ADF ---------------------------------------------------------------------------------------------
