"""Bulk API 2.0 query: create, wait, then read every result page by locator.

For records, each page is downloaded whole first (in memory up to 16 MiB, else to a
temporary file), so a page cut off midway is requested again by the same locator (by the
session's ``download``: its retry policy and backoff, renewal on 401) and a slow consumer
never holds a connection open; then it is parsed one row at a time. For a
file export, pages are appended to the caller's file as bytes arrive. Paging stops only when
``Sforce-Locator`` is the literal ``null`` (or absent). Pages must lead to an end
(``QueryPagingError``, see ``kinetic_core.http.paging``): a locator that repeats, a page with no
records that is not the last, or more records than the job's ``numberRecordsProcessed``. Each
page is read within the session's ``ResponseBounds`` (``max_download_bytes`` in memory, on disk
or in the export; the inflation ratio; the progress rule).

Records are dicts of column name -> string, with relationship columns kept dotted
(``Account.Name``). Bulk CSV cannot tell null from empty text, and Salesforce stores
no empty strings, so an empty cell comes back as ``None``.
"""

from __future__ import annotations

import csv
import io
import logging
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from kinetic_core.bulk.events import BulkEvent, Emitter, JobCreated, JobStateChanged
from kinetic_core.bulk.jobs import JobsApi, create_query_steps, get_job_steps, query_results_path, run_on
from kinetic_core.bulk.models import ColumnDelimiter, JobInfo, JobKind, JobState, LineEnding, Operation
from kinetic_core.bulk.pagesinks import AppendSink, RowCounter
from kinetic_core.bulk.poller import JobWaitTimeout, PollPolicy, poll_steps
from kinetic_core.csvread import read_rows
from kinetic_core.errors import BulkJobError, BulkTimeoutError
from kinetic_core.http.paging import PageGuard
from kinetic_core.http.steps import Download, Flow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueryExport:
    """What ``BulkClient.query(..., out=path)`` wrote."""

    path: Path
    rows: int
    job_id: str
    pages: int
    bytes: int


def query_job_steps(
    soql: str,
    *,
    operation: Operation,
    delimiter: ColumnDelimiter,
    line_ending: LineEnding,
    poll: PollPolicy,
    clock: Callable[[], float],
    timeout: float | None,
    on_event: Callable[[BulkEvent], None] | None,
) -> Flow[JobInfo]:
    """Create a query job and wait for it; raise if it failed, was aborted or timed out."""
    emit = Emitter(on_event)
    info = yield from create_query_steps(
        soql, operation=operation, delimiter=delimiter, line_ending=line_ending
    )
    emit(JobCreated(info.id, 1, info.object, operation.value))
    deadline = clock() + timeout if timeout is not None else None
    try:
        final = yield from poll_steps(
            info.id,
            lambda job_id: get_job_steps(job_id, JobKind.QUERY),
            policy=poll,
            clock=clock,
            deadline=deadline,
            on_change=lambda i: emit(JobStateChanged(i.id, i.state, i.records_processed, i.records_failed)),
        )
    except JobWaitTimeout:
        raise BulkTimeoutError([info.id], "bulk query timed out") from None
    if final.state is not JobState.JOB_COMPLETE:
        raise BulkJobError(
            final.id, final.state.value, final.error_message or f"query job {final.state.value}"
        )
    return final


def run_query_job(
    api: JobsApi,
    soql: str,
    *,
    operation: Operation,
    delimiter: ColumnDelimiter,
    line_ending: LineEnding,
    poll: PollPolicy,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    timeout: float | None,
    on_event: Callable[[BulkEvent], None] | None,
) -> JobInfo:
    """:func:`query_job_steps` on a sync session (pauses slept with ``sleep``)."""
    steps = query_job_steps(
        soql,
        operation=operation,
        delimiter=delimiter,
        line_ending=line_ending,
        poll=poll,
        clock=clock,
        timeout=timeout,
        on_event=on_event,
    )
    return run_on(api.http, steps, sleep=sleep)


def _page_params(locator: str | None, max_records: int | None) -> dict[str, Any] | None:
    params: dict[str, Any] = {}
    if locator:
        params["locator"] = locator
    if max_records:
        params["maxRecords"] = int(max_records)
    return params or None


def _page_meta(headers: Mapping[str, str]) -> tuple[int | None, str | None]:
    """``(Sforce-NumberOfRecords, next locator)`` of a page; the locator is None on the last page."""
    lowered = {k.lower(): v for k, v in headers.items()}
    count_text = lowered.get("sforce-numberofrecords")
    count = int(count_text) if count_text and count_text.strip().isdigit() else None
    nxt = lowered.get("sforce-locator")
    if not nxt or nxt.strip().lower() == "null":
        return count, None
    return count, nxt


def page_guard(job: JobInfo) -> PageGuard:
    """The paging checks of a query job: its ``numberRecordsProcessed`` is the declared total."""
    declared = (job.raw or {}).get("numberRecordsProcessed")
    total = int(declared) if isinstance(declared, int | float) and not isinstance(declared, bool) else None
    return PageGuard(f"query job {job.id}", total)


PAGE_IN_MEMORY = 16 * 1024 * 1024
"""A result page up to this many bytes is held in memory while its records are read; a larger
one goes to a temporary file. Either way the whole page is downloaded before its first record is
handed out, so a slow consumer never holds a connection open."""

PageData = bytes | Path
"""A downloaded page: its bytes, or the temporary file holding them."""


class _PageSink:
    """Holds one result page: in memory up to :data:`PAGE_IN_MEMORY`, then in the file ``spill()``.

    Records are counted while the bytes arrive when the page lacks ``Sforce-NumberOfRecords``.
    A cut-off attempt is forgotten (``reset``) before the page is requested again.
    """

    def __init__(self, spill: Callable[[], Path]) -> None:
        self._spill = spill
        self.held: list[bytes] = []
        self.size = 0
        self.path: Path | None = None
        self._out: BinaryIO | None = None
        self.counter: RowCounter | None = None

    def start(self, headers: Mapping[str, str]) -> None:
        self.counter = RowCounter() if _page_meta(headers)[0] is None else None

    def write(self, block: bytes) -> None:
        if self.counter is not None:
            self.counter.feed(block)
        if self._out is not None:
            self._out.write(block)
            return
        self.held.append(block)
        self.size += len(block)
        if self.size > PAGE_IN_MEMORY:
            self.path = self._spill()
            self._out = self.path.open("wb")
            self._out.writelines(self.held)
            self.held = []

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def reset(self) -> None:
        self.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None
        self.held = []
        self.size = 0

    def page(self) -> PageData:
        self.close()
        return self.path if self.path is not None else b"".join(self.held)


def _fetch_page(
    url: str, params: dict[str, Any] | None, spill: Callable[[], Path]
) -> Flow[tuple[PageData, Mapping[str, str], int]]:
    """Download one page whole: in memory up to :data:`PAGE_IN_MEMORY`, else into the file ``spill()``.

    Returns the page, its headers and its records counted (-1 when ``Sforce-NumberOfRecords``
    gives the number). The session's ``download`` requests a page cut off midway again by the
    same locator (its retry policy and backoff); a page past ``max_download_bytes`` is an
    error, never retried.
    """
    sink = _PageSink(spill)
    try:
        headers: Mapping[str, str] = yield Download(url, sink, params=params)
    except BaseException:
        sink.reset()
        raise
    counted = -1 if sink.counter is None else max(0, sink.counter.records() - 1)
    return sink.page(), headers, counted


class PageWalk:
    """The result pages of a completed query job, each downloaded whole by :meth:`next_page`.

    A page too large for memory is written to ``workdir`` (a temporary directory made at the first
    such page when None, removed by :meth:`close`); :meth:`drop` deletes it once it was read.
    """

    def __init__(self, job: JobInfo, workdir: Path | None, max_records: int | None) -> None:
        self.url = query_results_path(job.id)
        self.guard = page_guard(job)
        self.max_records = max_records
        self.locator: str | None = None
        self.done = False
        self._pages = 0
        self._workdir = workdir
        self._made: Path | None = None

    def _spill(self) -> Path:
        if self._workdir is None:
            self._workdir = self._made = Path(tempfile.mkdtemp(prefix="kinetic-query-"))
        return self._workdir / f"page-{self._pages:06d}.csv"

    def next_page(self) -> Flow[tuple[PageData, int | None]]:
        """The next page and its ``Sforce-NumberOfRecords``; ``done`` after the last one."""
        self._pages += 1
        data, headers, counted = yield from _fetch_page(
            self.url, _page_params(self.locator, self.max_records), self._spill
        )
        count, nxt = _page_meta(headers)
        try:
            self.guard.page(count if count is not None else counted, last=nxt is None)
            if nxt is not None:
                self.guard.cursor(nxt)
        except BaseException:
            self.drop(data)
            raise
        self.locator = nxt
        self.done = nxt is None
        return data, count

    @staticmethod
    def drop(page: PageData) -> None:
        """Delete a page's temporary file, if it has one."""
        if isinstance(page, Path):
            page.unlink(missing_ok=True)

    def close(self) -> None:
        """Remove the temporary directory made for large pages."""
        if self._made is not None:
            shutil.rmtree(self._made, ignore_errors=True)
            self._made = None


def iter_pages(
    api: JobsApi, job: JobInfo, workdir: Path | None, max_records: int | None
) -> Iterator[tuple[PageData, int | None]]:
    """Download result pages one at a time on a sync session; yield ``(page, Sforce-NumberOfRecords)``.

    A page too large for memory is written to ``workdir`` (a temporary directory made at the first
    such page when None, removed at the end) and deleted once the next page is asked for.
    """
    walk = PageWalk(job, workdir, max_records)
    try:
        while not walk.done:
            data, count = run_on(api.http, walk.next_page())
            yield data, count
            walk.drop(data)
            del data
    finally:
        walk.close()


def _open_page(page: PageData) -> TextIO:
    source: BinaryIO = io.BytesIO(page) if isinstance(page, bytes) else page.open("rb")
    return io.TextIOWrapper(source, encoding="utf-8-sig", newline="")


def _page_records(page: PageData, delimiter: str) -> Generator[dict[str, str | None], None, None]:
    """The records of one downloaded page: ``csv.reader`` and ``dict(zip(header, row))`` per row.

    An empty cell becomes ``None`` (only rows holding one pay for it). A field over the ``csv``
    module's size limit is rare: the page is then read again from its start by
    :func:`~kinetic_core.csvread.read_rows` (no limit), skipping the records already yielded.
    """
    done = 0
    empty_to_none = {"": None}.get  # called as get(cell, cell): C-level, no Python code per cell
    with _open_page(page) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader, None)
            if not header:
                return
            for row in reader:
                done += 1
                if "" in row:
                    yield dict(zip(header, map(empty_to_none, row, row)))  # noqa: B905
                elif row:
                    yield dict(zip(header, row))  # noqa: B905 - a short row leaves its last fields out
            return
        except csv.Error as exc:
            if "field larger than field limit" not in str(exc):
                raise
    with _open_page(page) as handle:
        rows = read_rows(handle, delimiter)
        header = next(rows)
        for _ in range(done):
            next(rows)
        for row in rows:
            if row:
                yield {name: (value if value != "" else None) for name, value in zip(header, row)}  # noqa: B905


def iter_records(api: JobsApi, job: JobInfo, max_records: int | None) -> Iterator[dict[str, str | None]]:
    """Every record of a completed query job, page by page (lazy)."""
    delimiter = job.column_delimiter.char
    for page, _count in iter_pages(api, job, None, max_records):
        records = _page_records(page, delimiter)
        del page  # the generator holds it until the page is read: never two pages at once
        yield from records


def _stream_page(
    url: str,
    params: dict[str, Any] | None,
    sink: BinaryIO,
    *,
    first: bool,
    count_rows: bool,
) -> Flow[tuple[Mapping[str, str], int]]:
    """Append one result page to ``sink`` as bytes arrive; returns (headers, records counted or -1).

    Records are counted (``count_rows``) only when the page lacks ``Sforce-NumberOfRecords``. A
    page cut off midway is truncated away and requested again by the session's ``download``.
    """
    page = AppendSink(sink, first=first, count_rows=count_rows, page_count=lambda h: _page_meta(h)[0])
    headers: Mapping[str, str] = yield Download(url, page, params=params)
    page.finish()
    records = -1
    if page.counter is not None:
        records = max(0, page.counter.records() - (1 if first else 0))
    return headers, records


def export_steps(job: JobInfo, out: Path, max_records: int | None) -> Flow[QueryExport]:
    """Stream every page straight into ``out`` (the header once, the server's delimiter and line ending).

    Row counts come from ``Sforce-NumberOfRecords``; a page without it is counted on the fly
    (:class:`RowCounter`), never parsed.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    url = query_results_path(job.id)
    guard = page_guard(job)
    locator: str | None = None
    rows = pages = 0
    with out.open("wb") as sink:
        while True:
            first = sink.tell() == 0
            headers, counted = yield from _stream_page(
                url, _page_params(locator, max_records), sink, first=first, count_rows=True
            )
            pages += 1
            count, nxt = _page_meta(headers)
            page_rows = count if count is not None else counted
            rows += page_rows
            guard.page(page_rows, last=nxt is None)
            if nxt is None:
                break
            locator = guard.cursor(nxt)
        written = sink.tell()
    return QueryExport(out, rows, job.id, pages, written)


def export_to_file(api: JobsApi, job: JobInfo, out: Path, max_records: int | None) -> QueryExport:
    """:func:`export_steps` on a sync session."""
    return run_on(api.http, export_steps(job, out, max_records))


def read_frame(path: Path, export: QueryExport, delimiter: str, flavour: str) -> Any:
    """The exported CSV as a pandas (default) or polars DataFrame of strings (empty -> null)."""
    if flavour == "polars":
        import polars as pl

        if export.bytes == 0:
            return pl.DataFrame()
        frame = pl.read_csv(path, separator=delimiter, infer_schema=False)
        # Bulk CSV quotes every value, so an empty cell reads as "": make it null, as in pandas
        return frame.with_columns(pl.all().replace("", None))
    import pandas as pd

    if export.bytes == 0:
        return pd.DataFrame()
    return pd.read_csv(path, sep=delimiter, dtype=str, keep_default_na=False, na_values=[""])


def to_dataframe(api: JobsApi, job: JobInfo, flavour: str, max_records: int | None) -> Any:
    """Read every page into a pandas (default) or polars DataFrame of strings (empty -> null)."""
    workdir = Path(tempfile.mkdtemp(prefix="kinetic-query-"))
    try:
        path = workdir / "export.csv"
        export = export_to_file(api, job, path, max_records)
        return read_frame(path, export, job.column_delimiter.char, flavour)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
