"""DataFrame inputs encoded through pyarrow (``kinetic_core.bulk.sources``) and lazy package imports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kinetic_core.bulk.sources import prepare_input
from kinetic_core.bulk.split import split_file

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pytest.importorskip("pyarrow")

PARIS = dt.timezone(dt.timedelta(hours=2))


def frame_data() -> dict[str, list[Any]]:
    return {
        "Name": ["a", "b,c", None, "", 'say "hi"'],
        "Amount": [1.5, 3.25, float("nan"), 1e20, -0.5],
        "Active": [True, False, None, True, False],
        "Count": [1, 2, 3, 4, 5],
        "Since": [
            dt.date(2024, 2, 29),
            None,
            dt.date(1999, 12, 31),
            dt.date(2024, 1, 1),
            dt.date(2000, 1, 1),
        ],
        "Seen": [
            dt.datetime(2024, 1, 1, 8, 30, 5, 123999),
            dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
            None,
            dt.datetime(2024, 1, 1, 0, 0),
            dt.datetime(2024, 6, 1, 12, 0),
        ],
    }


EXPECTED = [
    ["a", "1.5", "true", "1", "2024-02-29", "2024-01-01T08:30:05.123Z"],
    ["b,c", "3.25", "false", "2", "#N/A", "1969-12-31T23:59:59.999Z"],
    ["#N/A", "#N/A", "#N/A", "3", "1999-12-31", "#N/A"],
    ["", "1e+20", "true", "4", "2024-01-01", "2024-01-01T00:00:00.000Z"],
    ['say "hi"', "-0.5", "false", "5", "2000-01-01", "2024-06-01T12:00:00.000Z"],
]


def parse(path: Path, delimiter: str = ",") -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


@pytest.mark.parametrize("flavour", ["pandas", "polars"])
def test_frame_values_in_salesforce_formats(tmp_path: Path, flavour: str) -> None:
    data = frame_data()
    frame = pd.DataFrame(data) if flavour == "pandas" else pl.DataFrame(data, strict=False)
    prepared = prepare_input(frame, tmp_path)
    assert prepared.columns == ("Name", "Amount", "Active", "Count", "Since", "Seen")
    assert prepared.header == b"Name,Amount,Active,Count,Since,Seen\n"
    assert prepared.records == 5
    assert parse(prepared.layout.path) == EXPECTED
    raw = prepared.layout.path.read_bytes()
    assert b'"#N/A"' not in raw  # nulls are never quoted
    assert b"\n" + b"#N/A," in raw


def test_aware_datetimes_become_utc_and_categories_text(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "When": pd.to_datetime([dt.datetime(2024, 1, 1, 8, 30, tzinfo=PARIS), None], utc=True),
            "Kind": pd.Categorical(["x", None]),
            "Big": pd.array([7, None], dtype="Int64"),
        }
    )
    prepared = prepare_input(frame, tmp_path)
    assert parse(prepared.layout.path) == [["2024-01-01T06:30:00.000Z", "x", "7"], ["#N/A", "#N/A", "#N/A"]]


def test_plain_frame_is_written_bare_with_any_delimiter_and_line_ending(tmp_path: Path) -> None:
    frame = pl.DataFrame({"Name": ["a b", "c"], "N": [1, None], "Ok": [True, False]})
    prepared = prepare_input(frame, tmp_path, delimiter="TAB", line_ending="CRLF")
    assert prepared.header == b"Name\tN\tOk\r\n"
    assert prepared.layout.path.read_bytes() == b"a b\t1\ttrue\r\nc\t#N/A\tfalse\r\n"


def test_infinite_float_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        prepare_input(pd.DataFrame({"X": [1.0, float("inf")]}), tmp_path)


def test_unsupported_column_type_falls_back_to_the_value_encoder(tmp_path: Path) -> None:
    frame = pd.DataFrame({"At": [dt.time(8, 30, 1, 250000), None], "Name": ["x", "y,z"]})
    prepared = prepare_input(frame, tmp_path)
    assert parse(prepared.layout.path) == [["08:30:01.250Z", "x"], ["#N/A", "y,z"]]


def test_large_frame_is_split_below_the_byte_cap_with_exact_counts(tmp_path: Path) -> None:
    n = 200_000  # more than one pyarrow batch
    frame = pl.DataFrame({"Name": [f"n{i}" if i % 9 else f"n,{i}" for i in range(n)], "V": list(range(n))})
    prepared = prepare_input(frame, tmp_path)
    body = prepared.layout.path.read_bytes()
    assert len(list(csv.reader(io.StringIO(body.decode())))) == n
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    chunks = list(split_file(prepared.layout, jobs, max_bytes=400_000, max_records=10_000_000))
    assert len(chunks) > 3
    assert sum(c.rows for c in chunks) == n
    assert all(c.bytes <= 400_000 and c.bytes == c.path.stat().st_size for c in chunks)
    assert sum(c.bytes - len(prepared.header) for c in chunks) == len(body)


def test_package_imports_stay_lazy() -> None:
    code = (
        "import sys, kinetic_core\n"
        "heavy = {'jwt', 'httpx', 'yaml', 'kinetic_core.auth', 'kinetic_core.rest'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
        "from kinetic_core.bulk import BulkClient\n"
        "never = {'pandas', 'polars', 'pyarrow', 'yaml', 'kinetic_core.pipeline', 'kinetic_core.cli',\n"
        "         'kinetic_core.composite', 'kinetic_core.mapping', 'kinetic_core.load'}\n"
        "assert not never & set(sys.modules), never & set(sys.modules)\n"
        "assert kinetic_core.BulkClient is BulkClient and kinetic_core.bulk.BulkClient is BulkClient\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
