"""``SalesforceClient``: the front door. It composes the APIs below it, each over one ``HttpSession``.

Layers, top-down: this module -> the smart loader (``kinetic_core.load``) -> ``bulk`` | ``composite``
| ``rest`` -> ``http`` | ``auth`` -> ``errors`` and the records helpers. ``kinetic_core.connect`` opens
an org (configuration, session and, for ``local``, the emulator through ``kinetic_core.localorg``).
The loader and Bulk API modules are imported when first used, so a program that only reads records
does not load them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self, Unpack

from kinetic_core.http.limits import ApiUsage
from kinetic_core.http.paths import check_name
from kinetic_core.http.session import HttpSession
from kinetic_core.http.steps import run
from kinetic_core.rest import crud, ops
from kinetic_core.rest.crud import UpsertResult
from kinetic_core.rest.query import QueryResult

# Composite, replication, Bulk API, the loader and opening an org (configuration files, the local
# emulator) are imported inside the methods that use them: ``import kinetic_core`` and a program that
# only reads records stay light (about 80 ms less at start-up, measured with ``-X importtime``).
if TYPE_CHECKING:
    from kinetic_core.bulk.client import BulkClient
    from kinetic_core.bulk.loadopts import BulkOptions
    from kinetic_core.composite.results import RecordResult
    from kinetic_core.composite.subrequests import SubRequest, SubResponse, TreeResult
    from kinetic_core.connect import ConnectOptions
    from kinetic_core.inputs import LoadInput
    from kinetic_core.load import CostModel, LoadResult, Thresholds
    from kinetic_core.rest.replication import DeletedRecords, UpdatedRecords

logger = logging.getLogger(__name__)


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
        self._describes = ops.DescribeCache()
        self._bulk: BulkClient | None = None
        self._closed = False

    # ------------------------------------------------------------------ construction
    @classmethod
    def connect(cls, org: str | None = None, **overrides: Unpack[ConnectOptions]) -> Self:
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
        from kinetic_core.connect import open_org

        opened = open_org(org, overrides)
        config = opened.config
        return cls(
            opened.session,
            closers=opened.closers,
            org_name=config.name,
            org_source=config.source,
            org_local=config.local,
        )

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

    def __enter__(self) -> Self:
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
        return crud.create(self._session, sobject, data)

    def get(self, sobject: str, record_id: str, fields: Iterable[str] | None = None) -> dict[str, Any]:
        """Read one record by id, optionally only ``fields``.

        Example:
            >>> client.get("Account", "001...", fields=["Name"])  # doctest: +SKIP
        """
        return crud.get(self._session, sobject, record_id, fields)

    def update(self, sobject: str, record_id: str, data: Mapping[str, Any]) -> None:
        """Update one record by id (``Id`` and ``attributes`` keys of ``data`` are ignored).

        Example:
            >>> client.update("Account", "001...", {"Phone": "555"})  # doctest: +SKIP
        """
        crud.update(self._session, sobject, record_id, data)

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
        return crud.upsert(self._session, sobject, external_id_field, external_id, data)

    def delete(self, sobject: str, record_id: str) -> None:
        """Delete one record (to the recycle bin).

        Example:
            >>> client.delete("Account", "001...")  # doctest: +SKIP
        """
        crud.delete(self._session, sobject, record_id)

    # ------------------------------------------------------------------ metadata
    def describe(self, sobject: str) -> dict[str, Any]:
        """The describe of an object, cached for the life of the client.

        Example:
            >>> [f["name"] for f in client.describe("Account")["fields"]][:2]  # doctest: +SKIP
            ['Id', 'IsDeleted']
        """
        return run(self._session, self._describes.steps(sobject))

    def clear_describe_cache(self) -> None:
        """Forget cached describes (after metadata changes)."""
        self._describes.clear()

    def list_objects(self) -> list[dict[str, Any]]:
        """The describe-global entries of every object (``name``, ``label``, ``createable``...)."""
        return crud.list_objects(self._session)

    def limits(self) -> dict[str, Any]:
        """The org limits (``{"DailyApiRequests": {"Max": .., "Remaining": ..}, ...}``)."""
        return crud.limits(self._session)

    # ------------------------------------------------------------------ SOQL and SOSL
    def query(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> QueryResult:
        """Run a SOQL query; iterate the result to walk every page lazily.

        Example:
            >>> names = [r["Name"] for r in client.query("SELECT Name FROM Account")]  # doctest: +SKIP
        """
        return crud.query(self._session, soql, include_deleted=include_deleted, batch_size=batch_size)

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
        return crud.count(self._session, crud.count_query(sobject_or_soql, where, *values))

    def search(self, sosl: str) -> list[dict[str, Any]]:
        """Run a SOSL search; the matching records (``attributes`` first), at most 2,000.

        Example:
            >>> client.search("FIND {Acme*} IN NAME FIELDS RETURNING Account(Id, Name)")  # doctest: +SKIP
            [{'attributes': {'type': 'Account', ...}, 'Id': '001...', 'Name': 'Acme'}]
        """
        return crud.search(self._session, sosl)

    def sobject(self, name: str) -> SObject:
        """A helper bound to one object: ``client.sobject("Account").create({...})``."""
        return SObject(self, check_name(name))

    # ------------------------------------------------------------------ replication
    def get_deleted(self, sobject: str, start: dt.datetime, end: dt.datetime) -> DeletedRecords:
        """Records of ``sobject`` deleted between ``start`` and ``end`` (``DeletedRecords``).

        Example:
            >>> window = client.get_deleted("Account", since, now)   # doctest: +SKIP
            >>> window.ids, window.latest_date_covered                 # doctest: +SKIP
        """
        from kinetic_core.rest.replication import get_deleted

        return get_deleted(self._session, check_name(sobject), start, end)

    def get_updated(self, sobject: str, start: dt.datetime, end: dt.datetime) -> UpdatedRecords:
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

    def composite(
        self, steps: Iterable[SubRequest | Mapping[str, Any]], *, all_or_none: bool = False
    ) -> list[SubResponse]:
        """Up to 25 dependent steps in one ``/composite`` call (``@{ref.id}`` links them).

        Returns one ``SubResponse`` per step; see ``kinetic_core.composite.subrequests``.

        Example:
            >>> from kinetic_core import SubRequest
            >>> client.composite([                                                     # doctest: +SKIP
            ...     SubRequest("POST", "sobjects/Account", "acct", {"Name": "Acme"}),
            ...     SubRequest("GET", "sobjects/Account/@{acct.id}", "read"),
            ... ], all_or_none=True)[1].body["Name"]
            'Acme'
        """
        from kinetic_core.composite.subrequests import composite

        return composite(self._session, steps, all_or_none=all_or_none)

    def batch(
        self, steps: Iterable[SubRequest | Mapping[str, Any]], *, halt_on_error: bool = False
    ) -> list[SubResponse]:
        """Up to 25 independent steps in one ``/composite/batch`` call; one ``SubResponse`` each."""
        from kinetic_core.composite.subrequests import batch

        return batch(self._session, steps, halt_on_error=halt_on_error)

    def tree(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> TreeResult:
        """Create up to 200 records with their children in one all-or-nothing ``/composite/tree`` call.

        Children go under their relationship name (``{"Name": "Acme", "Contacts": [{...}]}``); their
        object comes from the parent's describe. Returns a ``TreeResult`` (ids by reference id).
        """
        from kinetic_core.composite.subrequests import described_child_types, tree_steps

        child_types = described_child_types(self._describes.steps)  # the client's describe cache
        return run(self._session, tree_steps(sobject, records, child_types))

    # ------------------------------------------------------------------ bulk and the smart loader
    @property
    def bulk(self) -> BulkClient:
        """The Bulk API 2.0 client (``kinetic_core.bulk.BulkClient``), built on first use."""
        if self._bulk is None:
            # Imported on first use: the Bulk API modules cost a program that never uses them.
            from kinetic_core.bulk.client import BulkClient

            self._bulk = BulkClient(self)
        return self._bulk

    def load(
        self,
        sobject: str,
        records: LoadInput,
        operation: str = "insert",
        strategy: str = "auto",
        *,
        external_id_field: str | None = None,
        thresholds: Thresholds | None = None,
        model: CostModel | None = None,
        **options: Unpack[BulkOptions],
    ) -> LoadResult:
        """Load records through the cheapest API (``kinetic_core.load.load``).

        Args:
            sobject: object API name.
            records: a CSV path, an open CSV file, an iterable of dicts (or of ids, for deletes), a
                pandas/polars DataFrame or an Arrow table (``kinetic_core.inputs.LoadInput``).
            operation: ``insert``, ``update``, ``upsert``, ``delete`` or ``hard_delete`` (Bulk only).
            strategy: ``auto``, ``rest``, ``composite`` or ``bulk``.
            external_id_field: the upsert key.
            thresholds: switch points that override the cost model, and the reserves.
            model: the org's speeds (``kinetic_core.load.CostModel``).
            **options: the Bulk API options of ``client.bulk.insert`` (``results_dir``, ``timeout``,
                ``on_event``...), used when the load goes through Bulk.

        Example:
            >>> client.load("Contact", "contacts.csv", operation="upsert",  # doctest: +SKIP
            ...             external_id_field="Ext__c")
        """
        # Imported on first use, like ``bulk``: the loader brings the Bulk API and input adapters.
        from kinetic_core.load import load

        return load(
            self,
            sobject,
            records,
            operation=operation,
            strategy=strategy,
            external_id_field=external_id_field,
            thresholds=thresholds,
            model=model,
            **options,
        )

    def smart_insert(
        self,
        sobject: str,
        records: LoadInput,
        strategy: str = "auto",
        *,
        thresholds: Thresholds | None = None,
        model: CostModel | None = None,
        **options: Unpack[BulkOptions],
    ) -> LoadResult:
        """``load(sobject, records, operation="insert")``: the same strategy, thresholds and options."""
        return self.load(sobject, records, "insert", strategy, thresholds=thresholds, model=model, **options)


class SObject:
    """Operations on one object type, for code that works on a single type.

    Example:
        >>> accounts = client.sobject("Account")  # doctest: +SKIP
        >>> accounts.create({"Name": "Acme"})  # doctest: +SKIP
    """

    def __init__(self, client: SalesforceClient, name: str) -> None:
        self.client = client
        self.name = name

    def __repr__(self) -> str:
        return f"SObject({self.name!r})"

    def create(self, data: Mapping[str, Any]) -> str:
        """Create one record; returns its id."""
        return self.client.create(self.name, data)

    def get(self, record_id: str, fields: Iterable[str] | None = None) -> dict[str, Any]:
        """Read one record."""
        return self.client.get(self.name, record_id, fields=fields)

    def update(self, record_id: str, data: Mapping[str, Any]) -> None:
        """Update one record."""
        self.client.update(self.name, record_id, data)

    def upsert(self, external_id_field: str, external_id: str, data: Mapping[str, Any]) -> UpsertResult:
        """Upsert one record by external id."""
        return self.client.upsert(self.name, external_id_field, external_id, data)

    def delete(self, record_id: str) -> None:
        """Delete one record."""
        self.client.delete(self.name, record_id)

    def describe(self) -> dict[str, Any]:
        """The (cached) describe."""
        return self.client.describe(self.name)

    def count(self, where: str | None = None, *values: Any) -> int:
        """Count records, optionally filtered (``where`` filled like ``soql``)."""
        return self.client.count(self.name, where, *values)

    def create_batch(self, records: Iterable[Mapping[str, Any]], **kwargs: Any) -> list[RecordResult]:
        """Composite create of many records."""
        return self.client.create_batch(self.name, records, **kwargs)
