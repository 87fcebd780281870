"""REST calls on single records and on the org: create, get, update, upsert, delete, describe, limits,
SOQL and SOSL. Plain functions over one ``HttpSession``; ``SalesforceClient`` composes them.

Each is an operation of ``kinetic_core.rest.ops`` (paths, bodies, retry flags and parsing, written
once) run on the sync session; ``AsyncSalesforceClient`` runs the same operations on an
``AsyncHttpSession``.

Example:
    >>> UpsertResult("001000000000001AAA", created=True).created
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kinetic_core.http.session import HttpSession
from kinetic_core.http.steps import run
from kinetic_core.rest import ops
from kinetic_core.rest.ops import UpsertResult, count_query
from kinetic_core.rest.query import QueryResult

__all__ = [
    "UpsertResult",
    "count",
    "count_query",
    "create",
    "delete",
    "describe",
    "get",
    "limits",
    "list_objects",
    "query",
    "search",
    "update",
    "upsert",
]


def create(session: HttpSession, sobject: str, data: Mapping[str, Any]) -> str:
    """Create one record and return its id (never re-sent after a lost answer)."""
    return run(session, ops.create(sobject, data))


def get(
    session: HttpSession, sobject: str, record_id: str, fields: Iterable[str] | None = None
) -> dict[str, Any]:
    """Read one record by id, optionally only ``fields``."""
    return run(session, ops.get(sobject, record_id, fields))


def update(session: HttpSession, sobject: str, record_id: str, data: Mapping[str, Any]) -> None:
    """Update one record by id; PATCH sets the same values again when repeated, so it is retried."""
    run(session, ops.update(sobject, record_id, data))


def upsert(
    session: HttpSession, sobject: str, external_id_field: str, external_id: str, data: Mapping[str, Any]
) -> UpsertResult:
    """Insert or update the record whose ``external_id_field`` equals ``external_id`` (see ``ops.upsert``)."""
    return run(session, ops.upsert(sobject, external_id_field, external_id, data))


def delete(session: HttpSession, sobject: str, record_id: str) -> None:
    """Delete one record; a repeat after a lost answer reports ENTITY_IS_DELETED / NOT_FOUND."""
    run(session, ops.delete(sobject, record_id))


def describe(session: HttpSession, sobject: str) -> dict[str, Any]:
    """The describe of an object (uncached; the client caches)."""
    return run(session, ops.describe(sobject))


def list_objects(session: HttpSession) -> list[dict[str, Any]]:
    """The describe-global entries of every object."""
    return run(session, ops.list_objects())


def limits(session: HttpSession) -> dict[str, Any]:
    """The org limits."""
    return run(session, ops.limits())


def query(
    session: HttpSession, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
) -> QueryResult:
    """Run a SOQL query (``queryAll`` with ``include_deleted``); the first page is fetched now."""
    page = run(session, ops.first_page(soql, include_deleted=include_deleted, batch_size=batch_size))
    return QueryResult(session, page, batch_size=batch_size)


def count(session: HttpSession, text: str) -> int:
    """``totalSize`` of a ``SELECT COUNT() ...`` query."""
    return run(session, ops.count(text))


def search(session: HttpSession, sosl: str) -> list[dict[str, Any]]:
    """Run a SOSL search; the matching records, at most 2,000."""
    return run(session, ops.search(sosl))
