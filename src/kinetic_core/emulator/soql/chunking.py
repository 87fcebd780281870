"""PK chunking of a Bulk API 1.0 query (``Sforce-Enable-PKChunking``): the header and the chunk queries.

Salesforce splits a PK-chunked query into one query per range of record Ids [D]: the first range
starts at ``startRow`` (default: the first record of the table, deleted ones included) and each
covers ``chunkSize`` Ids (default 100,000, at most 250,000), so
``SELECT Name FROM Account`` becomes ``SELECT Name FROM Account WHERE Id >= '001...' AND Id < '001...'``,
its existing WHERE condition kept beside the bounds. Each chunk query runs as its own batch; the
original batch becomes ``NotProcessed``. Chunking works only for queries without clauses other than
WHERE (no subquery, ORDER BY, LIMIT...) and on the objects Salesforce lists [D]; anything else fails
the original batch with the reason. [I] The emulator's Ids of one object are consecutive numbers,
so a range of ``chunkSize`` Ids is also at most ``chunkSize`` records.
"""

from __future__ import annotations

import re
import sqlite3
import string
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from kinetic_core.emulator.store.ids import is_well_formed, make_id, to18
from kinetic_core.emulator.store.schema import ObjectDef

from . import ast as a
from .parser import parse_soql

DEFAULT_CHUNK_SIZE = 100_000
MAX_CHUNK_SIZE = 250_000
CHUNKABLE_STANDARD = frozenset(
    {
        "account", "asset", "campaign", "campaignmember", "case", "casearticle", "casehistory", "contact",
        "event", "eventrelation", "lead", "loginhistory", "opportunity", "task", "user", "workorder",
        "workorderlineitem",
    }
)  # fmt: skip
"""Standard objects PK chunking supports [D]; custom objects always are."""

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_WHERE = re.compile(r"\bwhere\b", re.IGNORECASE)


class Readable(Protocol):
    """What chunking needs of the store: a read connection."""

    def read(self) -> AbstractContextManager[sqlite3.Connection]: ...


class ChunkingError(ValueError):
    """A PK chunking header or query the emulator cannot chunk; the message says why."""


@dataclass(frozen=True)
class ChunkSettings:
    """What ``Sforce-Enable-PKChunking`` asks for."""

    chunk_size: int = DEFAULT_CHUNK_SIZE
    start_row: str | None = None


def parse_header(raw: str | None) -> ChunkSettings | None:
    """The settings of a ``Sforce-Enable-PKChunking`` header; None when it is absent or ``false``.

    Accepts ``true``, ``false`` and ``;``-separated ``chunkSize=N``, ``startRow=ID``, ``parent=Object``.

    Raises:
        ChunkingError: an unknown option, a chunk size outside 1..250,000, a malformed start row, or
            ``parent`` (which names the parent of a sharing object; the emulator serves none).

    Example:
        >>> parse_header("chunkSize=50000; startRow=001000000000001")
        ChunkSettings(chunk_size=50000, start_row='001000000000001AAA')
        >>> parse_header("FALSE") is None
        True
    """
    if raw is None or not raw.strip() or raw.strip().lower() == "false":
        return None
    size, start = DEFAULT_CHUNK_SIZE, None
    for part in (p.strip() for p in raw.split(";")):
        if not part or part.lower() == "true":
            continue
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep:
            raise ChunkingError(f"Invalid Sforce-Enable-PKChunking option: {part}")
        if key.lower() == "chunksize":
            if not value.isdigit() or not 1 <= int(value) <= MAX_CHUNK_SIZE:
                raise ChunkingError(f"chunkSize must be a whole number from 1 to {MAX_CHUNK_SIZE:,}: {value}")
            size = int(value)
        elif key.lower() == "startrow":
            if not is_well_formed(value):
                raise ChunkingError(f"startRow must be a 15- or 18-character record Id: {value}")
            start = to18(value)
        elif key.lower() == "parent":
            raise ChunkingError("parent applies to sharing objects, which this emulator does not serve")
        else:
            raise ChunkingError(f"Invalid Sforce-Enable-PKChunking option: {key}")
    return ChunkSettings(size, start)


def _number(record_id: str) -> int:
    """The record number encoded in the last 9 characters of an Id's first 15."""
    value = 0
    for ch in record_id[6:15]:
        value = value * 62 + _BASE62.index(ch)
    return value


def _offset(soql: str, pos: tuple[int, int]) -> int:
    line, column = pos
    lines = soql.split("\n")
    return sum(len(text) + 1 for text in lines[: line - 1]) + column - 1


def _check_shape(query: a.Query) -> None:
    if any(isinstance(item, a.SelectSubquery) for item in query.select):
        raise ChunkingError("PK chunking does not support queries with subqueries")
    clauses = {
        "GROUP BY": bool(query.group_by),
        "HAVING": query.having is not None,
        "ORDER BY": bool(query.order_by),
        "LIMIT": query.limit is not None,
        "OFFSET": query.offset is not None,
    }
    used = [name for name, present in clauses.items() if present]
    if used:
        raise ChunkingError(f"PK chunking supports no clause other than WHERE; this query has {used[0]}")


def chunk_queries(store: Readable, obj: ObjectDef, soql: str, settings: ChunkSettings) -> list[str]:
    """The chunk queries of ``soql`` (one per range of ``chunk_size`` Ids), in Id order.

    Raises:
        ChunkingError: an object PK chunking does not support, or a query with more than WHERE.

    Example:
        >>> chunk_queries(store, account, "SELECT Name FROM Account", ChunkSettings(2))  # doctest: +SKIP
        ["SELECT Name FROM Account WHERE Id >= '0018c0000000001AAA' AND Id < '0018c0000000003AAA'", ...]
    """
    if not (obj.custom or obj.name.lower() in CHUNKABLE_STANDARD):
        raise ChunkingError(f"Entity '{obj.name}' is not supported by PK chunking")
    query = parse_soql(soql)
    _check_shape(query)
    with store.read() as conn:
        first, last = conn.execute(f'SELECT min(id), max(id) FROM "{obj.table}"').fetchone()
    if first is None:
        return [soql]  # [I] an empty table: one chunk, the query as it is
    start = settings.start_row if settings.start_row is not None else first
    head = soql
    condition = ""
    after_object = _offset(soql, query.sobject_pos) + len(query.sobject)
    found = _WHERE.search(soql, after_object)
    if found is not None:
        head, condition = soql[: found.start()].rstrip(), soql[found.end() :].strip()
    prefix, pod = start[:3], start[3:5]
    low, stop = _number(start), _number(last)
    out: list[str] = []
    while low <= stop:
        high = low + settings.chunk_size
        bounds = f"Id >= '{make_id(prefix, low, pod)}' AND Id < '{make_id(prefix, high, pod)}'"
        out.append(f"{head} WHERE {bounds}" + (f" AND ({condition})" if condition else ""))
        low = high
    return out or [f"{head} WHERE Id >= '{start}'" + (f" AND ({condition})" if condition else "")]


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "ChunkSettings",
    "ChunkingError",
    "chunk_queries",
    "parse_header",
]
