"""Deferred row mapping of an ingest load: totals from counters now, row numbers on demand.

While loading, nothing is parsed or hashed: each job is remembered as a :class:`JobPart`
(its final info, its downloaded result files, and the byte range of the input it was
uploaded from). :func:`totals_from_jobs` gives the totals at once; :class:`RowMapper`
builds the row index (see :mod:`.rowindex`) the first time a :class:`~.results.BulkResult`
is asked for rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kinetic_core.bulk.csvfile import CsvLayout
from kinetic_core.bulk.models import JobInfo
from kinetic_core.bulk.results import load_result_files
from kinetic_core.bulk.rowindex import RowIndex, add_input_range


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
    """

    part: int
    info: JobInfo
    files: Mapping[str, Path]
    first_row: int
    rows: int
    start: int
    end: int


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


class RowMapper:
    """Builds a load's row index on demand (see :class:`BulkResult`); call it once.

    Example:
        >>> path, totals = RowMapper(workdir, layout, parts, columns)()  # doctest: +SKIP
    """

    def __init__(self, workdir: Path, layout: CsvLayout, parts: Sequence[JobPart], columns: Sequence[str]):
        self.workdir = workdir
        self.layout = layout
        self.parts = tuple(parts)
        self.columns = tuple(columns)

    def __call__(self) -> tuple[Path, Mapping[str, int]]:
        index = RowIndex(self.workdir / "index.sqlite")
        try:
            for p in self.parts:
                add_input_range(index, p.part, self.layout, p.start, p.end, p.first_row)
                index.set_job(p.part, p.info.id, p.info.state.value, p.info.error_message)
                load_result_files(index, p.part, p.info, p.files, self.columns)
                for path in p.files.values():
                    path.unlink(missing_ok=True)
            totals = index.resolve()
        finally:
            index.close()
        return index.path, totals
