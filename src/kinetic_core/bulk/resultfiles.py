"""Bulk API 2.0 result files as Salesforce writes them: their names, the ``sf__Error`` cell, and
reading a job's downloaded files into a result index (see :mod:`kinetic_core.bulk.results`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from pathlib import Path

from kinetic_core.bulk.codec import pack_cells, packed_key
from kinetic_core.bulk.models import ColumnDelimiter, JobInfo
from kinetic_core.bulk.rowindex import FAILED, SUCCESS, UNPROCESSED, ResultRow, RowIndex
from kinetic_core.csvread import read_rows

RESULT_FILES = {
    "success": "successfulResults",
    "failed": "failedResults",
    "unprocessed": "unprocessedrecords",
}
KINDS = {"success": SUCCESS, "failed": FAILED, "unprocessed": UNPROCESSED}


def parse_sf_error(text: str) -> tuple[str, str, tuple[str, ...]]:
    """Split an ``sf__Error`` cell (``CODE:message:field1,field2 --``) into its parts.

    Example:
        >>> parse_sf_error("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --")
        ('REQUIRED_FIELD_MISSING', 'Required fields are missing: [Name]', ('Name',))
    """
    body = text.strip()
    terminated = body.endswith("--")
    if terminated:
        body = body[:-2].rstrip()
    code, sep, rest = body.partition(":")
    if not sep:
        return "UNKNOWN", text.strip(), ()
    fields: tuple[str, ...] = ()
    message = rest
    if terminated:
        head, sep2, tail = rest.rpartition(":")
        candidate = [f.strip() for f in tail.split(",") if f.strip()]
        if sep2 and all(" " not in f for f in candidate):
            message = head
            fields = tuple(candidate)
    return code.strip(), message.strip(), fields


def format_sf_error(code: str | None, message: str | None, fields: Sequence[str]) -> str:
    """The inverse of :func:`parse_sf_error`."""
    return f"{code or 'UNKNOWN'}:{message or ''}:{','.join(fields)} --"


def read_result_file(
    path: Path, delimiter: ColumnDelimiter, columns: Sequence[str] | None
) -> tuple[list[str], Iterator[ResultRow]]:
    """Parse one downloaded result CSV into index rows aligned to ``columns``.

    With ``columns=None`` the file's own original columns are used and no key is computed.
    """
    handle = path.open("r", encoding="utf-8-sig", newline="")
    reader = read_rows(handle, delimiter.char)
    header = next(reader, None) or []
    lower = [h.lower() for h in header]
    id_at = lower.index("sf__id") if "sf__id" in lower else None
    created_at = lower.index("sf__created") if "sf__created" in lower else None
    error_at = lower.index("sf__error") if "sf__error" in lower else None
    original = [i for i, h in enumerate(lower) if not h.startswith("sf__")]
    if columns is None:
        cols = [header[i] for i in original]
        positions: list[int | None] = list(original)
        keyed = False
    else:
        cols = list(columns)
        where = {lower[i]: i for i in original}
        positions = [where.get(c.lower()) for c in cols]
        keyed = True

    width = max((p for p in positions if p is not None), default=-1) + 1
    pick: Callable[[list[str]], Sequence[str]] | None = None
    fixed = [p for p in positions if p is not None]
    if fixed and len(fixed) == len(positions):  # every column echoed: one C-level pick per row
        pick = itemgetter(*fixed) if len(fixed) > 1 else lambda row: (row[fixed[0]],)

    def rows() -> Iterator[ResultRow]:
        try:
            for seq, row in enumerate(reader):
                if not row:
                    continue
                if pick is not None and len(row) >= width:
                    cells = pick(row)
                else:
                    cells = [row[p] if p is not None and p < len(row) else "" for p in positions]
                sf_id = row[id_at] if id_at is not None and id_at < len(row) else None
                created = None
                if created_at is not None and created_at < len(row):
                    created = row[created_at].strip().lower() == "true"
                code = message = fields = None
                if error_at is not None and error_at < len(row):
                    code, message, parsed = parse_sf_error(row[error_at])
                    fields = ",".join(parsed)
                data = pack_cells(cells)
                key = packed_key(data) if keyed else None
                yield seq, key, sf_id or None, created, code, message, fields, data
        finally:
            handle.close()

    return cols, rows()


def load_result_files(
    index: RowIndex,
    part: int,
    job: JobInfo,
    files: Mapping[str, Path],
    columns: Sequence[str] | None,
) -> list[str]:
    """Record the downloaded result files of one job in ``index``; returns the columns seen."""
    seen: list[str] = list(columns or [])
    for label, path in files.items():
        if not path.exists() or path.stat().st_size == 0:
            continue
        cols, rows = read_result_file(
            path, job.column_delimiter, columns if columns is not None else (seen or None)
        )
        if label == "unprocessed":
            rows = _with_job_error(rows, job)
        index.add_results(part, job.id, KINDS[label], rows)
        if not seen:
            seen = cols
    return seen


def _with_job_error(rows: Iterator[ResultRow], job: JobInfo) -> Iterator[ResultRow]:
    """Unprocessed rows carry no error of their own: give them the job's."""
    state = job.state.value
    code = f"JOB_{state.upper()}" if state in ("Failed", "Aborted") else "NOT_PROCESSED"
    message = job.error_message or f"job {job.id} ended {state} before processing the row"
    for seq, key, sf_id, created, _code, _message, fields, data in rows:
        yield seq, key, sf_id, created, code, message, fields, data


def echoed_cells(data: bytes, delimiter: str, width: int) -> list[str]:
    """The cells of one row's echoed columns (``data``: the row's bytes after its ``sf__`` cells,
    line ending or not), padded to ``width``."""
    text = data.decode("utf-8")
    try:
        cells = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error:  # a cell over the csv module's field size limit
        cells = next(read_rows(io.StringIO(text, newline=""), delimiter), [])
    if len(cells) < width:
        cells.extend([""] * (width - len(cells)))
    return cells
