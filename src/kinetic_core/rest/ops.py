"""The REST operations as steps (``kinetic_core.http.steps``): paths, bodies, retry flags and parsing,
written once for the sync and the async client.

Each call says whether it may be repeated after a lost answer (``retry=``): reads, PATCH and DELETE
are idempotent; a POST create is not (see ``kinetic_core.http.retry``).

Example:
    >>> steps = create("Account", {"Name": "Acme"})
    >>> call = next(steps)
    >>> (call.method, call.url, call.retry)
    ('POST', 'sobjects/Account', False)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kinetic_core.http.paths import check_id, check_name, path_value
from kinetic_core.http.steps import ApiCall, Steps
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


def query_headers(batch_size: int | None) -> dict[str, str]:
    """``Sforce-Query-Options: batchSize=N`` (Salesforce accepts 200..2000) or nothing.

    Example:
        >>> query_headers(500)
        {'Sforce-Query-Options': 'batchSize=500'}
    """
    if batch_size is None:
        return {}
    if not 200 <= batch_size <= 2000:
        raise ValueError("batch_size must be between 200 and 2000")
    return {"Sforce-Query-Options": f"batchSize={batch_size}"}


def writable(data: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a write: ``Id`` and ``attributes`` are never sent as fields."""
    return {k: v for k, v in data.items() if k not in ("Id", "attributes")}


def create(sobject: str, data: Mapping[str, Any]) -> Steps[str]:
    """Create one record; its id. Never re-sent after a lost answer."""
    resp = yield ApiCall("POST", f"sobjects/{check_name(sobject)}", json=dict(data), retry=False)
    return str(resp.json()["id"])


def get(sobject: str, record_id: str, fields: Iterable[str] | None = None) -> Steps[dict[str, Any]]:
    """Read one record by id, optionally only ``fields``."""
    params = {"fields": ",".join(check_name(f, "field") for f in fields)} if fields else None
    resp = yield ApiCall("GET", f"sobjects/{check_name(sobject)}/{check_id(record_id)}", params=params)
    result: dict[str, Any] = resp.json()
    return result


def update(sobject: str, record_id: str, data: Mapping[str, Any]) -> Steps[None]:
    """Update one record by id; PATCH sets the same values again when repeated, so it is retried."""
    yield ApiCall("PATCH", f"sobjects/{check_name(sobject)}/{check_id(record_id)}", json=writable(data))


def upsert(
    sobject: str, external_id_field: str, external_id: str, data: Mapping[str, Any]
) -> Steps[UpsertResult]:
    """Insert or update the record whose ``external_id_field`` equals ``external_id``.

    Answers 201 (created), 200 (updated, API 46+) and 204 (updated, older APIs: the id is then read
    back by external id) all give an ``UpsertResult``.
    """
    body = writable(data)
    if external_id_field in body and str(body.pop(external_id_field)) != str(external_id):
        raise ValueError(f"{external_id_field} in data differs from the external id {external_id!r}")
    field = check_name(external_id_field, "field")
    path = f"sobjects/{check_name(sobject)}/{field}/{path_value(external_id, f'{field} value')}"
    # Upsert by external id is idempotent: a repeat finds the record the first try created and
    # updates it with the same values (it would then report created=False).
    resp = yield ApiCall("PATCH", path, json=body)
    if resp.status_code == 204 or not resp.content:
        found = (yield ApiCall("GET", path, params={"fields": "Id"})).json()
        return UpsertResult(str(found["Id"]), False)
    result = resp.json()
    created = bool(result.get("created", resp.status_code == 201))
    return UpsertResult(str(result["id"]), created)


def delete(sobject: str, record_id: str) -> Steps[None]:
    """Delete one record; a repeat after a lost answer reports ENTITY_IS_DELETED / NOT_FOUND."""
    yield ApiCall("DELETE", f"sobjects/{check_name(sobject)}/{check_id(record_id)}")


def describe(sobject: str) -> Steps[dict[str, Any]]:
    """The describe of an object (uncached; the clients cache)."""
    result: dict[str, Any] = (yield ApiCall("GET", f"sobjects/{check_name(sobject)}/describe")).json()
    return result


class DescribeCache:
    """Describes kept for the life of a client: ``steps(sobject)`` answers from the cache or asks the API.

    Example:
        >>> cache = DescribeCache()
        >>> next(cache.steps("Account")).url
        'sobjects/Account/describe'
    """

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def steps(self, sobject: str) -> Steps[dict[str, Any]]:
        """The describe of ``sobject``, fetched on first use."""
        key = check_name(sobject).lower()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        result = yield from describe(sobject)
        with self._lock:
            self._cache[key] = result
        return result

    def clear(self) -> None:
        """Forget every describe (after metadata changes)."""
        with self._lock:
            self._cache.clear()


def list_objects() -> Steps[list[dict[str, Any]]]:
    """The describe-global entries of every object."""
    body = (yield ApiCall("GET", "sobjects")).json()
    return list(body.get("sobjects", []))


def limits() -> Steps[dict[str, Any]]:
    """The org limits."""
    result: dict[str, Any] = (yield ApiCall("GET", "limits")).json()
    return result


def first_page(
    soql: str, *, include_deleted: bool = False, batch_size: int | None = None
) -> Steps[dict[str, Any]]:
    """The first page of a SOQL query (``queryAll`` with ``include_deleted``)."""
    resource = "queryAll" if include_deleted else "query"
    page: dict[str, Any] = (
        yield ApiCall("GET", resource, params={"q": soql}, headers=query_headers(batch_size))
    ).json()
    return page


def next_page(url: str, batch_size: int | None) -> Steps[dict[str, Any]]:
    """The page at a checked ``nextRecordsUrl`` (paging a cursor is a read: safe to repeat)."""
    page: dict[str, Any] = (yield ApiCall("GET", url, headers=query_headers(batch_size))).json()
    return page


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


def count(text: str) -> Steps[int]:
    """``totalSize`` of a ``SELECT COUNT() ...`` query."""
    resp = yield ApiCall("GET", "query", params={"q": text})
    return int(resp.json().get("totalSize") or 0)


def search(sosl: str) -> Steps[list[dict[str, Any]]]:
    """Run a SOSL search; the matching records, at most 2,000."""
    body = (yield ApiCall("GET", "search", params={"q": sosl})).json()
    records = body.get("searchRecords", []) if isinstance(body, dict) else body
    return [dict(r) for r in records]
