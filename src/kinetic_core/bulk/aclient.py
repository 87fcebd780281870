"""``AsyncBulkClient``: Bulk API 2.0 for ``AsyncSalesforceClient``, every call awaited.

The twin of :class:`~kinetic_core.bulk.client.BulkClient`: the same options, results
(``BulkResult`` with input row numbers, result files), errors, splitting, parallel jobs, adaptive
polling, progress events and job manifests, because it runs the same steps
(``kinetic_core.bulk.jobs``, ``.poller``, ``.ingest``, ``.query``, ``.resume``) over an
``AsyncHttpSession``: only how a step is awaited differs.

Example:
    >>> async with AsyncSalesforceClient.connect("local") as client:       # doctest: +SKIP
    ...     result = await client.bulk.insert("Account", [{"Name": "Acme"}])
    ...     rows = await client.bulk.query("SELECT Id, Name FROM Account")
    ...     names = [row["Name"] async for row in rows]
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Unpack, overload

from kinetic_core.bulk.aframes import read_dataframe
from kinetic_core.bulk.control import JobSteps
from kinetic_core.bulk.events import BulkEvent
from kinetic_core.bulk.frames import require_frame_library
from kinetic_core.bulk.jobs import (
    JobPages,
    abort_job_steps,
    close_job_steps,
    delete_job_steps,
    upload_steps,
)
from kinetic_core.bulk.loadopts import BulkOptions
from kinetic_core.bulk.models import ColumnDelimiter, JobInfo, JobKind, LineEnding, Operation
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.bulk.query import (
    PageData,
    PageWalk,
    QueryExport,
    _page_records,
    export_steps,
    query_job_steps,
)
from kinetic_core.http.afiles import off_loop
from kinetic_core.http.steps import Flow, arun

if TYPE_CHECKING:
    import pandas
    import polars

    from kinetic_core.bulk.client import QueryOptions
    from kinetic_core.bulk.results import BulkResult
    from kinetic_core.http.asession import AsyncHttpSession

Records = Any
"""An iterable of dicts, a CSV path (str/Path) or a pandas/polars DataFrame."""

Row = dict[str, str | None]
"""One record of a query result: column -> text (None for an empty cell)."""

ROWS_PER_READ = 2000
"""Rows of a page spilled to disk parsed per worker-thread call (``AsyncRows``)."""


class AsyncRows:
    """The records of a completed query job, page by page: ``async for row in rows``.

    Each page is downloaded whole first (as by the sync iterator: a cut-off page is requested
    again by the same locator) and then read one row at a time; a page spilled to disk (over
    16 MiB) is read in a worker thread, :data:`ROWS_PER_READ` rows at a time. ``await
    rows.aclose()`` (or ``async with``) removes a page spilled to disk when the rows are not all read.
    """

    def __init__(self, session: AsyncHttpSession, job: JobInfo, max_records: int | None) -> None:
        self.job = job
        self._session = session
        self._walk = PageWalk(job, None, max_records)
        self._page: PageData | None = None
        self._rows: Iterator[Row] = iter(())
        self._on_disk: Generator[Row, None, None] | None = None

    def __aiter__(self) -> AsyncRows:
        return self

    async def __anext__(self) -> Row:
        while (row := next(self._rows, None)) is None:
            if self._on_disk is not None:
                batch: list[Row] = await off_loop(list, islice(self._on_disk, ROWS_PER_READ))
                if batch:
                    self._rows = iter(batch)
                    continue
                self._on_disk = None
            await self._adrop()
            if self._walk.done:
                await off_loop(self._walk.close)  # removes the directory of spilled pages, if any
                raise StopAsyncIteration
            page, _count = await arun(self._session, self._walk.next_page())
            self._page = page
            records = _page_records(page, self.job.column_delimiter.char)
            if isinstance(page, Path):
                self._on_disk = records
            else:
                self._rows = records
        return row

    def _drop(self) -> None:
        if self._on_disk is not None:
            self._on_disk.close()  # closes its file
            self._on_disk = None
        if self._page is not None:
            self._walk.drop(self._page)
            self._page = None

    async def _adrop(self) -> None:
        if self._on_disk is not None or isinstance(self._page, Path):
            await off_loop(self._drop)  # a file to close and remove
        else:
            self._drop()

    async def aclose(self) -> None:
        """Stop reading: remove what is held on disk."""
        await self._adrop()
        await off_loop(self._walk.close)

    async def __aenter__(self) -> AsyncRows:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncBulkClient(JobSteps):
    """Bulk API 2.0 through an ``AsyncSalesforceClient``'s session (see ``BulkClient``: the same
    arguments, options, results and job manifests).

    Args:
        client: an ``AsyncSalesforceClient`` (its ``.http`` is used) or an ``AsyncHttpSession``.
        clock: monotonic clock in seconds. sleep: awaited between status checks.
        poll: polling policy. state_dir: where job manifests live (``False``: none).

    Example:
        >>> result = await client.bulk.upsert(                                  # doctest: +SKIP
        ...     "Account", "accounts.csv", external_id_field="Ext__c")
        >>> result.failed, [r.row_number for r in result.failed_rows()]         # doctest: +SKIP
    """

    def __init__(
        self,
        client: Any,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        poll: PollPolicy | None = None,
        state_dir: str | Path | Literal[False] | None = None,
    ) -> None:
        http: AsyncHttpSession = client.http if hasattr(client, "http") else client
        super().__init__(http, clock=clock, poll=poll, state_dir=state_dir)
        self.http: AsyncHttpSession = http
        self.sleep = sleep

    async def _run(self, steps: Flow[Any]) -> Any:
        await self.http.login()  # job manifests are keyed by the org's URL
        return await arun(self.http, steps, sleep=self.sleep)

    # -- ingest ------------------------------------------------------------------------------
    async def _load(
        self,
        operation: Operation,
        sobject: str,
        records: Records,
        *,
        poll: PollPolicy | None = None,
        **kwargs: Any,
    ) -> BulkResult:
        from kinetic_core.bulk.aingest import AsyncIngestLoad
        from kinetic_core.bulk.loadopts import load_options
        from kinetic_core.inputs import frame_index_labels

        await self.http.login()
        options = load_options(operation, sobject, manifests=self.manifests, poll=poll or self.poll, **kwargs)
        result = await AsyncIngestLoad(self.http, options, clock=self.clock, sleep=self.sleep).run(records)
        result.index_labels = frame_index_labels(records)
        return result

    async def insert(self, sobject: str, records: Records, **options: Unpack[BulkOptions]) -> BulkResult:
        """Insert records with one or more Bulk API 2.0 jobs (see ``BulkClient.insert``).

        Cancelling the task aborts the jobs the load created that have not finished.

        Example:
            >>> await client.bulk.insert("Contact", "contacts.csv", results_dir="out")  # doctest: +SKIP
        """
        return await self._load(Operation.INSERT, sobject, records, **options)

    async def update(self, sobject: str, records: Records, **options: Unpack[BulkOptions]) -> BulkResult:
        """Update records (each needs ``Id``); options as for :meth:`insert`."""
        return await self._load(Operation.UPDATE, sobject, records, **options)

    async def upsert(
        self, sobject: str, records: Records, *, external_id_field: str, **options: Unpack[BulkOptions]
    ) -> BulkResult:
        """Upsert records on ``external_id_field`` (``Id`` allowed); options as for :meth:`insert`."""
        return await self._load(
            Operation.UPSERT, sobject, records, external_id_field=external_id_field, **options
        )

    async def delete(self, sobject: str, records: Records, **options: Unpack[BulkOptions]) -> BulkResult:
        """Delete records (dicts with ``Id``, or plain id strings); options as for :meth:`insert`."""
        return await self._load(Operation.DELETE, sobject, records, **options)

    async def hard_delete(self, sobject: str, records: Records, **options: Unpack[BulkOptions]) -> BulkResult:
        """Delete records bypassing the recycle bin (needs the "Bulk API Hard Delete" permission)."""
        return await self._load(Operation.HARD_DELETE, sobject, records, **options)

    # -- query -------------------------------------------------------------------------------
    async def _query(
        self,
        soql: str,
        operation: Operation,
        out: str | Path | None,
        as_dataframe: bool | str | None,
        *,
        max_records: int | None = None,
        column_delimiter: ColumnDelimiter | str = ColumnDelimiter.COMMA,
        line_ending: LineEnding | str = LineEnding.LF,
        timeout: float | None = None,
        on_event: Callable[[BulkEvent], None] | None = None,
        typed: bool = True,
    ) -> QueryExport | AsyncRows | pandas.DataFrame | polars.DataFrame:
        flavour = None
        if as_dataframe and out is None:
            flavour = as_dataframe if isinstance(as_dataframe, str) else "pandas"
            require_frame_library(flavour)  # before any job starts
        steps = query_job_steps(
            soql,
            operation=operation,
            delimiter=ColumnDelimiter.parse(column_delimiter),
            line_ending=LineEnding.parse(line_ending),
            poll=self.poll,
            clock=self.clock,
            timeout=timeout,
            on_event=on_event,
        )
        job: JobInfo = await arun(self.http, steps, sleep=self.sleep)
        if out is not None:
            export: QueryExport = await arun(self.http, export_steps(job, Path(out), max_records))
            return export
        if flavour is None:
            return AsyncRows(self.http, job, max_records)
        frame = await read_dataframe(self.http, job, flavour, max_records, soql if typed else None)
        if flavour == "polars":
            polars_frame: polars.DataFrame = frame
            return polars_frame
        pandas_frame: pandas.DataFrame = frame
        return pandas_frame

    @overload
    async def query(
        self,
        soql: str,
        *,
        out: str | Path,
        as_dataframe: bool | str | None = None,
        **options: Unpack[QueryOptions],
    ) -> QueryExport: ...
    @overload
    async def query(
        self,
        soql: str,
        *,
        out: None = None,
        as_dataframe: Literal[False] | None = None,
        **options: Unpack[QueryOptions],
    ) -> AsyncRows: ...
    @overload
    async def query(
        self,
        soql: str,
        *,
        out: None = None,
        as_dataframe: Literal[True, "pandas"],
        **options: Unpack[QueryOptions],
    ) -> pandas.DataFrame: ...
    @overload
    async def query(
        self, soql: str, *, out: None = None, as_dataframe: Literal["polars"], **options: Unpack[QueryOptions]
    ) -> polars.DataFrame: ...
    async def query(
        self,
        soql: str,
        *,
        out: str | Path | None = None,
        as_dataframe: bool | str | None = None,
        **options: Unpack[QueryOptions],
    ) -> QueryExport | AsyncRows | pandas.DataFrame | polars.DataFrame:
        """Run a Bulk API 2.0 query; the job is created and awaited before this returns.

        * ``out=path``: the CSV is written there (header once); a ``QueryExport`` (rows, pages, bytes).
        * ``as_dataframe=True`` or ``"pandas"``: a pandas DataFrame; ``"polars"``: a polars one,
          typed from describe unless ``typed=False`` (as ``BulkClient.query``; without the library
          installed this raises ``ImportError`` before any job starts). The pages are written to a
          temporary file and parsed in a worker thread, so the event loop stays free.
        * otherwise: ``AsyncRows``, the records read page by page with ``async for``
          (dicts of column -> text, None for an empty cell).

        Options as for ``BulkClient.query``: ``max_records``, ``column_delimiter``, ``line_ending``,
        ``timeout``, ``on_event``, ``typed``.

        Example:
            >>> export = await client.bulk.query("SELECT Id FROM Account", out="a.csv")  # doctest: +SKIP
            >>> rows = await client.bulk.query("SELECT Id, Name FROM Account")           # doctest: +SKIP
            >>> names = [row["Name"] async for row in rows]                              # doctest: +SKIP
            >>> frame = await client.bulk.query("SELECT Id FROM Account", as_dataframe=True)  # doctest: +SKIP
        """
        return await self._query(soql, Operation.QUERY, out, as_dataframe, **options)

    @overload
    async def query_all(
        self,
        soql: str,
        *,
        out: str | Path,
        as_dataframe: bool | str | None = None,
        **options: Unpack[QueryOptions],
    ) -> QueryExport: ...
    @overload
    async def query_all(
        self,
        soql: str,
        *,
        out: None = None,
        as_dataframe: Literal[False] | None = None,
        **options: Unpack[QueryOptions],
    ) -> AsyncRows: ...
    @overload
    async def query_all(
        self,
        soql: str,
        *,
        out: None = None,
        as_dataframe: Literal[True, "pandas"],
        **options: Unpack[QueryOptions],
    ) -> pandas.DataFrame: ...
    @overload
    async def query_all(
        self, soql: str, *, out: None = None, as_dataframe: Literal["polars"], **options: Unpack[QueryOptions]
    ) -> polars.DataFrame: ...
    async def query_all(
        self,
        soql: str,
        *,
        out: str | Path | None = None,
        as_dataframe: bool | str | None = None,
        **options: Unpack[QueryOptions],
    ) -> QueryExport | AsyncRows | pandas.DataFrame | polars.DataFrame:
        """Like :meth:`query` with ``queryAll`` (deleted and archived records included)."""
        return await self._query(soql, Operation.QUERY_ALL, out, as_dataframe, **options)

    # -- jobs one by one ---------------------------------------------------------------------
    async def create_job(
        self,
        sobject: str,
        operation: Operation | str,
        *,
        external_id_field: str | None = None,
        column_delimiter: ColumnDelimiter | str = ColumnDelimiter.COMMA,
        line_ending: LineEnding | str = LineEnding.LF,
    ) -> JobInfo:
        """Create an ingest job (``Open``); for a query job pass ``operation="query"`` and the SOQL."""
        steps = self.create_job_steps(
            sobject,
            operation,
            external_id_field=external_id_field,
            column_delimiter=column_delimiter,
            line_ending=line_ending,
        )
        info: JobInfo = await self._run(steps)
        return info

    async def upload_data(self, job_id: str, data: str | Path | bytes) -> None:
        """Upload CSV to an ``Open`` job: a file path (streamed) or bytes."""
        await self._run(upload_steps(job_id, data if isinstance(data, bytes) else Path(data)))

    async def close_job(self, job_id: str) -> JobInfo:
        """Mark the upload complete so processing starts."""
        info: JobInfo = await self._run(close_job_steps(job_id))
        return info

    async def abort_job(self, job_id: str, *, kind: JobKind | str = JobKind.INGEST) -> JobInfo:
        """Abort a job."""
        info: JobInfo = await self._run(abort_job_steps(job_id, JobKind(kind)))
        return info

    async def delete_job(self, job_id: str, *, kind: JobKind | str = JobKind.INGEST) -> None:
        """Delete a terminal job and its data."""
        await self._run(delete_job_steps(job_id, JobKind(kind)))

    async def get_job(self, job_id: str, *, kind: JobKind | str | None = None) -> JobInfo:
        """Read a job (ingest or query; tried in that order when ``kind`` is None)."""
        info: JobInfo = await self._run(self.get_job_steps(job_id, kind))
        return info

    async def list_jobs(
        self, *, kind: JobKind | str = JobKind.INGEST, **filters: Any
    ) -> AsyncIterator[JobInfo]:
        """Every job of ``kind`` (all pages): ``async for job in client.bulk.list_jobs()``."""
        pages = JobPages(JobKind(kind), filters)
        while not pages.done:
            for info in await self._run(pages.next_page()):
                yield info

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_event: Callable[[BulkEvent], None] | None = None,
    ) -> JobInfo:
        """Wait for any job to finish (see ``BulkClient.wait``).

        Raises:
            BulkTimeoutError: ``timeout`` passed first.
        """
        info: JobInfo = await self._run(self.wait_steps(job_id, timeout, on_event))
        return info

    async def get_results(self, job_id: str, *, results_dir: str | Path | None = None) -> BulkResult:
        """Results of a finished ingest job, with input row numbers when its manifest is here
        (see ``BulkClient.get_results``)."""
        result: BulkResult = await self._run(self.results_steps(job_id, results_dir))
        return result


__all__ = ["AsyncBulkClient", "AsyncRows"]
