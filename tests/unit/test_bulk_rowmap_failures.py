"""Failures' row numbers from the runs of rows the split kept: no scan of the input, right for
duplicate rows, shuffled result files, several jobs and failures on a job's first or last row.

The input goes through :func:`split_file` (small caps, so one load makes several jobs); each job's
result files are written as Salesforce writes them, from the job's own spool file, so they echo
exactly what was uploaded. Listing the failures must give every failed row once, with the number
of an input row holding the same cells, in input order; rows with equal cells may swap numbers
between them, never with other rows.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinetic_core.bulk.csvfile import sniff
from kinetic_core.bulk.models import JobInfo, JobState, Operation
from kinetic_core.bulk.results import BulkResult
from kinetic_core.bulk.rowmap import JobPart, RowMap
from kinetic_core.bulk.split import Chunk, split_file

COLUMNS = ["Name", "Note"]
ERROR = '"","REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",'


def _encode(rows: list[list[str]], eol: str) -> bytes:
    """CSV lines, a cell quoted when it holds a comma, a quote, CR or LF."""

    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value

    return "".join(",".join(map(cell, row)) + eol for row in [COLUMNS, *rows]).encode()


def _spooled_rows(chunk: Chunk) -> list[bytes]:
    """The data rows of a job's spool file as uploaded, line endings kept (a line feed inside a
    quoted value, an odd count of quotes so far, does not end a row)."""
    data = chunk.path.read_bytes()
    rows, row = [], b""
    for line in data[data.index(b"\n") + 1 :].splitlines(keepends=True):
        row += line
        if row.endswith(b"\n") and row.count(b'"') % 2 == 0:
            rows.append(row)
            row = b""
    assert not row
    return rows


def _load(
    tmp: Path,
    rows: list[list[str]],
    failing: set[int],
    eol: str,
    max_records: int,
    shuffle: int | None,
    data: bytes | None = None,
) -> tuple[BulkResult, list[Chunk]]:
    source = tmp / "input.csv"
    source.write_bytes(_encode(rows, eol) if data is None else data)
    layout = sniff(source)
    spool = tmp / "spool"
    spool.mkdir()
    chunks = list(split_file(layout, spool, max_records=max_records))
    parts: list[JobPart] = []
    for chunk in chunks:
        uploaded = _spooled_rows(chunk)
        assert len(uploaded) == chunk.rows
        ok, failed = [], []
        for i, line in enumerate(uploaded):
            number = chunk.first_row + i
            if number in failing:
                failed.append(ERROR.encode() + line)
            else:
                ok.append(b'"001%015d","true",' % number + line)
        if shuffle is not None:
            random.Random(shuffle + chunk.part).shuffle(failed)
        header = layout.header_bytes
        files = {
            "success": (b'"sf__Id","sf__Created",' + header, ok),
            "failed": (b'"sf__Id","sf__Error",' + header, failed),
            "unprocessed": (header, []),
        }
        paths = {}
        for label, (head, body) in files.items():
            path = tmp / f"{chunk.part}-{label}.csv"
            path.write_bytes(head + b"".join(body))
            paths[label] = path
        info = JobInfo(
            f"750{chunk.part:015d}",
            Operation.INSERT,
            "Contact",
            JobState.JOB_COMPLETE,
            records_processed=chunk.rows,
            records_failed=len(failed),
        )
        parts.append(
            JobPart(
                chunk.part, info, paths, chunk.first_row, chunk.rows, chunk.start, chunk.end, chunk.segments
            )
        )
    source_map = RowMap(tmp, layout, parts, COLUMNS)
    result = BulkResult(
        workdir=tmp / "work", totals={}, jobs=[p.info for p in parts], columns=COLUMNS, rows=source_map
    )
    return result, chunks


def _check_failures(result: BulkResult, rows: list[list[str]], failing: set[int]) -> None:
    listed = list(result.failed_rows())
    numbers = [r.row_number or 0 for r in listed]
    assert all(numbers)
    assert numbers == sorted(numbers)  # input order
    assert len(set(numbers)) == len(numbers)  # each row once
    for r in listed:
        assert r.row_number is not None
        assert [r.record[c] for c in COLUMNS] == rows[r.row_number - 1]  # a row with these very cells
        assert r.error_code == "REQUIRED_FIELD_MISSING"
    # rows with equal cells can swap numbers, nothing else: the failed cells are those of the failed rows
    assert Counter(tuple(rows[n - 1]) for n in numbers) == Counter(tuple(rows[n - 1]) for n in failing)
    assert (result.total, result.failed, result.successful + result.failed) == (
        len(rows),
        len(failing),
        len(rows),
    )


_CELL = st.text(alphabet=st.sampled_from(list('ab ,"\n\r\té')), max_size=5)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(_CELL, min_size=2, max_size=2), min_size=1, max_size=30),
    seed=st.integers(0, 10_000),
    max_records=st.integers(1, 8),
    eol=st.sampled_from(["\n", "\r\n"]),
    shuffle=st.one_of(st.none(), st.integers(0, 100)),
    duplicates=st.booleans(),
)
def test_failures_are_numbered_from_the_split_runs(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    seed: int,
    max_records: int,
    eol: str,
    shuffle: int | None,
    duplicates: bool,
) -> None:
    rng = random.Random(seed)
    if duplicates:  # many equal rows, failed and successful alike
        rows = [list(rng.choice(rows[:2])) for _ in rows]
    rows = [r if any(r) else ["", "x"] for r in rows]  # a row of empty cells is a blank line in CSV
    total = len(rows)
    # failures anywhere, and on the first and last row of jobs (the split's boundaries)
    failing = {n for n in range(1, total + 1) if rng.random() < 0.3}
    edges = (0, max_records - 1)
    failing |= {n for n in range(1, total + 1) if (n - 1) % max_records in edges and rng.random() < 0.5}
    tmp = tmp_path_factory.mktemp("failures")
    result, chunks = _load(tmp, rows, failing, eol, max_records, shuffle)
    assert len(chunks) == -(-total // max_records)
    assert all(c.segments for c in chunks)
    _check_failures(result, rows, failing)
    # the full listing agrees: every row once, the failures where they were listed alone
    seen = [r.row_number for r in result]
    assert sorted(n for n in seen if n) == list(range(1, total + 1))
    result.close()


def test_failures_in_order_read_neither_the_successes_nor_the_whole_input(tmp_path: Path) -> None:
    """With the job's counters agreeing, listing the failures reads no success row at all."""
    rows = [[f"Name {i}", 'said "hi"\nthen left' if i % 3 == 0 else "plain"] for i in range(60)]
    failing = {1, 10, 11, 20, 30, 31, 40, 60}  # first and last rows of 10-row jobs among them
    result, chunks = _load(tmp_path, rows, failing, "\n", 10, None)
    assert len(chunks) == 6
    for chunk in chunks:
        (tmp_path / f"{chunk.part}-success.csv").unlink()
    _check_failures(result, rows, failing)
    assert result.indexed_jobs == ()


def test_an_input_cut_short_after_the_upload_is_matched_by_content(tmp_path: Path) -> None:
    """The split's offsets are not trusted past the end of a changed input: that job falls back on
    the index (which matches rows by their cells); the other jobs keep their located rows."""
    rows = [[f"Name {i}", "note"] for i in range(20)]
    failing = {3, 17}
    result, chunks = _load(tmp_path, rows, failing, "\n", 8, None)
    source = tmp_path / "input.csv"
    source.write_bytes(source.read_bytes()[:-40])  # the last three rows and part of row 17
    listed = [r.row_number for r in result.failed_rows()]
    assert listed[0] == 3
    assert result.indexed_jobs == (f"750{chunks[-1].part:015d}",)


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_a_failed_last_row_without_a_line_ending_is_found(tmp_path: Path, eol: str) -> None:
    """The split gives the file's last row the layout's line ending; reading it back does the same."""
    rows = [[f"Name {i}", "two\nlines" if i % 2 else "one"] for i in range(9)]
    source_rows = _encode(rows, eol)[: -len(eol)]  # no line ending after the last row
    result, chunks = _load(tmp_path, rows, {4, 9}, eol, 4, None, data=source_rows)
    assert chunks[-1].end > (tmp_path / "input.csv").stat().st_size
    _check_failures(result, rows, {4, 9})
    assert result.indexed_jobs == ()


def _numbers(result: BulkResult) -> tuple[list[int], list[int]]:
    failed = [r.row_number or 0 for r in result.failed_rows()]
    succeeded = [r.row_number or 0 for r in result.successful_rows()]
    return failed, succeeded


@pytest.mark.parametrize("max_records", [7, 1000])
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_a_refused_later_copy_of_a_row_keeps_its_own_number(
    tmp_path: Path, max_records: int, eol: str
) -> None:
    """Identical rows, the first inserted and the later copies refused (a duplicate on a unique
    field): each copy placed at its first possible row would give the refused copies the numbers of
    the inserted ones. The success file, in order, says which placement is right: the later one."""
    rows = [[f"Name {i}", 'a "b",\nc' if i % 5 == 0 else "plain é"] for i in range(40)]
    for n in (9, 12, 14, 30):  # copies of row 4 (within one job at 1000 rows a job, split at 7)
        rows[n - 1] = list(rows[3])
    failing = {2, 12, 14, 30, 35}
    result, _ = _load(tmp_path, rows, failing, eol, max_records, None)
    failed, succeeded = _numbers(result)
    assert failed == sorted(failing)
    assert succeeded == [n for n in range(1, 41) if n not in failing]
    assert result.indexed_jobs == ()
    assert (result.total, result.successful, result.failed) == (40, 35, 5)
    # the full listing gives the same numbers, every row once
    listed = sorted((r.row_number or 0, r.status.value) for r in result)
    assert listed == [(n, "failed" if n in failing else "success") for n in range(1, 41)]
    result.close()


def test_a_refused_earlier_copy_keeps_its_first_place(tmp_path: Path) -> None:
    """The first copy refused and the later one inserted: the first placement fits, as before."""
    rows = [[f"Name {i}", "plain"] for i in range(20)]
    rows[15] = list(rows[3])
    result, _ = _load(tmp_path, rows, {4, 18}, "\n", 1000, None)
    failed, succeeded = _numbers(result)
    assert failed == [4, 18]
    assert succeeded == [n for n in range(1, 21) if n not in (4, 18)]
    assert result.indexed_jobs == ()
    result.close()


def test_a_refused_middle_copy_goes_to_the_index(tmp_path: Path) -> None:
    """Three copies, the middle one refused: neither the first nor the last placement fits the
    success file, so the job's rows are matched through the index; every row is still listed once
    and the refused cells are those of the refused row."""
    rows = [[f"Name {i}", "plain"] for i in range(20)]
    rows[7] = rows[11] = list(rows[3])
    failing = {8, 17}
    result, chunks = _load(tmp_path, rows, failing, "\n", 1000, None)
    _check_failures(result, rows, failing)
    assert result.indexed_jobs == (f"750{chunks[0].part:015d}",)
    assert sorted(r.row_number or 0 for r in result) == list(range(1, 21))
    result.close()
