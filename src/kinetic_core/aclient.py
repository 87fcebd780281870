"""``AsyncSalesforceClient``: the asyncio twin of ``SalesforceClient``.

Every operation is the same one the sync client runs (``kinetic_core.rest.ops``,
``kinetic_core.composite``: the same paths, bodies, retry flags and parsing), driven over an
``AsyncHttpSession`` instead of an ``HttpSession``: the same results, errors, retries and limits
tracking, awaited. One client serves any number of concurrent tasks; its connection pool bounds how
many calls are in flight (``max_connections``, default 20), and concurrent tasks that meet an expired
session share one token renewal.

Example:
    >>> import asyncio
    >>> async def main() -> None:                                          # doctest: +SKIP
    ...     async with AsyncSalesforceClient.connect("local") as client:
    ...         ids = await asyncio.gather(*(client.create("Account", {"Name": f"A{n}"}) for n in range(50)))
    ...         async for row in client.query("SELECT Id, Name FROM Account"):
    ...             print(row["Name"])
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self, Unpack

from kinetic_core.composite.collections import (
    CHUNK_SIZE,
    create_run,
    delete_run,
    update_run,
    upsert_run,
)
from kinetic_core.composite.subrequests import (
    SubRequest,
    SubResponse,
    TreeResult,
    batch_steps,
    composite_steps,
    described_child_types,
    tree_steps,
)
from kinetic_core.http.limits import ApiUsage
from kinetic_core.http.steps import arun
from kinetic_core.rest import ops
from kinetic_core.rest.ops import UpsertResult
from kinetic_core.rest.query import AsyncQueryResult

if TYPE_CHECKING:
    from kinetic_core.bulk.aclient import AsyncBulkClient
    from kinetic_core.bulk.loadopts import BulkOptions
    from kinetic_core.composite.results import RecordResult
    from kinetic_core.connect import AsyncConnectOptions
    from kinetic_core.http.asession import AsyncHttpSession
    from kinetic_core.inputs import LoadInput
    from kinetic_core.load import CostModel, LoadResult, Thresholds

logger = logging.getLogger(__name__)


class AsyncSalesforceClient:
    """A Salesforce org for asyncio: REST CRUD, SOQL and Composite, every call awaited.

    Build one with ``AsyncSalesforceClient.connect(...)`` (the configuration sources of
    ``SalesforceClient.connect``: environment, ``.env``, ``orgs.toml`` or the built-in ``local``
    org) or ``AsyncSalesforceClient(AsyncHttpSession(...))``. Use it as ``async with`` (or
    ``await client.aclose()``) to release connections and a local emulator it started.

    Example:
        >>> async with AsyncSalesforceClient.connect("local") as client:  # doctest: +SKIP
        ...     account_id = await client.create("Account", {"Name": "Acme"})
        ...     (await client.get("Account", account_id, fields=["Name"]))["Name"]
        'Acme'
    """

    def __init__(
        self,
        session: AsyncHttpSession,
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
        self._bulk: AsyncBulkClient | None = None
        self._closed = False

    # ------------------------------------------------------------------ construction
    @classmethod
    def connect(cls, org: str | None = None, **overrides: Unpack[AsyncConnectOptions]) -> Self:
        """Connect to an org by name, from the environment, or to the built-in ``local`` org.

        Takes the arguments of ``SalesforceClient.connect``, plus ``max_connections`` (calls in
        flight at most; default 20); ``sleep``, when given, is awaited between tries. No call is made
        until the first operation (which logs in). A ``local`` org with no emulator running is
        started here, in a thread of this process.

        Example:
            >>> async with AsyncSalesforceClient.connect(org="prod") as client:  # doctest: +SKIP
            ...     print(await client.limits())
        """
        from kinetic_core.connect import open_async_org

        opened = open_async_org(org, overrides)
        return cls(
            opened.session,
            closers=opened.closers,
            org_name=opened.config.name,
            org_source=opened.config.source,
            org_local=opened.config.local,
        )

    # ------------------------------------------------------------------ plumbing
    @property
    def http(self) -> AsyncHttpSession:
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

    async def aclose(self) -> None:
        """Close connections and stop a local emulator this client started. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._session.aclose()
        finally:
            for closer in reversed(self._closers):
                closer()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncSalesforceClient({self.org_name or 'org'}, {self._session!r})"

    # ------------------------------------------------------------------ CRUD
    async def create(self, sobject: str, data: Mapping[str, Any]) -> str:
        """Create one record and return its id (never re-sent after a lost answer).

        Example:
            >>> await client.create("Account", {"Name": "Acme"})  # doctest: +SKIP
            '001...'
        """
        return await arun(self._session, ops.create(sobject, data))

    async def get(self, sobject: str, record_id: str, fields: Iterable[str] | None = None) -> dict[str, Any]:
        """Read one record by id, optionally only ``fields``."""
        return await arun(self._session, ops.get(sobject, record_id, fields))

    async def update(self, sobject: str, record_id: str, data: Mapping[str, Any]) -> None:
        """Update one record by id (``Id`` and ``attributes`` keys of ``data`` are ignored)."""
        await arun(self._session, ops.update(sobject, record_id, data))

    async def upsert(
        self, sobject: str, external_id_field: str, external_id: str, data: Mapping[str, Any]
    ) -> UpsertResult:
        """Insert or update the record whose ``external_id_field`` equals ``external_id``."""
        return await arun(self._session, ops.upsert(sobject, external_id_field, external_id, data))

    async def delete(self, sobject: str, record_id: str) -> None:
        """Delete one record (to the recycle bin)."""
        await arun(self._session, ops.delete(sobject, record_id))

    # ------------------------------------------------------------------ metadata
    async def describe(self, sobject: str) -> dict[str, Any]:
        """The describe of an object, cached for the life of the client."""
        return await arun(self._session, self._describes.steps(sobject))

    def clear_describe_cache(self) -> None:
        """Forget cached describes (after metadata changes)."""
        self._describes.clear()

    async def list_objects(self) -> list[dict[str, Any]]:
        """The describe-global entries of every object (``name``, ``label``, ``createable``...)."""
        return await arun(self._session, ops.list_objects())

    async def limits(self) -> dict[str, Any]:
        """The org limits (``{"DailyApiRequests": {"Max": .., "Remaining": ..}, ...}``)."""
        return await arun(self._session, ops.limits())

    # ------------------------------------------------------------------ SOQL and SOSL
    def query(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> AsyncQueryResult:
        """A SOQL query: ``async for`` walks every page lazily; ``await`` fetches the first page now.

        Example:
            >>> names = [r["Name"] async for r in client.query("SELECT Name FROM Account")]  # doctest: +SKIP
        """
        first = ops.first_page(soql, include_deleted=include_deleted, batch_size=batch_size)
        return AsyncQueryResult(self._session, first, batch_size=batch_size)

    def query_all(self, soql: str, *, batch_size: int | None = None) -> AsyncQueryResult:
        """Like ``query`` but including deleted and archived records (``queryAll``)."""
        return self.query(soql, include_deleted=True, batch_size=batch_size)

    async def query_one(self, soql: str, *, include_deleted: bool = False) -> dict[str, Any] | None:
        """The first record of a query, or None; fetches a single small page."""
        result = self.query(soql, include_deleted=include_deleted, batch_size=200)
        return await anext(result, None)

    async def count(self, sobject_or_soql: str, where: str | None = None, *values: Any) -> int:
        """Count records: ``count("Account")``, ``count("Account", "Name = {}", "Acme")`` or a full
        ``SELECT COUNT() ...`` query."""
        return await arun(self._session, ops.count(ops.count_query(sobject_or_soql, where, *values)))

    async def search(self, sosl: str) -> list[dict[str, Any]]:
        """Run a SOSL search; the matching records, at most 2,000."""
        return await arun(self._session, ops.search(sosl))

    # ------------------------------------------------------------------ composite
    async def create_batch(
        self,
        sobject: str,
        records: Iterable[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        concurrency: int = 1,
        chunk_size: int = CHUNK_SIZE,
    ) -> list[RecordResult]:
        """Create any number of records through sObject Collections (chunks of 200, ``concurrency``
        in flight); one ``RecordResult`` per record, in input order."""
        plan = create_run(sobject, all_or_none=all_or_none)
        return await plan.arun(self._session, records, concurrency, chunk_size)

    async def update_batch(
        self,
        sobject: str,
        records: Iterable[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        concurrency: int = 1,
        chunk_size: int = CHUNK_SIZE,
    ) -> list[RecordResult]:
        """Update any number of records (each with ``Id``) through sObject Collections."""
        plan = update_run(sobject, all_or_none=all_or_none)
        return await plan.arun(self._session, records, concurrency, chunk_size)

    async def upsert_batch(
        self,
        sobject: str,
        records: Iterable[Mapping[str, Any]],
        external_id_field: str,
        *,
        all_or_none: bool = False,
        concurrency: int = 1,
        chunk_size: int = CHUNK_SIZE,
    ) -> list[RecordResult]:
        """Upsert any number of records on ``external_id_field`` through sObject Collections."""
        plan = upsert_run(sobject, external_id_field, all_or_none=all_or_none)
        return await plan.arun(self._session, records, concurrency, chunk_size)

    async def delete_batch(
        self,
        ids: Iterable[str],
        *,
        all_or_none: bool = False,
        concurrency: int = 1,
        chunk_size: int = CHUNK_SIZE,
    ) -> list[RecordResult]:
        """Delete any number of records by id through sObject Collections."""
        plan = delete_run(all_or_none=all_or_none)
        return await plan.arun(self._session, ids, concurrency, chunk_size)

    async def composite(
        self, steps: Iterable[SubRequest | Mapping[str, Any]], *, all_or_none: bool = False
    ) -> list[SubResponse]:
        """Up to 25 dependent steps in one ``/composite`` call (``@{ref.id}`` links them)."""
        return await arun(self._session, composite_steps(self.api_version, steps, all_or_none=all_or_none))

    async def batch(
        self, steps: Iterable[SubRequest | Mapping[str, Any]], *, halt_on_error: bool = False
    ) -> list[SubResponse]:
        """Up to 25 independent steps in one ``/composite/batch`` call; one ``SubResponse`` each."""
        return await arun(self._session, batch_steps(self.api_version, steps, halt_on_error=halt_on_error))

    async def tree(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> TreeResult:
        """Create up to 200 records with their children in one all-or-nothing ``/composite/tree`` call
        (children's objects from the parents' describes)."""
        child_types = described_child_types(self._describes.steps)
        return await arun(self._session, tree_steps(sobject, records, child_types))

    # ------------------------------------------------------------------ bulk and the smart loader
    @property
    def bulk(self) -> AsyncBulkClient:
        """The Bulk API 2.0 client (``kinetic_core.bulk.aclient.AsyncBulkClient``), built on first use.

        Example:
            >>> result = await client.bulk.insert("Account", [{"Name": "Acme"}])  # doctest: +SKIP
        """
        if self._bulk is None:
            # Imported on first use: the Bulk API modules cost a program that never uses them.
            from kinetic_core.bulk.aclient import AsyncBulkClient

            self._bulk = AsyncBulkClient(self)
        return self._bulk

    async def load(
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
        """Load records through the cheapest API (``kinetic_core.load.aload``): the arguments of
        ``SalesforceClient.load``, and the same decision, reason and ``LoadResult``.

        Example:
            >>> result = await client.load("Contact", "contacts.csv", operation="upsert",  # doctest: +SKIP
            ...                            external_id_field="Ext__c")
            >>> result.strategy, result.reason                                             # doctest: +SKIP
        """
        # Imported on first use, like ``bulk``: the loader brings the Bulk API and input adapters.
        from kinetic_core.load.run import aload

        return await aload(
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

    async def smart_insert(
        self,
        sobject: str,
        records: LoadInput,
        strategy: str = "auto",
        *,
        thresholds: Thresholds | None = None,
        model: CostModel | None = None,
        **options: Unpack[BulkOptions],
    ) -> LoadResult:
        """``await load(sobject, records, operation="insert")``: the same strategy, thresholds and options."""
        return await self.load(
            sobject, records, "insert", strategy, thresholds=thresholds, model=model, **options
        )
