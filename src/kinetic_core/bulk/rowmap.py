"""Row numbers for a load's result rows: totals from counters now, a merge on demand.

While loading, nothing is parsed or hashed: each job is remembered as a :class:`JobPart`
(its final info, its downloaded result files, the byte range of the input it was uploaded
from, and the runs of rows the split found there). :func:`totals_from_jobs` gives the totals
at once. The first time a :class:`~.results.BulkResult` is asked for rows, :meth:`RowMap.build`
maps each job:

* its failed and unprocessed rows are found in its input range by a forward search
  (:func:`.rowmerge.locate`: the bytes of the split's runs read back, searched at C speed,
  and a row found numbered by the quotes since the previous one: no scan, no other row
  parsed), which gives their row numbers;
* a located row found again before the next one of its stream (a refused copy of a row that
  went in, say) puts the placement in doubt: the success file is then checked at once, and
  when the first placement does not fit, the last possible one (:func:`.rowlatest.locate_latest`)
  is tried; when neither fits, the job goes to the index;
* when the job's own counters agree with the rows located and none is in doubt, the success
  file is not read;
  its rows are checked, when they are first listed or written, to be the remaining input rows
  in input order (one pass over bytes: :func:`.rowmerge.successes_in_order`, or while the
  success file is written, :meth:`_Part.success_lines`); then their row numbers are counted
  off, with no index at all.

When a job's rows come back in another order (Salesforce promises none; the emulator's
``--shuffle-results``), were re-quoted or normalised, or are missing from every file, that
job falls back on a SQLite index (:mod:`.rowindex`) matching rows by the digest of their
cells: all of its rows when the failed or unprocessed ones cannot be found in order, else
only its successful rows (the located ones keep their numbers). Either way every input row
ends in exactly one outcome.
"""

from __future__ import annotations

import csv
import heapq
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice, repeat
from pathlib import Path

from kinetic_core.bulk.codec import unpack_cells
from kinetic_core.bulk.csvfile import CsvLayout
from kinetic_core.bulk.models import JobInfo
from kinetic_core.bulk.resultfiles import RESULT_FILES, load_result_files, parse_sf_error
from kinetic_core.bulk.results import CellRun, Outcome, OutOfOrder
from kinetic_core.bulk.rowindex import FAILED, SUCCESS, UNPROCESSED, RowIndex, add_input_range, iter_results
from kinetic_core.bulk.rowlatest import locate_latest
from kinetic_core.bulk.rowmerge import (
    ByteStream,
    Segment,
    count_rows,
    count_successes,
    cut_input,
    data_rows,
    failed_tails,
    locate,
    remaining_rows,
    result_layout,
    strip_prefixes,
    success_blocks,
    success_cuts,
    success_rows,
    successes_in_order,
)
from kinetic_core.csvread import read_rows

__all__ = ["JobPart", "RowMap", "totals_from_jobs"]


@dataclass(frozen=True)
class JobPart:
    """One job of a load, as the row mapper needs it.

    Attributes:
        part: 1-based position of the job in the load.
        info: the job's final info.
        files: the downloaded result files by label (``success``, ``failed``, ``unprocessed``).
        first_row: input row number of the job's first row.
        rows: rows uploaded to the job.
        start / end: byte range of the job's rows in the input file.
        segments: the runs of rows the split found in that range (:attr:`.split.Chunk.segments`);
            empty when not known (a job picked up again from its manifest): the range is scanned.
    """

    part: int
    info: JobInfo
    files: Mapping[str, Path]
    first_row: int
    rows: int
    start: int
    end: int
    segments: tuple[Segment, ...] = ()


def totals_from_jobs(parts: Sequence[JobPart]) -> dict[str, int]:
    """Totals from the jobs' counters and the uploaded row counts (no file read).

    Example:
        >>> totals_from_jobs([])
        {'total': 0, 'successful': 0, 'failed': 0, 'unprocessed': 0}
    """
    totals = {"total": 0, "successful": 0, "failed": 0, "unprocessed": 0}
    for p in parts:
        failed = min(max(p.info.records_failed, 0), p.rows)
        successful = min(max(p.info.records_processed - p.info.records_failed, 0), p.rows - failed)
        totals["total"] += p.rows
        totals["failed"] += failed
        totals["successful"] += successful
        totals["unprocessed"] += p.rows - failed - successful
    return totals


def job_error(job: JobInfo) -> tuple[str, str]:
    """The error given to a job's unprocessed rows (they carry none of their own)."""
    state = job.state.value
    code = f"JOB_{state.upper()}" if state in ("Failed", "Aborted") else "NOT_PROCESSED"
    return code, job.error_message or f"job {job.id} ended {state} before processing the row"


def _file_rows(layout: CsvLayout, width: int) -> Iterator[list[str]]:
    """The cells of each data row of a result file, padded to ``width`` cells.

    Read by the C ``csv`` reader; a field over the ``csv`` module's size limit (possible in an
    echoed value) makes the rest of the file go through :func:`kinetic_core.csvread.read_rows`.
    """
    done = 0
    with layout.path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=layout.delimiter.char)
        next(reader, None)
        try:
            for row in reader:
                if len(row) < width:
                    if not row:
                        continue
                    row.extend([""] * (width - len(row)))
                done += 1
                yield row
            return
        except csv.Error as exc:
            if "field larger than field limit" not in str(exc):
                raise
    with layout.path.open("r", encoding="utf-8-sig", newline="") as handle:
        rest = read_rows(handle, layout.delimiter.char)
        next(rest, None)
        for row in islice((r for r in rest if r), done, None):
            if len(row) < width:
                row.extend([""] * (width - len(row)))
            yield row


class _Part:
    """The mapping state of one job."""

    def __init__(self, job: JobPart, layout: CsvLayout | None, workdir: Path, columns: Sequence[str]) -> None:
        self.job = job
        self.input = layout
        self.columns = tuple(columns)
        self.index_path = workdir / f"index-{job.part:05d}.sqlite"
        delimiter = job.info.column_delimiter
        self.files = {label: result_layout(job.files.get(label), delimiter) for label in RESULT_FILES}
        self.located: list[list[int]] | None = None  # [failed rows, unprocessed rows] in file order
        self.streams: list[list[bytes]] | None = None  # their bytes, kept while their places are in doubt
        self.taken: list[int] = []
        self.spans: dict[int, tuple[int, int]] = {}  # byte range of each located row in the input
        self.ordered: bool | None = None  # successes checked to be in input order (None: not yet)
        self.indexed = False  # this job's successes (or all its rows) are in its own index
        self.totals: dict[str, int] = {}

    def _same_columns(self) -> bool:
        want = [c.lower() for c in self.columns]
        for label, layout in self.files.items():
            if layout is None:
                continue
            echoed = [h.lower() for h in layout.header if not h.lower().startswith("sf__")]
            if echoed != want or (label != "unprocessed" and len(layout.header) != len(want) + 2):
                return False
        return True

    def build(self) -> dict[str, int]:
        """Locate the failed and unprocessed rows; fall back on the index when that fails."""
        job, files = self.job, self.files
        if self.input is None:  # results fetched without the input: file order, no row numbers
            counts = {label: count_rows(layout) for label, layout in files.items()}
            self.totals = {
                "total": sum(counts.values()),
                "successful": counts["success"],
                "failed": counts["failed"],
                "unprocessed": counts["unprocessed"],
            }
            return self.totals
        if self._same_columns():
            failed = failed_tails(files["failed"]) if files["failed"] is not None else []
            unprocessed = list(data_rows(files["unprocessed"])) if files["unprocessed"] is not None else []
            if failed is not None:
                found = locate(
                    self.input,
                    job.start,
                    job.end,
                    job.first_row,
                    [failed, unprocessed],
                    self.spans,
                    job.segments,
                )
                if found is not None:
                    self.located = found.rows
                    self.streams = [failed, unprocessed] if found.ambiguous else None
        if self.located is None:
            self.totals = self._index(everything=True)
            return self.totals
        self.taken = sorted(self.located[0] + self.located[1])
        rest = job.rows - len(self.taken)
        counted, processed = job.info.records_failed, job.info.records_processed
        if self.streams is None and counted == len(self.located[0]) and processed - counted == rest:
            # the job's own counters agree with the rows located: the success file is not read
            # until its rows are listed (then they are checked against the input, and any row
            # missing from every file turns up and is counted unprocessed)
            successes = rest
        else:
            successes = count_successes(files["success"])
        self.totals = {
            "total": job.rows,
            "successful": successes,
            "failed": len(self.located[0]),
            "unprocessed": len(self.located[1]),
        }
        if self.streams is not None or successes + len(self.taken) != job.rows:
            self._successes()  # rows at more than one place, or rows missing (or extra): settle it now
        return self.totals

    def _successes(self) -> None:
        """Check the successes' order; index them against the remaining input rows when it is not
        kept (the totals then come from the index: it parses every row, and finds the missing ones)."""
        assert self.input is not None
        assert self.located is not None
        job = self.job
        self.ordered = successes_in_order(
            self.input, job.start, job.end, job.first_row, self.taken, self.files["success"], self.spans
        )
        doubt, self.streams = self.streams, None
        if not self.ordered and doubt is not None:
            self.ordered = self._latest(doubt)
        if self.ordered:
            self.totals["successful"] = job.rows - len(self.taken)
            return
        if doubt is not None:  # rows at more than one place, neither placement fits: all to the index
            self.located = None
            self.totals = self._index(everything=True)
            return
        found = self._index(everything=False)
        self.totals["successful"] = found["successful"]
        self.totals["unprocessed"] = len(self.located[1]) + found["unprocessed"]

    def _latest(self, streams: list[list[bytes]]) -> bool:
        """Place the located rows as late as they go (:func:`.rowlatest.locate_latest`); keep that
        placement when the successes are the input rows left by it, in order."""
        assert self.input is not None
        job, spans = self.job, dict[int, tuple[int, int]]()
        latest = locate_latest(self.input, job.first_row, streams, spans, job.segments)
        if latest is None or latest == self.located:
            return False
        taken = sorted(latest[0] + latest[1])
        success = self.files["success"]
        if not successes_in_order(self.input, job.start, job.end, job.first_row, taken, success, spans):
            return False
        self.located, self.taken, self.spans = latest, taken, spans
        return True

    def _index(self, *, everything: bool) -> dict[str, int]:
        job, info = self.job, self.job.info
        index = RowIndex(self.index_path)
        try:
            if self.input is not None:
                skip = frozenset(() if everything else self.taken)
                add_input_range(index, job.part, self.input, job.start, job.end, job.first_row, skip)
            index.set_job(job.part, info.id, info.state.value, info.error_message)
            paths = {k: v for k, v in job.files.items() if everything or k == "success"}
            load_result_files(index, job.part, info, paths, self.columns)
            totals = index.resolve()
        finally:
            index.close()
        self.indexed = True
        return totals

    def rows(self, kind: int, lock: threading.Lock) -> Iterator[Outcome]:
        if self.input is None:
            yield from self._unmapped(kind)
            return
        if self.located is None:
            yield from self._indexed(kind)
            return
        if kind == SUCCESS:
            with lock:
                if self.ordered is None and not self.indexed:
                    self._successes()
            if self.indexed:
                yield from self._indexed(SUCCESS)
            else:
                numbers = remaining_rows(self.job.first_row, self.job.rows, self.taken)
                yield from self._read(SUCCESS, numbers)
        elif kind == FAILED:
            yield from self._read(FAILED, iter(self.located[0]))
        else:
            listed = self._read(UNPROCESSED, iter(self.located[1]))
            if self.indexed:  # rows missing from every file, found by the index
                listed = heapq.merge(listed, self._indexed(UNPROCESSED), key=lambda o: o[0] or 0)
            yield from listed

    def success_run(self, lock: threading.Lock) -> CellRun | Iterator[Outcome]:
        """The successes as :meth:`rows` gives them, or, merged in input order, as parsed rows."""
        if self.input is None or self.located is None:
            return self.rows(SUCCESS, lock)
        with lock:
            if self.ordered is None and not self.indexed:
                self._successes()
        layout = self.files["success"]
        if self.indexed or layout is None:
            return self.rows(SUCCESS, lock)
        numbers = remaining_rows(self.job.first_row, self.job.rows, self.taken)
        return CellRun(self.job.info.id, numbers, success_cuts(layout), layout.delimiter.char)

    def writable(self) -> bool:
        """Whether :meth:`success_lines` may write this job's successes: its rows have input row
        numbers and were not found out of order (not checked yet is fine)."""
        return (
            self.input is not None
            and self.located is not None
            and not self.indexed
            and self.ordered is not False
        )

    def success_lines(self, lock: threading.Lock) -> Iterator[tuple[bytes, int]]:
        """The successful rows as the CLI's success file holds them, in blocks of lines: each result
        row as Salesforce sent it (``sf__Id``, ``sf__Created``, the echoed cells), its line ending
        replaced by ``,<input row number>`` and a line feed.

        A job whose order was not checked yet is checked as its blocks go, in the same pass: each
        block, its prefixes cut off, must be the next input rows (the located rows cut out). At the
        first that is not, :class:`~.results.OutOfOrder` is raised: the caller drops what it wrote
        and lists the rows (then matched through the index).
        """
        job, layout = self.job, self.files["success"]
        check: ByteStream | None = None
        if self.ordered is None:
            assert self.input is not None
            source = cut_input(self.input, job.start, job.end, self.spans, self.taken)
            if source is None:  # a located row's bytes are not known: check the whole job first
                with lock:
                    self._successes()
                if not self.ordered or self.indexed:
                    raise OutOfOrder(job.info.id)
            else:
                check = ByteStream(source)
        numbers = remaining_rows(job.first_row, job.rows, self.taken)
        if layout is not None:
            sep = layout.delimiter.char.encode()
            for block in success_blocks(layout):
                rows = success_rows(block)
                if rows is None:
                    raise OutOfOrder(job.info.id)
                if check is not None:
                    tails = strip_prefixes(rows, block, sep)
                    if tails is None or not check.matches(tails):
                        raise OutOfOrder(job.info.id)
                numbered = zip(rows, numbers, strict=False)  # rows first: no number taken past them
                lines = [b'"%s,%d\n' % (row.rstrip(b"\r\n"), n) for row, n in numbered]
                yield b"".join(lines), len(rows)
        if check is not None:
            if not check.at_end():  # input rows left over: missing from the success file
                raise OutOfOrder(job.info.id)
            with lock:
                self.ordered = True

    def _indexed(self, kind: int) -> Iterator[Outcome]:
        if not self.indexed:
            return
        for row, job_id, sf_id, created, code, message, fields, data in iter_results(self.index_path, kind):
            flags = tuple(f for f in fields.split(",") if f) if fields else ()
            yield (
                row,
                job_id,
                sf_id,
                None if created is None else bool(created),
                code,
                message,
                flags,
                (unpack_cells(data) if data else []),
            )

    def _unmapped(self, kind: int) -> Iterator[Outcome]:
        yield from self._read(kind, repeat(None), own_columns=True)

    def _read(self, kind: int, numbers: Iterator[int | None], own_columns: bool = False) -> Iterator[Outcome]:
        label = ("success", "failed", "unprocessed")[kind]
        layout = self.files[label]
        if layout is None:
            return
        info = self.job.info
        skip = 0 if kind == UNPROCESSED else 2
        width = (len(layout.header) - skip if own_columns else len(self.columns)) + skip
        rows = _file_rows(layout, width)
        job_id = info.id
        if kind == SUCCESS:
            for number, row in zip(numbers, rows, strict=False):
                created = row[1] == "true" or row[1].strip().lower() == "true"
                yield number, job_id, row[0] or None, created, None, None, (), row[2:]
        elif kind == FAILED:
            for number, row in zip(numbers, rows, strict=False):
                code, message, fields = parse_sf_error(row[1])
                yield number, job_id, row[0] or None, None, code, message, fields, row[2:]
        else:
            code, message = job_error(info)
            for number, row in zip(numbers, rows, strict=False):
                yield number, job_id, None, None, code, message, (), row


class RowMap:
    """Row numbers of a load's result rows, job by job (see the module docstring); :meth:`build` once.

    Example:
        >>> rows = RowMap(workdir, layout, parts, columns)   # doctest: +SKIP
        >>> totals = rows.build()                            # doctest: +SKIP
        >>> first_failure = next(rows.rows(FAILED))          # doctest: +SKIP
    """

    def __init__(
        self, workdir: Path, layout: CsvLayout | None, parts: Sequence[JobPart], columns: Sequence[str]
    ) -> None:
        self.columns = tuple(columns)
        self._parts = [_Part(p, layout, workdir, columns) for p in sorted(parts, key=lambda p: p.part)]
        self._lock = threading.Lock()

    @property
    def numbered(self) -> bool:
        """Whether rows carry input row numbers (False for results fetched without their input)."""
        return all(p.input is not None for p in self._parts)

    @property
    def indexed_jobs(self) -> tuple[str, ...]:
        """Ids of the jobs matched through the index so far (their rows came back in another order,
        re-quoted, or incomplete); the others were merged without one."""
        return tuple(p.job.info.id for p in self._parts if p.indexed)

    def columns_seen(self) -> tuple[str, ...]:
        """The original columns of the first result file with a header (for results without their input)."""
        for part in self._parts:
            for layout in part.files.values():
                if layout is not None:
                    return tuple(h for h in layout.header if not h.lower().startswith("sf__"))
        return self.columns

    def success_lines(self) -> Iterator[tuple[bytes, int]] | None:
        """The success file's data lines as blocks of bytes with their number of rows (see
        :meth:`_Part.success_lines`: it may raise :class:`~.results.OutOfOrder`), or None when a
        job's successes must be listed row by row (found out of order, indexed, or without their
        input)."""
        if not all(part.writable() for part in self._parts):
            return None
        return (chunk for part in self._parts for chunk in part.success_lines(self._lock))

    def build(self) -> dict[str, int]:
        """Map every job; return the totals read from the result files."""
        for part in self._parts:
            part.build()
        return self.totals()

    def totals(self) -> dict[str, int]:
        """The totals so far (they change only if a job's successes, first listed after the build,
        turn out to need the index and some of its rows are in no result file)."""
        totals = {"total": 0, "successful": 0, "failed": 0, "unprocessed": 0}
        for part in self._parts:
            for key, value in part.totals.items():
                totals[key] += value
        return totals

    def success_runs(self) -> Iterator[CellRun | Iterator[Outcome]]:
        """The successes job by job (see :meth:`_Part.success_run`), in input order."""
        for part in self._parts:
            yield part.success_run(self._lock)

    def rows(self, kind: int) -> Iterator[Outcome]:
        """The outcomes of one kind, in input order (file order for results without their input)."""
        for part in self._parts:
            yield from part.rows(kind, self._lock)
