"""Running SOSL: which records match the search term, then the RETURNING lists as SOQL would render them.

Matching is word based and ignores case: a field's text is split into words (letters and digits), a
search word must equal one of them (``*`` matches any run of characters, ``?`` exactly one), a phrase
(``"big co"``, or a word with punctuation such as ``a@b.com``) must match consecutive words, and phone
fields also match on their digits alone (``4155551212`` finds ``(415) 555-1212``). Records come out
object by object in RETURNING order, each object's records in ORDER BY or insertion order (Salesforce
orders by relevance, which the emulator does not model). [I]

Which fields each ``IN ... FIELDS`` group searches: ALL the text, text area, email, phone and URL fields;
NAME the name field plus ``FirstName``, ``LastName`` and ``Company``; EMAIL the email fields; PHONE the
phone fields. [I]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store.schema import FieldDef, FieldType, ObjectDef

from . import ast as a
from . import messages as m
from .sosl import (
    MAX_RESULTS,
    ReturningItem,
    Search,
    SearchGroup,
    Term,
    TermAnd,
    TermNot,
    TermOr,
    Word,
    malformed_search,
    parse_sosl,
)

if TYPE_CHECKING:
    from kinetic_core.emulator.store.records import Store


class QueryEngine(Protocol):
    """What a search needs of the SOQL engine (``engine.QueryEngine``): its store, and running the
    record query of one RETURNING item."""

    @property
    def store(self) -> Store: ...

    def run_query(self, text: str, query: a.Query, *, api_version: str = ...) -> list[dict[str, Any]]:
        """Every record of an already parsed record query, one page."""
        ...


MAX_CANDIDATES = 30_000
"""Records of one object a search may match before filtering by WHERE (an emulator limit). [I]"""

SEARCHABLE_BUILTIN = frozenset({"account", "contact", "opportunity", "lead", "case", "user"})
"""Standard objects a search without RETURNING covers (custom objects always are). [I]"""

_ALL_TYPES = frozenset(
    {FieldType.STRING, FieldType.TEXTAREA, FieldType.EMAIL, FieldType.PHONE, FieldType.URL}
)
_NAME_PARTS = frozenset({"firstname", "lastname", "company"})
_WORD = re.compile(r"\w+", re.UNICODE)


def searchable(obj: ObjectDef) -> bool:
    """Whether a search without RETURNING looks at ``obj``."""
    return obj.custom or obj.name.lower() in SEARCHABLE_BUILTIN


def searched_fields(obj: ObjectDef, group: SearchGroup) -> list[FieldDef]:
    """The fields ``IN <group> FIELDS`` looks at on ``obj``."""
    stored = obj.stored_fields
    if group is SearchGroup.EMAIL:
        return [f for f in stored if f.type is FieldType.EMAIL]
    if group is SearchGroup.PHONE:
        return [f for f in stored if f.type is FieldType.PHONE]
    if group is SearchGroup.NAME:
        return [f for f in stored if f.name_field or f.name.lower() in _NAME_PARTS]
    return [f for f in stored if f.type in _ALL_TYPES]


def words_of(value: str, phone: bool) -> list[str]:
    """A field value's searchable words, lower-cased (phones also as one run of digits)."""
    words = [w.lower() for w in _WORD.findall(value)]
    if phone:
        digits = "".join(ch for ch in value if ch.isdigit())
        if digits:
            words.append(digits)
    return words


@dataclass(frozen=True)
class _Matcher:
    """The search term compiled to a predicate over a record's fields (each a list of words)."""

    test: Callable[[list[list[str]]], bool]


def _word_regex(token: str) -> re.Pattern[str]:
    body = "".join(r"\w*" if ch == "*" else r"\w" if ch == "?" else re.escape(ch.lower()) for ch in token)
    return re.compile(body + r"\Z")


def compile_term(term: Term) -> Callable[[list[list[str]]], bool]:
    """A predicate: does any field (for a phrase: one field, consecutively) match ``term``?

    Example:
        >>> from kinetic_core.emulator.soql.sosl import parse_term
        >>> match = compile_term(parse_term('acme AND NOT "old co"'))
        >>> match([["acme", "new", "co"]]), match([["acme"], ["old", "co"]])
        (True, False)
    """
    if isinstance(term, Word):
        patterns = [_word_regex(t) for t in term.tokens]
        if len(patterns) == 1:
            only = patterns[0].match
            return lambda fields: any(only(w) for words in fields for w in words)
        width = len(patterns)

        def phrase(fields: list[list[str]]) -> bool:
            for words in fields:
                for start in range(len(words) - width + 1):
                    if all(p.match(words[start + k]) for k, p in enumerate(patterns)):
                        return True
            return False

        return phrase
    if isinstance(term, TermNot):
        inner = compile_term(term.item)
        return lambda fields: not inner(fields)
    parts = [compile_term(t) for t in term.items]
    if isinstance(term, TermAnd):
        return lambda fields: all(p(fields) for p in parts)
    assert isinstance(term, TermOr)
    return lambda fields: any(p(fields) for p in parts)


def _positive_words(term: Term) -> list[re.Pattern[str]]:
    """The word patterns a record is searched for (those under NOT excluded): what relevance counts."""
    if isinstance(term, Word):
        return [_word_regex(t) for t in term.tokens]
    if isinstance(term, TermNot):
        return []
    return [p for item in term.items for p in _positive_words(item)]


def _hits(fields: list[list[str]], patterns: list[re.Pattern[str]]) -> int:
    return sum(1 for words in fields for w in words if any(p.match(w) for p in patterns))


def _optional_column(obj: ObjectDef, name: str) -> str:
    field = obj.field(name)
    return f'"{field.column}"' if field is not None and not field.is_compound else "NULL"


def _matching_ids(engine: QueryEngine, obj: ObjectDef, search: Search, user_id: str | None) -> list[str]:
    """The Ids of the records that match, most relevant first (see the module docstring)."""
    fields = searched_fields(obj, search.group)
    if not fields:
        return []
    test = compile_term(search.term)
    patterns = _positive_words(search.term)
    phones = [f.type is FieldType.PHONE for f in fields]
    cols = ", ".join(f'"{f.column}"' for f in fields)
    owner, modified = _optional_column(obj, "OwnerId"), _optional_column(obj, "LastModifiedDate")
    deleted = " WHERE isdeleted = 0" if obj.field("IsDeleted") is not None else ""
    found: list[tuple[int, bool, str, int, str]] = []
    with engine.store.read() as conn:
        sql = f'SELECT id, {owner}, {modified}, rowid, {cols} FROM "{obj.table}"{deleted} ORDER BY rowid'
        for row in conn.execute(sql):
            values = [words_of(v, phone) for v, phone in zip(row[4:], phones, strict=True) if v]
            if values and test(values):
                found.append((_hits(values, patterns), row[1] == user_id, str(row[2] or ""), row[3], row[0]))
                if len(found) > MAX_CANDIDATES:
                    raise malformed_search(
                        f"The search matches more than {MAX_CANDIDATES:,} {obj.name} records; "
                        "narrow the search term (a limit of this emulator)"
                    )
    found.sort(key=lambda f: (-f[0], not f[1], _negated(f[2]), f[3]))
    return [f[4] for f in found]


def _negated(stamp: str) -> tuple[int, ...]:
    """A sort key putting later ISO timestamps first."""
    return tuple(-ord(ch) for ch in stamp)


def _targets(engine: QueryEngine, sosl: str, search: Search) -> Iterator[tuple[ObjectDef, ReturningItem]]:
    schema = engine.store.schema
    if not search.returning:
        for obj in schema:
            if searchable(obj) and obj.queryable:
                yield obj, ReturningItem(obj.name, (1, 1), (), None, (), None, None)
        return
    for item in search.returning:
        found = schema.get(item.sobject)
        if found is None or not found.queryable:
            raise m.invalid_type(sosl, item.pos, item.sobject)
        yield found, item


def run_search(
    engine: QueryEngine, sosl: str, api_version: str, *, user_id: str | None = None
) -> list[dict[str, Any]]:
    """The records a SOSL statement finds, rendered as SOQL renders them (``attributes`` first).

    Raises:
        ApiError: MALFORMED_SEARCH, or what the RETURNING lists' SOQL would raise.
    """
    search = parse_sosl(sosl)
    budget = min(search.limit if search.limit is not None else MAX_RESULTS, MAX_RESULTS)
    out: list[dict[str, Any]] = []
    for obj, item in _targets(engine, sosl, search):
        if budget <= len(out):
            break
        ids = _matching_ids(engine, obj, search, user_id)
        records = _returning(engine, sosl, obj, item, ids, api_version) if ids else []
        out.extend(records[: budget - len(out)])
    return out


def _returning(
    engine: QueryEngine, sosl: str, obj: ObjectDef, item: ReturningItem, ids: list[str], api_version: str
) -> list[dict[str, Any]]:
    pos = item.pos
    id_path = a.FieldPath(("Id",), pos)
    select = item.select or (a.SelectField(id_path),)
    for entry in select:
        if not isinstance(entry, a.SelectField | a.SelectFunc):
            raise malformed_search(
                "Only fields and toLabel()/FORMAT()/convertCurrency() can be returned by a search"
            )
    only_ids = a.InList(id_path, tuple(a.StringLit(i, i, pos) for i in ids), negated=False)
    where: a.Condition = only_ids if item.where is None else a.And((only_ids, item.where))
    limit = MAX_RESULTS if item.limit is None else min(item.limit, MAX_RESULTS)
    ranked = not item.order_by  # without ORDER BY: relevance order, LIMIT and OFFSET after it
    query = a.Query(
        select=select, sobject=obj.name, sobject_pos=pos, where=where, order_by=item.order_by,
        limit=len(ids) if ranked else limit, offset=None if ranked else item.offset,
    )  # fmt: skip
    try:
        records = engine.run_query(sosl, query, api_version=api_version)
    except ApiError as exc:
        if exc.error_code == "MALFORMED_QUERY":
            raise malformed_search(exc.message) from None
        raise
    if not ranked:
        return records
    rank = {rid: n for n, rid in enumerate(ids)}
    records.sort(key=lambda r: rank.get(str(r["attributes"]["url"]).rsplit("/", 1)[-1], len(rank)))
    start = item.offset or 0
    return records[start : start + limit]
