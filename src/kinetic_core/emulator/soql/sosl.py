"""SOSL text -> syntax tree: ``FIND {term} [IN group FIELDS] [RETURNING Obj(fields WHERE ... ORDER BY ...
LIMIT n OFFSET m), ...] [LIMIT n]``.

The statement grammar extends the SOQL one (lark), so RETURNING field lists, WHERE, ORDER BY, LIMIT and
OFFSET are parsed exactly as in SOQL. The search term between the braces has its own small grammar:
words and ``"quoted phrases"`` with ``*``/``?`` wildcards, ``AND``, ``OR``, ``AND NOT``/``NOT`` and
parentheses; words side by side must all match. Errors are ``MALFORMED_SEARCH`` as Salesforce answers
them; SOSL features the emulator lacks say so.

Example:
    >>> parse_sosl("FIND {Acme*} IN NAME FIELDS RETURNING Account(Name LIMIT 5)").returning[0].limit
    5
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TypeAlias

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from kinetic_core.emulator.errors import ApiError

from . import ast as a
from .grammar import SOQL_GRAMMAR
from .parser import _Builder

SOSL_RULES = r"""
sosl: _FIND SEARCH_TERM in_group? returning? sosl_limit?
in_group: IN SEARCH_GROUP _FIELDS_WORD
returning: _RETURNING returning_item ("," returning_item)*
returning_item: NAME ("(" select_list _where_o _order_o _limit_o _offset_o ")")?
sosl_limit: _LIMIT NUMBER

SEARCH_TERM: /\{(?:[^}\\]|\\.)*\}/s
SEARCH_GROUP.1: /(all|name|email|phone|sidebar)(?![a-z0-9_])/i
_FIELDS_WORD.1: /fields(?![a-z0-9_])/i
_FIND.1: /find(?![a-z0-9_])/i
_RETURNING.1: /returning(?![a-z0-9_])/i
"""

MAX_RESULTS = 2000
"""SOSL answers at most 2,000 records per statement."""


class SearchGroup(StrEnum):
    ALL = "ALL"
    NAME = "NAME"
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    SIDEBAR = "SIDEBAR"


# ---- the search term ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """One word or quoted phrase; ``tokens`` are its words (a phrase has several), wildcards kept."""

    tokens: tuple[str, ...]
    phrase: bool


@dataclass(frozen=True)
class TermAnd:
    items: tuple[Term, ...]


@dataclass(frozen=True)
class TermOr:
    items: tuple[Term, ...]


@dataclass(frozen=True)
class TermNot:
    item: Term


Term: TypeAlias = Word | TermAnd | TermOr | TermNot


@dataclass(frozen=True)
class ReturningItem:
    """``Account(Id, Name WHERE ... ORDER BY ... LIMIT n OFFSET m)``; ``select`` empty means ``Id``."""

    sobject: str
    pos: a.Pos
    select: tuple[a.SelectItem, ...]
    where: a.Condition | None
    order_by: tuple[a.OrderItem, ...]
    limit: int | None
    offset: int | None


@dataclass(frozen=True)
class Search:
    """One SOSL statement."""

    term: Term
    term_text: str
    group: SearchGroup
    returning: tuple[ReturningItem, ...]
    limit: int | None


# ---- errors ---------------------------------------------------------------------------------------------


def malformed_search(text: str) -> ApiError:
    """MALFORMED_SEARCH (status 400). [R code and the no-braces text; other texts I]"""
    return ApiError(400, "MALFORMED_SEARCH", text)


def no_search_term() -> ApiError:
    """``FIND`` without braces. [R: real response, restforce fixture]"""
    return malformed_search("No search term found. The search term must be enclosed in braces.")


def not_supported(what: str) -> ApiError:
    """A SOSL feature Salesforce has and this emulator does not. [I]"""
    return malformed_search(f"{what} is not supported by this emulator")


# ---- grammar --------------------------------------------------------------------------------------------


@cache
def sosl_parser() -> Lark:
    """The SOSL statement parser (the SOQL grammar plus the SOSL rules)."""
    return Lark(
        SOQL_GRAMMAR + SOSL_RULES,
        start="sosl",
        parser="lalr",
        lexer="contextual",
        propagate_positions=False,
        maybe_placeholders=False,
    )


_TAIL = re.compile(r"\}[^{}]*?\b(with|update)\s+(\w+)", re.I | re.S)
"""``WITH ...`` / ``UPDATE TRACKING|VIEWSTAT`` after the search term: not emulated."""
_TERM_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+))', re.S)
_ESCAPED = re.compile(r"\\(.)", re.S)


def _unescape(text: str) -> str:
    return _ESCAPED.sub(r"\1", text)


class _TermParser:
    """Recursive descent over the braces' content: or := and (OR and)*; and := unary (AND? unary)*."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _TERM_TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                break
            pos = m.end()
            if m.group(1):
                self.tokens.append(("(", "("))
            elif m.group(2):
                self.tokens.append((")", ")"))
            elif m.group(3) is not None:
                self.tokens.append(("phrase", _unescape(m.group(3))))
            elif m.group(4):
                word = m.group(4)
                kind = word.upper() if word.upper() in ("AND", "OR", "NOT") else "word"
                self.tokens.append((kind, _unescape(word)))
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> Term:
        if not self.tokens:
            raise malformed_search("Search term must be at least 2 characters long")
        term = self.or_()
        if self.peek() is not None:
            raise malformed_search(f"Unexpected '{self.tokens[self.i][1]}' in the search term")
        return term

    def or_(self) -> Term:
        items = [self.and_()]
        while self.peek() == "OR":
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else TermOr(tuple(items))

    def and_(self) -> Term:
        items = [self.unary()]
        while self.peek() in ("AND", "NOT", "word", "phrase", "("):
            if self.peek() == "AND":
                self.take()
            items.append(self.unary())
        return items[0] if len(items) == 1 else TermAnd(tuple(items))

    def unary(self) -> Term:
        kind = self.peek()
        if kind is None:
            raise malformed_search("Incomplete search term: an operator has nothing after it")
        if kind == "NOT":
            self.take()
            return TermNot(self.unary())
        if kind == "(":
            self.take()
            inner = self.or_()
            if self.peek() != ")":
                raise malformed_search("Missing ')' in the search term")
            self.take()
            return inner
        if kind in ("word", "phrase"):
            _, text = self.take()
            words = tuple(w for w in re.split(r"[^\w*?]+", text) if w)
            if not words:
                raise malformed_search(f"Invalid search term: {text}")
            if len("".join(words).replace("*", "").replace("?", "")) < 2 and kind == "word":
                raise malformed_search("Search term must be at least 2 characters long")
            if len(words) == 1:
                return Word(words, phrase=False)
            return Word(words, phrase=True)  # a phrase, or one word with punctuation: consecutive words
        raise malformed_search(f"Unexpected '{self.tokens[self.i][1]}' in the search term")


def parse_term(text: str) -> Term:
    """The braces' content as a :data:`Term`.

    Example:
        >>> parse_term('acme OR "big co*"')
        TermOr(items=(Word(tokens=('acme',), phrase=False), Word(tokens=('big', 'co*'), phrase=True)))
    """
    return _TermParser(text).parse()


# ---- statement ------------------------------------------------------------------------------------------


def parse_sosl(sosl: str) -> Search:
    """Parse one SOSL statement.

    Raises:
        ApiError: 400 MALFORMED_SEARCH (or MALFORMED_QUERY/INVALID_FIELD from a RETURNING clause).
    """
    text = sosl.strip()
    if not re.match(r"find\s*\{", text, re.I):
        raise no_search_term()
    tail = _TAIL.search(text)
    if tail is not None:
        raise not_supported(f"{tail.group(1).upper()} {tail.group(2).upper()}")
    try:
        tree = sosl_parser().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    builder = _Builder(text)
    term_text = ""
    group = SearchGroup.ALL
    returning: list[ReturningItem] = []
    limit: int | None = None
    for child in tree.children:
        if isinstance(child, Token) and child.type == "SEARCH_TERM":
            term_text = str(child)[1:-1]
        elif isinstance(child, Tree) and child.data == "in_group":
            group = SearchGroup(str(child.children[1]).upper())
        elif isinstance(child, Tree) and child.data == "returning":
            returning.extend(_returning(builder, item) for item in child.children if isinstance(item, Tree))
        elif isinstance(child, Tree) and child.data == "sosl_limit":
            limit = int(str(child.children[-1]))
    if group is SearchGroup.SIDEBAR:
        raise not_supported("IN SIDEBAR FIELDS")
    return Search(parse_term(term_text), term_text, group, tuple(returning), limit)


def _returning(builder: _Builder, node: Tree[Token]) -> ReturningItem:
    name = node.children[0]
    assert isinstance(name, Token)
    select: tuple[a.SelectItem, ...] = ()
    clauses: dict[str, Tree[Token]] = {}
    for part in node.children[1:]:
        assert isinstance(part, Tree)
        if part.data == "select_list":
            select = tuple(builder.select_item(i) for i in part.children if isinstance(i, Tree))
        else:
            clauses[str(part.data)] = part
    where = clauses.get("where")
    return ReturningItem(
        sobject=str(name),
        pos=((name.line or 1), (name.column or 1)),
        select=select,
        where=builder.condition(builder._only(where)) if where is not None else None,
        order_by=builder._order_by(clauses.get("order_by")),
        limit=builder._int_clause(clauses.get("limit")),
        offset=builder._int_clause(clauses.get("offset")),
    )


def _syntax_error(sosl: str, exc: UnexpectedInput) -> ApiError:
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        shown = str(exc.token)
    elif isinstance(exc, UnexpectedCharacters):
        rest = sosl[exc.pos_in_stream :].split()
        shown = rest[0] if rest else exc.char
    elif isinstance(exc, UnexpectedEOF | UnexpectedToken):
        shown = "<EOF>"
    else:  # pragma: no cover
        shown = "?"
    return malformed_search(f"line {exc.line}:{exc.column} no viable alternative at character '{shown}'")
