"""Bulk API 2.0 query: create, wait, then read every result page by locator.

Each page is streamed to a temporary file first (so a page cut off midway is
requested again by the same locator, and memory holds one row at a time), then
either parsed into records or appended to the caller's file. Paging stops only when
``Sforce-Locator`` is the literal ``null`` (or absent); a locator that repeats is an
error rather than an endless loop.

Records are dicts of column name -> string, with relationship columns kept dotted
(``Account.Name``). Bulk CSV cannot tell null from empty text, and Salesforce stores
no empty strings, so an empty cell comes back as ``None``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kinetic_core.bulk.events import BulkEvent, JobCreated, JobStateChanged
from kinetic_core.bulk.ingest import Emitter
from kinetic_core.bulk.jobs import JobsApi
from kinetic_core.bulk.models import ColumnDelimiter, JobInfo, JobKind, JobState, LineEnding, Operation
from kinetic_core.bulk.poller import JobWaitTimeout, PollPolicy, wait_for_job
from kinetic_core.csvread import read_rows
from kinetic_core.errors import BulkJobError, BulkTimeoutError


@dataclass(frozen=True)
class QueryExport:
    """What ``BulkClient.query(..., out=path)`` wrote."""

    path: Path
    rows: int
    job_id: str
    pages: int
    bytes: int


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
    """Create a query job and wait for it; raise if it failed, was aborted or timed out."""
    emit = Emitter(on_event)
    info = api.create_query(soql, operation=operation, delimiter=delimiter, line_ending=line_ending)
    emit(JobCreated(info.id, 1, info.object, operation.value))
    deadline = clock() + timeout if timeout is not None else None
    try:
        final = wait_for_job(
            info.id,
            lambda job_id: api.get_job(job_id, JobKind.QUERY),
            policy=poll,
            clock=clock,
            sleep=sleep,
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


def iter_pages(
    api: JobsApi, job: JobInfo, workdir: Path, max_records: int | None
) -> Iterator[tuple[Path, int | None]]:
    """Download result pages one at a time; yield ``(page_file, Sforce-NumberOfRecords)``."""
    url = api.query_results_url(job.id)
    locator: str | None = None
    seen: set[str] = set()
    page = 0
    while True:
        page += 1
        params: dict[str, Any] = {}
        if locator:
            params["locator"] = locator
        if max_records:
            params["maxRecords"] = int(max_records)
        target = workdir / f"page-{page:06d}.csv"
        headers = api.download(url, target, params=params or None)
        lowered = {k.lower(): v for k, v in headers.items()}
        count_text = lowered.get("sforce-numberofrecords")
        count = int(count_text) if count_text and count_text.strip().isdigit() else None
        yield target, count
        target.unlink(missing_ok=True)
        nxt = lowered.get("sforce-locator")
        if not nxt or nxt.strip().lower() == "null":
            return
        if nxt in seen:
            raise RuntimeError(f"query job {job.id}: the server repeated locator {nxt!r}")
        seen.add(nxt)
        locator = nxt


def iter_records(api: JobsApi, job: JobInfo, max_records: int | None) -> Iterator[dict[str, str | None]]:
    """Every record of a completed query job, page by page (lazy)."""
    workdir = Path(tempfile.mkdtemp(prefix="kinetic-query-"))
    try:
        for path, _count in iter_pages(api, job, workdir, max_records):
            with path.open("r", encoding="utf-8-sig", newline="") as handle:
                reader = read_rows(handle, job.column_delimiter.char)
                header = next(reader, None)
                if not header:
                    continue
                for row in reader:
                    if not row:
                        continue
                    yield {
                        name: (value if value != "" else None)
                        for name, value in zip(header, row, strict=False)
                    }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _count_rows(path: Path, delimiter: ColumnDelimiter) -> int:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        return max(0, sum(1 for row in read_rows(handle, delimiter.char) if row) - 1)


def export_to_file(api: JobsApi, job: JobInfo, out: Path, max_records: int | None) -> QueryExport:
    """Stream every page into ``out`` (the header once, the server's delimiter and line ending)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="kinetic-query-"))
    rows = pages = written = 0
    try:
        with out.open("wb") as sink:
            for path, count in iter_pages(api, job, workdir, max_records):
                pages += 1
                rows += count if count is not None else _count_rows(path, job.column_delimiter)
                with path.open("rb") as source:
                    if written:
                        if not source.readline():  # the repeated header (names never contain newlines)
                            continue
                    elif source.read(3) != b"\xef\xbb\xbf":
                        source.seek(0)
                    while block := source.read(1 << 20):
                        sink.write(block)
                        written += len(block)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return QueryExport(out, rows, job.id, pages, written)


def to_dataframe(api: JobsApi, job: JobInfo, flavour: str, max_records: int | None) -> Any:
    """Read every page into a pandas (default) or polars DataFrame of strings (empty -> null)."""
    workdir = Path(tempfile.mkdtemp(prefix="kinetic-query-"))
    try:
        path = workdir / "export.csv"
        export = export_to_file(api, job, path, max_records)
        sep = job.column_delimiter.char
        if flavour == "polars":
            import polars as pl

            if export.bytes == 0:
                return pl.DataFrame()
            return pl.read_csv(path, separator=sep, infer_schema=False)
        import pandas as pd

        if export.bytes == 0:
            return pd.DataFrame()
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
