"""``SalesforceClient``: REST CRUD, upsert, describe, limits and SOQL over one ``HttpSession``."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kinetic_core.http.limits import ApiUsage
from kinetic_core.http.paths import check_id, check_name, path_value
from kinetic_core.http.session import HttpSession
from kinetic_core.rest.query import QueryResult, query_headers
from kinetic_core.rest.soql import soql as build_soql

if TYPE_CHECKING:
    from kinetic_core.composite.results import RecordResult
    from kinetic_core.rest.sobject import SObject

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpsertResult:
    """Outcome of an upsert: the record id and whether it was created.

    Example:
        >>> UpsertResult("001000000000001AAA", True).created
        True
    """

    id: str
    created: bool


class SalesforceClient:
    """A Salesforce org: REST CRUD, SOQL, Composite batches, Bulk API 2.0 and the smart loader.

    Build one with ``SalesforceClient.connect(...)`` (configuration from the environment, ``.env``,
    ``orgs.toml`` or the built-in ``local`` org) or ``SalesforceClient(HttpSession(...))``. Close it
    (or use it as a context manager) to release connections and a local emulator it started.

    Example:
        >>> with SalesforceClient.connect("local") as client:  # doctest: +SKIP
        ...     account_id = client.create("Account", {"Name": "Acme"})
        ...     client.get("Account", account_id, fields=["Name"])["Name"]
        'Acme'
    """

    def __init__(
        self,
        session: HttpSession,
        *,
        closers: Sequence[Callable[[], None]] = (),
        org_name: str = "",
        org_source: str = "",
        org_local: bool = False,
    ) -> None:
        self._session = session
        self._closers = list(closers)
        self.org_name = org_name
        self.org_source = org_source
        """Where the org's settings came from (one source: environment, ``.env``, profile...)."""
        self.org_local = org_local
        """True when the org is the built-in local emulator."""
        self._describe_cache: dict[str, dict[str, Any]] = {}
        self._cache_lock = threading.Lock()
        self._bulk: Any = None
        self._closed = False

    # ------------------------------------------------------------------ construction
    @classmethod
    def connect(cls, org: str | None = None, **overrides: Any) -> SalesforceClient:
        """Connect to an org by name, from the environment, or to the built-in ``local`` org.

        Args:
            org: a profile of ``orgs.toml``, ``"local"``, or None (environment / ``.env``, else local).
            **overrides: any ``OrgConfig`` setting (``username=...``, ``api_version=...``), plus session
                options: ``transport``, ``timeouts``, ``connect_timeout``, ``read_timeout``, ``retry``,
                ``bounds`` (a ``ResponseBounds``: size, compression and time limits on every answer),
                ``clock``, ``sleep``, ``rng``, ``monotonic``, and ``environ``/``cwd``/``home`` for the
                configuration lookup.

        Example:
            >>> client = SalesforceClient.connect(org="prod")  # doctest: +SKIP
        """
        from kinetic_core.rest.connect import connect_client

        return connect_client(cls, org, overrides)

    # ------------------------------------------------------------------ plumbing
    @property
    def http(self) -> HttpSession:
        """The session every request of this client goes through."""
        return self._session

    @property
    def api_usage(self) -> ApiUsage | None:
        """API requests used / allowed, from the last ``Sforce-Limit-Info`` header."""
        return self._session.api_usage

    @property
    def api_version(self) -> str:
        """The REST API version in use, e.g. ``"62.0"``."""
        return self._session.api_version

    @property
    def instance_url(self) -> str:
        """The org's instance URL."""
        return self._session.instance_url

    def close(self) -> None:
        """Close connections and stop a local emulator this client started. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._session.close()
        finally:
            for closer in reversed(self._closers):
                closer()

    def __enter__(self) -> SalesforceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SalesforceClient({self.org_name or 'org'}, {self._session!r})"

    # ------------------------------------------------------------------ CRUD
    def create(self, sobject: str, data: Mapping[str, Any]) -> str:
        """Create one record and return its id.

        Example:
            >>> client.create("Account", {"Name": "Acme"})  # doctest: +SKIP
            '001...'
        """
        # POST create is not idempotent: a lost answer is never re-sent (see kinetic_core.http.retry).
        resp = self._session.request("POST", f"sobjects/{check_name(sobject)}", json=dict(data), retry=False)
        return str(resp.json()["id"])

    def get(self, sobject: str, record_id: str, fields: Iterable[str] | None = None) -> dict[str, Any]:
        """Read one record by id, optionally only ``fields``.

        Example:
            >>> client.get("Account", "001...", fields=["Name"])  # doctest: +SKIP
        """
        params = {"fields": ",".join(check_name(f, "field") for f in fields)} if fields else None
        # GET is a read: safe to repeat.
        resp = self._session.request(
            "GET", f"sobjects/{check_name(sobject)}/{check_id(record_id)}", params=params, retry=True
        )
        result: dict[str, Any] = resp.json()
        return result

    def update(self, sobject: str, record_id: str, data: Mapping[str, Any]) -> None:
        """Update one record by id (``Id`` and ``attributes`` keys of ``data`` are ignored).

        Example:
            >>> client.update("Account", "001...", {"Phone": "555"})  # doctest: +SKIP
        """
        body = {k: v for k, v in data.items() if k not in ("Id", "attributes")}
        # PATCH by id sets the same values again when repeated: idempotent.
        self._session.request(
            "PATCH", f"sobjects/{check_name(sobject)}/{check_id(record_id)}", json=body, retry=True
        )

    def upsert(
        self, sobject: str, external_id_field: str, external_id: str, data: Mapping[str, Any]
    ) -> UpsertResult:
        """Insert or update the record whose ``external_id_field`` equals ``external_id``.

        Answers 201 (created), 200 (updated, API 46+) and 204 (updated, older APIs: the id is then read
        back by external id) all give an ``UpsertResult``. Several matches raise ``MultipleRecordsError``.

        Example:
            >>> client.upsert("Account", "External_Id__c", "A-1", {"Name": "Acme"})  # doctest: +SKIP
            UpsertResult(id='001...', created=True)
        """
        body = {k: v for k, v in data.items() if k not in ("Id", "attributes")}
        if external_id_field in body and str(body.pop(external_id_field)) != str(external_id):
            raise ValueError(f"{external_id_field} in data differs from the external id {external_id!r}")
        field = check_name(external_id_field, "field")
        path = f"sobjects/{check_name(sobject)}/{field}/{path_value(external_id, f'{field} value')}"
        # Upsert by external id is idempotent: a repeat finds the record the first try created and
        # updates it with the same values (it would then report created=False).
        resp = self._session.request("PATCH", path, json=body, retry=True)
        if resp.status_code == 204 or not resp.content:
            found = self._session.request("GET", path, params={"fields": "Id"}, retry=True).json()
            return UpsertResult(str(found["Id"]), False)
        result = resp.json()
        created = bool(result.get("created", resp.status_code == 201))
        return UpsertResult(str(result["id"]), created)

    def delete(self, sobject: str, record_id: str) -> None:
        """Delete one record (to the recycle bin).

        Example:
            >>> client.delete("Account", "001...")  # doctest: +SKIP
        """
        # DELETE is idempotent; a repeat after a lost answer reports ENTITY_IS_DELETED / NOT_FOUND.
        self._session.request("DELETE", f"sobjects/{check_name(sobject)}/{check_id(record_id)}", retry=True)

    # ------------------------------------------------------------------ metadata
    def describe(self, sobject: str) -> dict[str, Any]:
        """The describe of an object, cached for the life of the client.

        Example:
            >>> [f["name"] for f in client.describe("Account")["fields"]][:2]  # doctest: +SKIP
            ['Id', 'IsDeleted']
        """
        key = check_name(sobject).lower()
        with self._cache_lock:
            cached = self._describe_cache.get(key)
        if cached is not None:
            return cached
        result: dict[str, Any] = self._session.request(
            "GET", f"sobjects/{check_name(sobject)}/describe", retry=True
        ).json()
        with self._cache_lock:
            self._describe_cache[key] = result
        return result

    def clear_describe_cache(self) -> None:
        """Forget cached describes (after metadata changes)."""
        with self._cache_lock:
            self._describe_cache.clear()

    def list_objects(self) -> list[dict[str, Any]]:
        """The describe-global entries of every object (``name``, ``label``, ``createable``...)."""
        body = self._session.request("GET", "sobjects", retry=True).json()
        return list(body.get("sobjects", []))

    def limits(self) -> dict[str, Any]:
        """The org limits (``{"DailyApiRequests": {"Max": .., "Remaining": ..}, ...}``)."""
        result: dict[str, Any] = self._session.request("GET", "limits", retry=True).json()
        return result

    # ------------------------------------------------------------------ SOQL
    def query(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> QueryResult:
        """Run a SOQL query; iterate the result to walk every page lazily.

        Example:
            >>> names = [r["Name"] for r in client.query("SELECT Name FROM Account")]  # doctest: +SKIP
        """
        resource = "queryAll" if include_deleted else "query"
        # A query is a read: safe to repeat.
        resp = self._session.request(
            "GET", resource, params={"q": soql}, headers=query_headers(batch_size), retry=True
        )
        return QueryResult(self._session, resp.json(), batch_size=batch_size)

    def query_all(self, soql: str, *, batch_size: int | None = None) -> QueryResult:
        """Like ``query`` but including deleted and archived records (``queryAll``)."""
        return self.query(soql, include_deleted=True, batch_size=batch_size)

    def query_one(self, soql: str, *, include_deleted: bool = False) -> dict[str, Any] | None:
        """The first record of a query, or None; fetches a single small page.

        Example:
            >>> client.query_one(soql("SELECT Id FROM Account WHERE Name = {}", "Acme"))  # doctest: +SKIP
        """
        result = self.query(soql, include_deleted=include_deleted, batch_size=200)
        return next(result, None)

    def count(self, sobject_or_soql: str, where: str | None = None, *values: Any) -> int:
        """Count records: ``count("Account")``, ``count("Account", "Name = {}", "Acme")`` or a full
        ``SELECT COUNT() ...`` query.

        Example:
            >>> client.count("Contact", "Email = {}", "a@b.c")  # doctest: +SKIP
            1
        """
        if sobject_or_soql.lstrip()[:6].upper() == "SELECT":
            text = sobject_or_soql
        else:
            text = f"SELECT COUNT() FROM {check_name(sobject_or_soql)}"
            if where:
                text += " WHERE " + build_soql(where, *values)
        resp = self._session.request("GET", "query", params={"q": text}, retry=True)
        return int(resp.json().get("totalSize") or 0)

    # ------------------------------------------------------------------ SOSL
    def search(self, sosl: str) -> list[dict[str, Any]]:
        """Run a SOSL search; the matching records (``attributes`` first), at most 2,000.

        Example:
            >>> client.search("FIND {Acme*} IN NAME FIELDS RETURNING Account(Id, Name)")  # doctest: +SKIP
            [{'attributes': {'type': 'Account', ...}, 'Id': '001...', 'Name': 'Acme'}]
        """
        # A search is a read: safe to repeat.
        body = self._session.request("GET", "search", params={"q": sosl}, retry=True).json()
        records = body.get("searchRecords", []) if isinstance(body, dict) else body
        return [dict(r) for r in records]

    def sobject(self, name: str) -> SObject:
        """A helper bound to one object: ``client.sobject("Account").create({...})``."""
        from kinetic_core.rest.sobject import SObject

        return SObject(self, check_name(name))

    # ------------------------------------------------------------------ replication
    def get_deleted(self, sobject: str, start: dt.datetime, end: dt.datetime) -> Any:
        """Records of ``sobject`` deleted between ``start`` and ``end`` (``DeletedRecords``).

        Example:
            >>> window = client.get_deleted("Account", since, now)   # doctest: +SKIP
            >>> window.ids, window.latest_date_covered                 # doctest: +SKIP
        """
        from kinetic_core.rest.replication import get_deleted

        return get_deleted(self._session, check_name(sobject), start, end)

    def get_updated(self, sobject: str, start: dt.datetime, end: dt.datetime) -> Any:
        """Ids of the records of ``sobject`` created or changed between ``start`` and ``end``."""
        from kinetic_core.rest.replication import get_updated

        return get_updated(self._session, check_name(sobject), start, end)

    # ------------------------------------------------------------------ composite
    def create_batch(
        self,
        sobject: str,
        records: Iterable[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        concurrency: int = 1,
    ) -> list[RecordResult]:
        """Create any number of records through sObject Collections (chunks of 200); see ``composite``."""
        from kinetic_core.composite.collections import create_batch

        return create_batch(self._session, sobject, records, all_or_none=all_or_none, concurrency=concurrency)

    def update_batch(
        self,
        sobject: str,
        records: Iterable[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        concurrency: int = 1,
    ) -> list[RecordResult]:
        """Update any number of records (each with ``Id``) through sObject Collections."""
        from kinetic_core.composite.collections import update_batch

        return update_batch(self._session, sobject, records, all_or_none=all_or_none, concurrency=concurrency)

    def upsert_batch(
        self,
        sobject: str,
        records: Iterable[Mapping[str, Any]],
        external_id_field: str,
        *,
        all_or_none: bool = False,
        concurrency: int = 1,
    ) -> list[RecordResult]:
        """Upsert any number of records on ``external_id_field`` through sObject Collections."""
        from kinetic_core.composite.collections import upsert_batch

        return upsert_batch(
            self._session,
            sobject,
            records,
            external_id_field,
            all_or_none=all_or_none,
            concurrency=concurrency,
        )

    def delete_batch(
        self, ids: Iterable[str], *, all_or_none: bool = False, concurrency: int = 1
    ) -> list[RecordResult]:
        """Delete any number of records by id through sObject Collections."""
        from kinetic_core.composite.collections import delete_batch

        return delete_batch(self._session, ids, all_or_none=all_or_none, concurrency=concurrency)

    def composite(self, steps: Iterable[Any], *, all_or_none: bool = False) -> list[Any]:
        """Up to 25 dependent steps in one ``/composite`` call (``@{ref.id}`` links them).

        Returns one ``SubResponse`` per step; see ``kinetic_core.composite.subrequests``.

        Example:
            >>> from kinetic_core.composite import SubRequest
            >>> client.composite([                                                     # doctest: +SKIP
            ...     SubRequest("POST", "sobjects/Account", "acct", {"Name": "Acme"}),
            ...     SubRequest("GET", "sobjects/Account/@{acct.id}", "read"),
            ... ], all_or_none=True)[1].body["Name"]
            'Acme'
        """
        from kinetic_core.composite.subrequests import composite

        return composite(self._session, steps, all_or_none=all_or_none)

    def batch(self, steps: Iterable[Any], *, halt_on_error: bool = False) -> list[Any]:
        """Up to 25 independent steps in one ``/composite/batch`` call; one ``SubResponse`` each."""
        from kinetic_core.composite.subrequests import batch

        return batch(self._session, steps, halt_on_error=halt_on_error)

    def tree(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> Any:
        """Create up to 200 records with their children in one all-or-nothing ``/composite/tree`` call.

        Children go under their relationship name (``{"Name": "Acme", "Contacts": [{...}]}``); their
        object comes from the parent's describe. Returns a ``TreeResult`` (ids by reference id).
        """
        from kinetic_core.composite.subrequests import tree

        known: dict[str, dict[str, str]] = {}  # one describe per parent object, not per record

        def child_types(parent: str) -> dict[str, str]:
            if parent not in known:
                relations = self.describe(parent).get("childRelationships") or []
                known[parent] = {
                    str(r["relationshipName"]).lower(): str(r["childSObject"])
                    for r in relations
                    if r.get("relationshipName") and r.get("childSObject")
                }
            return known[parent]

        return tree(self._session, sobject, records, child_types=child_types)

    # ------------------------------------------------------------------ bulk and router
    @property
    def bulk(self) -> Any:
        """The Bulk API 2.0 client (``kinetic_core.bulk.BulkClient``), built on first use."""
        if self._bulk is None:
            bulk_module = importlib.import_module("kinetic_core.bulk")
            self._bulk = bulk_module.BulkClient(self)
        return self._bulk

    def load(
        self, sobject: str, records: Any, operation: str = "insert", strategy: str = "auto", **kwargs: Any
    ) -> Any:
        """Load records through the cheapest API (``kinetic_core.load.load``).

        Example:
            >>> client.load("Contact", "contacts.csv", operation="upsert")  # doctest: +SKIP
        """
        router = importlib.import_module("kinetic_core.load")
        return router.load(self, sobject, records, operation=operation, strategy=strategy, **kwargs)

    def smart_insert(self, sobject: str, records: Any, **kwargs: Any) -> Any:
        """``load(sobject, records, operation="insert")``."""
        return self.load(sobject, records, operation="insert", **kwargs)
