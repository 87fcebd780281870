"""``BulkClient``: Bulk API 2.0 ingest and query for one ``SalesforceClient``.

Ingest splits the input into jobs below the size caps, uploads them in parallel and maps every
result row to its input row; a query runs one job and reads its result pages lazily, to a file or
into a DataFrame. The job-by-job operations come from :class:`~kinetic_core.bulk.control.JobControl`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypedDict, Unpack, overload

from kinetic_core.bulk.control import JobControl
from kinetic_core.bulk.events import BulkEvent
from kinetic_core.bulk.models import (
    ColumnDelimiter,
    LineEnding,
    Operation,
)
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.bulk.query import QueryExport, export_to_file, iter_records, run_query_job, to_dataframe

if TYPE_CHECKING:
    import pandas
    import polars

    from kinetic_core.bulk.loadopts import BulkOptions
    from kinetic_core.bulk.results import BulkResult
    from kinetic_core.inputs import LoadInput

# The ingest side (splitting, spooling, manifests, result mapping, the load options) and the
# DataFrame typing are imported on first use, so a program that only queries to a file or to
# dicts loads neither.

Records: TypeAlias = "LoadInput"
"""What a load takes (``kinetic_core.inputs.LoadInput``): a CSV path or file, dicts or ids, a DataFrame."""

Row = dict[str, str | None]
"""One record of a query result: column -> text (None for an empty cell)."""


class QueryOptions(TypedDict, total=False):
    """The options of :meth:`BulkClient.query` that do not change what it returns."""

    max_records: int | None
    column_delimiter: ColumnDelimiter | str
    line_ending: LineEnding | str
    timeout: float | None
    on_event: Callable[[BulkEvent], None] | None
    typed: bool


class BulkClient(JobControl):
    """Bulk API 2.0 through the client's shared HTTP session (re-authentication and retries included).

    Resuming jobs: before a load uploads a job it writes a small JSON manifest for it in
    ``state_dir`` (``<job id>.json``, written atomically). It names the job, the org (scheme and
    host only: never a token, password or other secret), the object and operation, the columns,
    and where the job's rows came from: for a CSV file, the file's absolute path, size and
    ``mtime_ns`` and the job's byte range and first row number (the file itself is not copied,
    and must not change until the results are read); for records or DataFrames, the job's
    spooled CSV, moved next to the manifest as ``<job id>.csv``. So :meth:`wait` and
    :meth:`get_results` can be called later from this process or any other (after a
    ``BulkTimeoutError``, a crash, an interrupted ``--wait``) and every result row still gets its
    input row number, matched by content exactly as in the loading process. If the input
    changed (size or modification time) or the spool is gone, the rows get ``row_number=None``
    and a :class:`~kinetic_core.bulk.manifest.BulkResumeWarning` says why: never a wrong number.

    Lifecycle and disk use: a manifest is well under 1 KB; a kept spool is as large as the
    job's upload (up to ``max_bytes_per_job``), so a record load keeps about the size of its
    CSV on disk until released. They are removed (and the directory too, if this client
    created it and it is empty) when the ``BulkResult`` a load returns is closed or garbage
    collected, when a result from :meth:`get_results` whose rows were read is closed, by
    :meth:`forget`, and for jobs the load aborts itself. So they outlive only loads that did
    not return (a timeout, a crash, a fatal error) and results fetched by id whose rows were
    not read: :meth:`forget` them (or delete the files) when those jobs are not wanted.

    Args:
        client: a ``SalesforceClient`` (its ``.http`` is used) or an ``HttpSession`` itself.
        clock: monotonic clock in seconds (injected for tests).
        sleep: sleep function (injected for tests).
        poll: polling back-off policy.
        state_dir: where job manifests live; default ``<KINETIC_HOME or ~/.kinetic>/bulk-jobs``
            (resolved at first use); ``False`` records none (jobs can then be resumed, but their
            rows get no row numbers in another process).

    Example:
        >>> bulk = client.bulk                                               # doctest: +SKIP
        >>> result = bulk.insert("Account", [{"Name": "Acme"}])              # doctest: +SKIP
        >>> result.successful, next(result.successful_rows()).id             # doctest: +SKIP
        (1, '001...')
        >>> for rec in bulk.query("SELECT Id, Name FROM Account"):           # doctest: +SKIP
        ...     print(rec["Name"])
    """

    # -- ingest ------------------------------------------------------------------------------
    def _load(
        self,
        operation: Operation,
        sobject: str,
        records: Records,
        *,
        poll: PollPolicy | None = None,
        **kwargs: Any,
    ) -> BulkResult:
        from kinetic_core.bulk.ingest import IngestLoad
        from kinetic_core.bulk.loadopts import load_options
        from kinetic_core.inputs import frame_index_labels

        options = load_options(operation, sobject, manifests=self.manifests, poll=poll or self.poll, **kwargs)
        result = IngestLoad(self.api, options, clock=self.clock, sleep=self.sleep).run(records)
        result.index_labels = frame_index_labels(records)
        return result

    def insert(self, sobject: str, records: Records, **options: Unpack[BulkOptions]) -> BulkResult:
        """Insert records with one or more Bulk API 2.0 jobs.

        Args:
            sobject: object API name.
            records: iterable of dicts, CSV path, or pandas/polars DataFrame. In dicts ``None``
                clears a field (``#N/A``) and an absent key leaves it unchanged; in DataFrames a
                null cell (None/NaN/NaT/NA) clears the field too. A CSV file is sent byte for byte.
            **options: ``max_bytes_per_job`` (100,000,000), ``max_records_per_job``,
                ``max_concurrent_jobs`` (4), ``column_delimiter`` (detected for files, else COMMA),
                ``line_ending`` (detected for files, else LF), ``columns`` (declared header for dicts),
                ``results_dir`` (write CLI-style result CSVs), ``timeout`` (seconds, whole load),
                ``on_event`` (progress callback), ``poll`` (``PollPolicy``), ``assignment_rule_id``.

        Returns:
            A ``BulkResult`` covering every input row: totals from the jobs' counters at once,
            row-level outcomes (with input row numbers) mapped on first use.

        Raises:
            OutputNotWritableError: ``results_dir`` is a file, read-only or full (checked before
                anything is sent).
            BulkTimeoutError: ``timeout`` passed; names every job still running.
            ApiError: a job could not be created or uploaded (e.g. unknown object).
            ResultsNotSavedError: the rows were loaded but the result files could not be written;
                names the jobs, the counts and how to fetch the files again (manifests are kept).

        Example:
            >>> client.bulk.insert("Contact", "contacts.csv", results_dir="out")  # doctest: +SKIP
        """
        return self._load(Operation.INSERT, sobject, records, **options)

    def update(self, sobject: str, records: Records, **options: Unpack[BulkOptions]) -> BulkResult:
        """Update records (each needs ``Id``); options as for :meth:`insert`.

        Example:
            >>> client.bulk.update("Account", [{"Id": "001...", "Phone": None}])  # doctest: +SKIP
        """
        return self._load(Operation.UPDATE, sobject, records, **options)

    def upsert(
        self, sobject: str, records: Records, *, external_id_field: str, **options: Unpack[BulkOptions]
    ) -> BulkResult:
        """Upsert records on ``external_id_field`` (``Id`` allowed); options as for :meth:`insert`.

        Example:
            >>> client.bulk.upsert("Account", rows, external_id_field="External_Id__c")  # doctest: +SKIP
        """
        return self._load(Operation.UPSERT, sobject, records, external_id_field=external_id_field, **options)

    def delete(self, sobject: str, records: Records, **options: Unpack[BulkOptions]) -> BulkResult:
        """Delete records (dicts with ``Id``, or plain id strings); options as for :meth:`insert`.

        Example:
            >>> client.bulk.delete("Account", ["001...", "001..."])  # doctest: +SKIP
        """
        return self._load(Operation.DELETE, sobject, records, **options)

    def hard_delete(self, sobject: str, records: Records, **options: Unpack[BulkOptions]) -> BulkResult:
        """Delete records bypassing the recycle bin (needs the "Bulk API Hard Delete" permission).

        Example:
            >>> client.bulk.hard_delete("Account", ["001..."])  # doctest: +SKIP
        """
        return self._load(Operation.HARD_DELETE, sobject, records, **options)

    # -- query -------------------------------------------------------------------------------
    def _query(
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
    ) -> QueryExport | Iterator[Row] | pandas.DataFrame | polars.DataFrame:
        flavour = None
        if as_dataframe and out is None:
            from kinetic_core.bulk.frames import require_frame_library

            flavour = as_dataframe if isinstance(as_dataframe, str) else "pandas"
            require_frame_library(flavour)  # before any job starts
        job = run_query_job(
            self.api,
            soql,
            operation=operation,
            delimiter=ColumnDelimiter.parse(column_delimiter),
            line_ending=LineEnding.parse(line_ending),
            poll=self.poll,
            clock=self.clock,
            sleep=self.sleep,
            timeout=timeout,
            on_event=on_event,
        )
        if out is not None:
            return export_to_file(self.api, job, Path(out), max_records)
        if flavour is None:
            return iter_records(self.api, job, max_records)
        frame = to_dataframe(self.api, job, flavour, max_records)
        if typed and len(frame.columns):
            from kinetic_core.bulk.frames import column_kinds, query_object, type_pandas, type_polars

            kinds = column_kinds(query_object(soql), [str(c) for c in frame.columns], self.describe)
            frame = type_polars(frame, kinds) if flavour == "polars" else type_pandas(frame, kinds)
        if flavour == "polars":
            polars_frame: polars.DataFrame = frame
            return polars_frame
        pandas_frame: pandas.DataFrame = frame
        return pandas_frame

    def describe(self, sobject: str) -> dict[str, Any]:
        """``GET .../sobjects/NAME/describe`` (types the columns of ``as_dataframe`` results)."""
        url = self.http.data_url(f"sobjects/{sobject}/describe")
        body: dict[str, Any] = self.http.request("GET", url, retry=True).json()
        return body

    @overload
    def query(
        self,
        soql: str,
        *,
        out: str | Path,
        as_dataframe: bool | str | None = None,
        **options: Unpack[QueryOptions],
    ) -> QueryExport: ...
    @overload
    def query(
        self,
        soql: str,
        *,
        out: None = None,
        as_dataframe: Literal[False] | None = None,
        **options: Unpack[QueryOptions],
    ) -> Iterator[Row]: ...
    @overload
    def query(
        self,
        soql: str,
        *,
        out: None = None,
        as_dataframe: Literal[True, "pandas"],
        **options: Unpack[QueryOptions],
    ) -> pandas.DataFrame: ...
    @overload
    def query(
        self, soql: str, *, out: None = None, as_dataframe: Literal["polars"], **options: Unpack[QueryOptions]
    ) -> polars.DataFrame: ...
    def query(
        self,
        soql: str,
        *,
        out: str | Path | None = None,
        as_dataframe: bool | str | None = None,
        **options: Unpack[QueryOptions],
    ) -> QueryExport | Iterator[Row] | pandas.DataFrame | polars.DataFrame:
        """Run a Bulk API 2.0 query; the job is created and awaited before this returns.

        What it returns follows from ``out`` and ``as_dataframe`` (and is typed so):

        * ``out=path``: the CSV is written there (header once); a ``QueryExport`` (rows, pages, bytes).
        * ``as_dataframe=True`` or ``"pandas"``: a pandas DataFrame; ``"polars"``: a polars one. Its
          columns are typed from describe (numbers, booleans, dates, UTC datetimes; see
          :mod:`kinetic_core.bulk.frames`) unless ``typed=False``. Without the library installed
          this raises ``ImportError`` before any job starts.
        * otherwise: a lazy iterator of dicts (column -> text, None for an empty cell).

        Args:
            soql: the query.
            out: the path to write the CSV to.
            as_dataframe: ``True``/``"pandas"`` or ``"polars"``.
            **options: ``max_records`` (page size sent as ``maxRecords``; None: the server's
                default), ``column_delimiter`` / ``line_ending`` (the dialect of the result CSV),
                ``timeout`` (seconds to wait for the job; ``BulkTimeoutError`` names it),
                ``on_event`` (progress callback), ``typed`` (``False`` keeps every DataFrame
                column as text, with no describe call).

        Example:
            >>> client.bulk.query("SELECT Id FROM Account", out="accounts.csv").rows  # doctest: +SKIP
            1200000
        """
        return self._query(soql, Operation.QUERY, out, as_dataframe, **options)

    @overload
    def query_all(
        self,
        soql: str,
        *,
        out: str | Path,
        as_dataframe: bool | str | None = None,
        **options: Unpack[QueryOptions],
    ) -> QueryExport: ...
    @overload
    def query_all(
        self,
        soql: str,
        *,
        out: None = None,
        as_dataframe: Literal[False] | None = None,
        **options: Unpack[QueryOptions],
    ) -> Iterator[Row]: ...
    @overload
    def query_all(
        self,
        soql: str,
        *,
        out: None = None,
        as_dataframe: Literal[True, "pandas"],
        **options: Unpack[QueryOptions],
    ) -> pandas.DataFrame: ...
    @overload
    def query_all(
        self, soql: str, *, out: None = None, as_dataframe: Literal["polars"], **options: Unpack[QueryOptions]
    ) -> polars.DataFrame: ...
    def query_all(
        self,
        soql: str,
        *,
        out: str | Path | None = None,
        as_dataframe: bool | str | None = None,
        **options: Unpack[QueryOptions],
    ) -> QueryExport | Iterator[Row] | pandas.DataFrame | polars.DataFrame:
        """Like :meth:`query` with ``queryAll`` (deleted and archived records included).

        Example:
            >>> list(client.bulk.query_all("SELECT Id, IsDeleted FROM Account"))  # doctest: +SKIP
        """
        return self._query(soql, Operation.QUERY_ALL, out, as_dataframe, **options)


__all__ = ["BulkClient", "QueryExport"]
