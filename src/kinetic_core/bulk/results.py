"""Merged, row-mapped results of a bulk load.

A :class:`BulkResult` accounts for every input row exactly once:
``successful + failed + unprocessed == total``. Its totals first come from the jobs'
counters and the row counts known at upload; the row-level view (which input row
got which outcome) is built only when it is asked for, by a row source
(:class:`~.rowmap.RowMap`: a merge of the result files with the input in the common
case, an index in a temporary directory owned by the result otherwise, removed by
:meth:`BulkResult.close` or when the object is garbage collected). Rows are read back
lazily, in input order.

With ``results_dir`` the three outcomes are also written as CSV files named like the
Salesforce CLI's (``<name>-success-records.csv``, ``<name>-failed-records.csv``,
``<name>-unprocessed-records.csv``; ``<name>`` is the job id for a one-job load and
``load-<first job id>`` otherwise). They have the CLI's columns (``sf__Id``,
``sf__Created`` / ``sf__Error``, then the uploaded columns) plus a last column
``kc__RowNumber``: the 1-based data row of the input. They are written with comma
delimiters and LF line endings whatever the job's dialect.
"""

from __future__ import annotations

import csv
import enum
import io
import shutil
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from kinetic_core.bulk.models import JobInfo
from kinetic_core.bulk.resultfiles import echoed_cells, format_sf_error
from kinetic_core.bulk.rowindex import FAILED, SUCCESS, UNPROCESSED
from kinetic_core.runfiles import create_exclusive

WRITE_REPORT_EVERY = 5_000
"""Rows between two progress reports of :meth:`BulkResult.write_files`."""


class RowStatus(enum.StrEnum):
    """The outcome of one input row."""

    SUCCESS = "success"
    FAILED = "failed"
    UNPROCESSED = "unprocessed"


@dataclass(frozen=True)
class RowResult:
    """One input row's outcome.

    Attributes:
        status: success, failed or unprocessed.
        row_number: 1-based data row of the input (None only for results fetched by job id
            without the original load).
        id: the record id (``sf__Id``), when there is one.
        created: ``sf__Created`` for successes.
        error_code / error_message / error_fields: parsed from ``sf__Error`` for failures; for
            unprocessed rows the job's error (``JOB_FAILED``, ``JOB_ABORTED``, ``NOT_IN_RESULTS``...).
        job_id: the job that carried the row.
        record: the row's original columns as echoed by Salesforce (strings).
        index_label: for a pandas DataFrame input whose index is not the default ``RangeIndex``
            (0, 1, 2...), the row's index label (``frame.loc[label]`` finds it); else None.
            ``row_number`` stays the 1-based position either way, so counts and files agree.
    """

    status: RowStatus
    row_number: int | None
    id: str | None
    created: bool | None
    error_code: str | None
    error_message: str | None
    error_fields: tuple[str, ...]
    job_id: str | None
    record: Mapping[str, str]
    index_label: Any = None

    if not TYPE_CHECKING:  # for type checkers every attribute is a declared field

        def __getattr__(self, name: str) -> Any:
            # A row listed from a result file carries its echoed cells and builds ``record`` the
            # first time it is read (once: the dict is then stored): listing outcomes without
            # reading the echo does not pay for a dict per row (a third of the listing's cost).
            if name == "record":
                echo = self.__dict__.get("_echo")
                if echo is not None:
                    columns, cells, skip = echo
                    if isinstance(cells, bytes):  # the row's echoed bytes; ``skip``: the delimiter
                        cells = echoed_cells(cells, skip, len(columns))
                        skip = 0
                    record = dict(zip(columns, cells[skip:]))  # noqa: B905 - cells padded to the columns
                    self.__dict__["record"] = record
                    del self.__dict__["_echo"]
                    return record
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

        def __getstate__(self) -> dict[str, Any]:
            self.record  # noqa: B018 - built before the state is taken (copy, pickle)
            return self.__dict__


Outcome = tuple[
    int | None, str | None, str | None, bool | None, str | None, str | None, tuple[str, ...], list[str]
]
"""One row's outcome as a row source yields it:
(row_number, job_id, sf_id, created, error_code, error_message, error_fields, cells)."""


class OutOfOrder(Exception):
    """A job's successful rows turned out not to be in input order while its success file was being
    written from them (the rows are then listed through the index instead)."""


@dataclass(frozen=True)
class CellRun:
    """The successful rows of one job in input order, cut from its result file as bytes.

    Attributes:
        job_id: the job.
        numbers: the rows' input row numbers, in the order of the rows.
        blocks: the rows a block of the file at a time: their ``sf__Id`` values, their
            ``sf__Created`` values (one bool when the whole block has the same), and the bytes of
            their echoed columns (parsed only when a row's ``record`` is read).
        delimiter: the file's column delimiter.
    """

    job_id: str
    numbers: Iterator[int]
    blocks: Iterator[tuple[list[str], bool | list[bool], list[bytes]]]
    delimiter: str


class RowSource(Protocol):
    """Where a :class:`BulkResult` reads its rows from (see :class:`~.rowmap.RowMap`)."""

    def build(self) -> Mapping[str, int]:
        """Map the rows; return the totals read from the result files."""

    def rows(self, kind: int) -> Iterator[Outcome]:
        """The outcomes of one kind (``SUCCESS``, ``FAILED``, ``UNPROCESSED``) in input order."""

    def totals(self) -> Mapping[str, int]:
        """The totals as they stand (after the rows listed so far)."""

    def success_runs(self) -> Iterator[CellRun | Iterator[Outcome]]:
        """The successes job by job, in input order: rows cut from a file with their numbers, or
        outcomes."""

    @property
    def indexed_jobs(self) -> tuple[str, ...]:
        """Jobs whose rows needed an index to be matched (diagnostics)."""

    def success_lines(self) -> Iterator[tuple[bytes, int]] | None:
        """The success rows as CSV lines ending in their row number, as blocks of bytes with their
        number of rows; None: list them. May raise :class:`OutOfOrder` while iterated: list them."""


class BulkResult:
    """Totals and lazily read, row-mapped outcomes of a bulk load (possibly several jobs).

    Counting rules:

    * ``total`` is the number of data rows uploaded (counted exactly while splitting).
    * Until row-level results are read, ``successful``, ``failed`` and ``unprocessed`` come
      from each job's ``numberRecordsProcessed`` / ``numberRecordsFailed``: ``failed`` is the
      failed count, ``successful`` the processed count minus it, and ``unprocessed`` the rest
      of the job's uploaded rows, so ``successful + failed + unprocessed == total`` always.
    * The first call to :meth:`successful_rows`, :meth:`failed_rows`,
      :meth:`unprocessed_rows`, iteration, :meth:`write_files` (used by ``results_dir=``)
      or :meth:`verify` maps every row: the result files are read, each result row is
      matched to its input row (Salesforce does not keep the input order), and rows that
      no result file mentions are counted *unprocessed*. From then on the totals are
      those of the result files; if they disagree with the jobs' counters, the files win.
    * Mapping re-reads the uploaded rows from their source: the caller's CSV file (which
      must not change in between) or the spool written from records (kept in the
      result's temporary directory until :meth:`close`).
    * ``release`` (removes the job manifests, see :mod:`.manifest`) is called once when the
      result is closed or garbage collected: always for the result a load returns (it was
      handed every job's outcome), and for a result fetched by job id only if its rows were
      read (``release_unread=False``), so that a mere look at the totals keeps the job resumable.
      ``unlock`` (gives up the jobs' manifest locks) is called once on close, read or not.

    Example:
        >>> result = client.bulk.insert("Account", [{"Name": "A"}, {"Name": None}])  # doctest: +SKIP
        >>> result.successful + result.failed + result.unprocessed == result.total    # doctest: +SKIP
        True
        >>> for row in result.failed_rows():                                          # doctest: +SKIP
        ...     print(row.row_number, row.error_code, row.error_message)
    """

    def __init__(
        self,
        *,
        workdir: Path,
        totals: Mapping[str, int],
        jobs: Sequence[JobInfo],
        columns: Sequence[str],
        rows: RowSource,
        files: Mapping[str, Path] | None = None,
        release: Callable[[], object] | None = None,
        release_unread: bool = True,
        unlock: Callable[[], object] | None = None,
    ) -> None:
        self._set_totals(totals)
        self.jobs = tuple(jobs)
        self.job_ids = tuple(j.id for j in jobs)
        self.columns = tuple(columns)
        self.files = dict(files or {})
        self._source = rows
        self._built = False
        self._map_lock = threading.Lock()
        self.index_labels: Sequence[Any] | None = None
        """The input DataFrame's index labels by position (None: not a frame, or a default index)."""
        self._state = {"read": release_unread}
        self._finalizer = weakref.finalize(self, _cleanup, str(workdir), self._state, release, unlock)

    def _set_totals(self, totals: Mapping[str, int]) -> None:
        self.total = int(totals.get("total", 0))
        self.successful = int(totals.get("successful", 0))
        self.failed = int(totals.get("failed", 0))
        self.unprocessed = int(totals.get("unprocessed", 0))

    @property
    def rows_mapped(self) -> bool:
        """Whether the row-level results have been read (and the totals verified against them)."""
        return self._built

    def verify(self) -> BulkResult:
        """Read the result files and map every row now; the totals then come from the files.

        Example:
            >>> result.verify().unprocessed   # doctest: +SKIP
            0
        """
        self._ensure_mapped()
        return self

    def _ensure_mapped(self) -> None:
        with self._map_lock:
            if self._built:
                return
            self._set_totals(self._source.build())
            self._built = True
            self._state["read"] = True

    @property
    def indexed_jobs(self) -> tuple[str, ...]:
        """Ids of the jobs whose result rows had to be matched through an index (they came back out of
        input order, re-quoted or incomplete); the rows of the other jobs were merged with the input
        without one. Diagnostics: the row numbers are the same either way."""
        return self._source.indexed_jobs

    @property
    def ok(self) -> bool:
        """True when every row succeeded."""
        return self.successful == self.total

    def job_errors(self) -> dict[str, str]:
        """``errorMessage`` of every job that failed or was aborted, by job id."""
        return {j.id: j.error_message or j.state.value for j in self.jobs if j.state.value != "JobComplete"}

    def _rows(self, kind: int, status: RowStatus) -> Iterator[RowResult]:
        self._ensure_mapped()
        yield from self._results(self._source.rows(kind), status)
        self._set_totals(self._source.totals())

    def _results(self, outcomes: Iterator[Outcome], status: RowStatus) -> Iterator[RowResult]:
        columns, labels = self.columns, self.index_labels
        count = len(labels) if labels is not None else 0
        # RowResult is frozen: its __init__ sets each field through object.__setattr__, a third of
        # the cost of listing a row; the instance dict is set in one go instead (same object)
        new, set_dict = object.__new__, object.__setattr__
        for row, job_id, sf_id, created, code, message, fields, cells in outcomes:
            result = new(RowResult)
            set_dict(
                result,
                "__dict__",
                {
                    "status": status,
                    "row_number": row,
                    "id": sf_id or None,
                    "created": created,
                    "error_code": code,
                    "error_message": message,
                    "error_fields": fields,
                    "job_id": job_id,
                    "_echo": (columns, cells, 0),  # ``record``, built when read
                    "index_label": labels[row - 1] if labels is not None and row and row <= count else None,
                },
            )
            yield result

    def _successes(self) -> Iterator[RowResult]:
        """:meth:`_rows` for the successes: a job's rows parsed from its file in input order become
        results in one loop (no outcome tuple in between); other jobs' rows go through outcomes."""
        self._ensure_mapped()
        columns, labels = self.columns, self.index_labels
        count = len(labels) if labels is not None else 0
        new, set_dict = object.__new__, object.__setattr__
        status = RowStatus.SUCCESS
        for run in self._source.success_runs():
            if not isinstance(run, CellRun):
                yield from self._results(run, status)
                continue
            job_id, numbers, delimiter = run.job_id, run.numbers, run.delimiter
            for ids, created, tails in run.blocks:
                flags = repeat(created) if isinstance(created, bool) else created
                # ``numbers`` last: zip stops at the block's end without taking the next number
                for sf_id, flag, tail, row in zip(ids, flags, tails, numbers):  # noqa: B905
                    result = new(RowResult)
                    set_dict(
                        result,
                        "__dict__",
                        {
                            "status": status,
                            "row_number": row,
                            "id": sf_id or None,
                            "created": flag,
                            "error_code": None,
                            "error_message": None,
                            "error_fields": (),
                            "job_id": job_id,
                            "_echo": (columns, tail, delimiter),  # ``record``, parsed when read
                            "index_label": labels[row - 1]
                            if labels is not None and row and row <= count
                            else None,
                        },
                    )
                    yield result
        self._set_totals(self._source.totals())

    def successful_rows(self) -> Iterator[RowResult]:
        """Successful rows in input order."""
        return self._successes()

    def failed_rows(self) -> Iterator[RowResult]:
        """Failed rows in input order, with their parsed errors."""
        return self._rows(FAILED, RowStatus.FAILED)

    def unprocessed_rows(self) -> Iterator[RowResult]:
        """Rows never processed (job aborted or failed, or absent from every result file)."""
        return self._rows(UNPROCESSED, RowStatus.UNPROCESSED)

    def __iter__(self) -> Iterator[RowResult]:
        """All rows: successes, then failures, then unprocessed rows."""
        yield from self.successful_rows()
        yield from self.failed_rows()
        yield from self.unprocessed_rows()

    def summary(self) -> dict[str, object]:
        """A JSON-ready summary (totals, job ids, result files)."""
        return {
            "total": self.total,
            "successful": self.successful,
            "failed": self.failed,
            "unprocessed": self.unprocessed,
            "job_ids": list(self.job_ids),
            "files": {k: str(v) for k, v in self.files.items()},
        }

    def close(self) -> None:
        """Remove the temporary row store (result files in ``results_dir`` stay).

        The job manifests and kept spools are removed too (see the class docstring).
        """
        self._finalizer()

    def __enter__(self) -> BulkResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"BulkResult(total={self.total}, successful={self.successful}, failed={self.failed}, "
            f"unprocessed={self.unprocessed}, job_ids={list(self.job_ids)})"
        )

    def write_files(
        self, directory: Path, name: str, *, on_rows: Callable[[int], object] | None = None
    ) -> dict[str, Path]:
        """Write the three CLI-style result files into ``directory``; returns their paths.

        Files are ``<name>-success|failed|unprocessed-records.csv``; a file that exists already is
        never replaced: the set is then named ``<name>-2-...`` (``-3``...). When writing fails, the
        files begun here are removed and the error is raised. ``on_rows`` (for progress) is called
        with the rows written so far, every ``WRITE_REPORT_EVERY`` rows and at the end.
        """
        written = 0
        self._ensure_mapped()
        directory.mkdir(parents=True, exist_ok=True)
        specs = [
            ("success", ["sf__Id", "sf__Created"], SUCCESS),
            ("failed", ["sf__Id", "sf__Error"], FAILED),
            ("unprocessed", [], UNPROCESSED),
        ]
        opened = create_exclusive(directory, name, [label for label, _, _ in specs])
        width = len(self.columns)
        try:
            for label, lead, kind in specs:
                handle = opened[label][1]
                # rows end in a line feed, but a value holding a carriage return must be quoted too:
                # csv.writer quotes only the characters of its line terminator, so it writes CRLF
                # into a list and each line's CR is dropped before the batch is written
                lines_out: list[str] = []
                writer = csv.writer(_ListWriter(lines_out), lineterminator="\r\n")
                writer.writerow([*lead, *self.columns, "kc__RowNumber"])
                _flush_lines(handle, lines_out)
                lines = self._source.success_lines() if label == "success" else None
                if lines is not None:  # in input order: the rows as sent, numbered, no parsing
                    handle.flush()
                    binary = cast(io.BufferedWriter, cast(io.TextIOWrapper, handle).buffer)
                    start, already = binary.tell(), written
                    try:
                        for chunk, count in lines:
                            binary.write(chunk)
                            before, written = written, written + count
                            if (
                                on_rows is not None
                                and written // WRITE_REPORT_EVERY > before // WRITE_REPORT_EVERY
                            ):
                                on_rows(written)
                        handle.close()
                        continue
                    except OutOfOrder:  # found while writing: start the file's rows again, listed
                        binary.seek(start)
                        binary.truncate(start)
                        written = already
                for row, _job, sf_id, created, code, message, fields, cells in self._source.rows(kind):
                    if len(cells) != width:
                        cells = [*cells[:width], *[""] * (width - len(cells))]
                    number = "" if row is None else row
                    if label == "success":
                        writer.writerow([sf_id or "", "true" if created else "false", *cells, number])
                    elif label == "failed":
                        writer.writerow([sf_id or "", format_sf_error(code, message, fields), *cells, number])
                    else:
                        writer.writerow([*cells, number])
                    if len(lines_out) >= 4096:
                        _flush_lines(handle, lines_out)
                    written += 1
                    if on_rows is not None and written % WRITE_REPORT_EVERY == 0:
                        on_rows(written)
                _flush_lines(handle, lines_out)
                handle.close()
            if on_rows is not None:
                on_rows(written)
        except BaseException:
            for path, handle in opened.values():
                handle.close()
                path.unlink(missing_ok=True)
            raise
        paths = {label: path for label, (path, _) in opened.items()}
        self.files = paths
        return paths

    def keep_manifests(self) -> None:
        """Keep the jobs' manifests when this result is closed (their rows can be fetched again by job id)."""
        self._state["read"] = False


class _ListWriter:
    """A ``write`` target for ``csv.writer`` that appends to a list."""

    __slots__ = ("write",)

    def __init__(self, lines: list[str]) -> None:
        self.write = lines.append


def _flush_lines(handle: Any, lines: list[str]) -> None:
    """Write lines that ``csv.writer`` ended with CRLF, each ending with LF instead."""
    handle.write("".join([line[:-2] + "\n" for line in lines]))
    lines.clear()


def _cleanup(
    workdir: str,
    state: dict[str, bool],
    release: Callable[[], object] | None,
    unlock: Callable[[], object] | None,
) -> None:
    shutil.rmtree(workdir, True)
    try:
        if release is not None and state["read"]:
            release()
    finally:
        if unlock is not None:
            unlock()
