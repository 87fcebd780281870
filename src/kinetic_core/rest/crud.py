"""REST calls on single records and on the org: create, get, update, upsert, delete, describe, limits,
SOQL and SOSL. Plain functions over one ``HttpSession``; ``SalesforceClient`` composes them.

Each call says whether it may be repeated after a lost answer (``retry=``): reads, PATCH and DELETE
are idempotent; a POST create is not (see ``kinetic_core.http.retry``).

Example:
    >>> UpsertResult("001000000000001AAA", created=True).created
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kinetic_core.http.paths import check_id, check_name, path_value
from kinetic_core.http.session import HttpSession
from kinetic_core.rest.query import QueryResult, query_headers
from kinetic_core.rest.soql import soql as build_soql


@dataclass(frozen=True)
class UpsertResult:
    """Outcome of an upsert: the record id and whether it was created.

    Example:
        >>> UpsertResult("001000000000001AAA", True).created
        True
    """

    id: str
    created: bool


def _writable(data: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a write: ``Id`` and ``attributes`` are never sent as fields."""
    return {k: v for k, v in data.items() if k not in ("Id", "attributes")}


def create(session: HttpSession, sobject: str, data: Mapping[str, Any]) -> str:
    """Create one record and return its id (never re-sent after a lost answer)."""
    resp = session.request("POST", f"sobjects/{check_name(sobject)}", json=dict(data), retry=False)
    return str(resp.json()["id"])


def get(
    session: HttpSession, sobject: str, record_id: str, fields: Iterable[str] | None = None
) -> dict[str, Any]:
    """Read one record by id, optionally only ``fields``."""
    params = {"fields": ",".join(check_name(f, "field") for f in fields)} if fields else None
    resp = session.request(
        "GET", f"sobjects/{check_name(sobject)}/{check_id(record_id)}", params=params, retry=True
    )
    result: dict[str, Any] = resp.json()
    return result


def update(session: HttpSession, sobject: str, record_id: str, data: Mapping[str, Any]) -> None:
    """Update one record by id; PATCH sets the same values again when repeated, so it is retried."""
    session.request(
        "PATCH", f"sobjects/{check_name(sobject)}/{check_id(record_id)}", json=_writable(data), retry=True
    )


def upsert(
    session: HttpSession, sobject: str, external_id_field: str, external_id: str, data: Mapping[str, Any]
) -> UpsertResult:
    """Insert or update the record whose ``external_id_field`` equals ``external_id``.

    Answers 201 (created), 200 (updated, API 46+) and 204 (updated, older APIs: the id is then read
    back by external id) all give an ``UpsertResult``.
    """
    body = _writable(data)
    if external_id_field in body and str(body.pop(external_id_field)) != str(external_id):
        raise ValueError(f"{external_id_field} in data differs from the external id {external_id!r}")
    field = check_name(external_id_field, "field")
    path = f"sobjects/{check_name(sobject)}/{field}/{path_value(external_id, f'{field} value')}"
    # Upsert by external id is idempotent: a repeat finds the record the first try created and
    # updates it with the same values (it would then report created=False).
    resp = session.request("PATCH", path, json=body, retry=True)
    if resp.status_code == 204 or not resp.content:
        found = session.request("GET", path, params={"fields": "Id"}, retry=True).json()
        return UpsertResult(str(found["Id"]), False)
    result = resp.json()
    created = bool(result.get("created", resp.status_code == 201))
    return UpsertResult(str(result["id"]), created)


def delete(session: HttpSession, sobject: str, record_id: str) -> None:
    """Delete one record; a repeat after a lost answer reports ENTITY_IS_DELETED / NOT_FOUND."""
    session.request("DELETE", f"sobjects/{check_name(sobject)}/{check_id(record_id)}", retry=True)


def describe(session: HttpSession, sobject: str) -> dict[str, Any]:
    """The describe of an object (uncached; the client caches)."""
    result: dict[str, Any] = session.request(
        "GET", f"sobjects/{check_name(sobject)}/describe", retry=True
    ).json()
    return result


def list_objects(session: HttpSession) -> list[dict[str, Any]]:
    """The describe-global entries of every object."""
    body = session.request("GET", "sobjects", retry=True).json()
    return list(body.get("sobjects", []))


def limits(session: HttpSession) -> dict[str, Any]:
    """The org limits."""
    result: dict[str, Any] = session.request("GET", "limits", retry=True).json()
    return result


def query(
    session: HttpSession, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
) -> QueryResult:
    """Run a SOQL query (``queryAll`` with ``include_deleted``); the first page is fetched now."""
    resource = "queryAll" if include_deleted else "query"
    resp = session.request("GET", resource, params={"q": soql}, headers=query_headers(batch_size), retry=True)
    return QueryResult(session, resp.json(), batch_size=batch_size)


def count_query(sobject_or_soql: str, where: str | None = None, *values: Any) -> str:
    """The SOQL of ``count``: a full ``SELECT ...`` as given, else ``SELECT COUNT() FROM sobject [WHERE ..]``.

    Example:
        >>> count_query("Contact", "Email = {}", "a@b.c")
        "SELECT COUNT() FROM Contact WHERE Email = 'a@b.c'"
    """
    if sobject_or_soql.lstrip()[:6].upper() == "SELECT":
        return sobject_or_soql
    text = f"SELECT COUNT() FROM {check_name(sobject_or_soql)}"
    if where:
        text += " WHERE " + build_soql(where, *values)
    return text


def count(session: HttpSession, text: str) -> int:
    """``totalSize`` of a ``SELECT COUNT() ...`` query."""
    resp = session.request("GET", "query", params={"q": text}, retry=True)
    return int(resp.json().get("totalSize") or 0)


def search(session: HttpSession, sosl: str) -> list[dict[str, Any]]:
    """Run a SOSL search; the matching records, at most 2,000."""
    body = session.request("GET", "search", params={"q": sosl}, retry=True).json()
    records = body.get("searchRecords", []) if isinstance(body, dict) else body
    return [dict(r) for r in records]
