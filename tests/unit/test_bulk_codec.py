"""CSV codec, file sniffing and sf__Error parsing."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
from decimal import Decimal
from pathlib import Path

import pytest

from kinetic_core.bulk.codec import (
    NULL_CELL,
    RowEncoder,
    cells_for,
    encode_record,
    encode_value,
    flatten_record,
    row_key,
)
from kinetic_core.bulk.csvfile import iter_rows, sniff
from kinetic_core.bulk.models import ColumnDelimiter, JobInfo, JobState, LineEnding, Operation
from kinetic_core.bulk.resultfiles import format_sf_error, parse_sf_error


class Color(enum.StrEnum):
    RED = "Red"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "#N/A"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-12, "-12"),
        (1.5, "1.5"),
        (Decimal("1E+3"), "1000"),
        (Decimal("12.3400"), "12.3400"),
        (dt.date(2024, 2, 29), "2024-02-29"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 678900), "2024-01-02T03:04:05.678Z"),
        (
            dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2024-01-02T01:04:05.000Z",
        ),
        (dt.time(13, 45, 0, 250000), "13:45:00.250Z"),
        ("plain", "plain"),
        ("", ""),
        (Color.RED, "Red"),
    ],
)
def test_encode_value_formats(value: object, expected: str) -> None:
    assert encode_value(value) == expected


@pytest.mark.parametrize("bad", [float("inf"), float("-inf"), Decimal("Infinity")])
def test_infinities_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        encode_value(bad)


@pytest.mark.parametrize("missing", [float("nan"), Decimal("NaN"), None])
def test_not_a_number_is_null_as_in_every_api(missing: object) -> None:
    assert encode_value(missing) == "#N/A"


def test_bytes_are_refused() -> None:
    with pytest.raises(TypeError):
        encode_value(b"x")


def test_numpy_scalars_are_unwrapped() -> None:
    np = pytest.importorskip("numpy")
    assert encode_value(np.int64(7)) == "7"
    assert encode_value(np.bool_(True)) == "true"


def test_nested_relationships_become_dotted_columns() -> None:
    record = {"attributes": {"type": "Contact"}, "LastName": "X", "Account": {"External_Id__c": "A1"}}
    assert flatten_record(record) == {"LastName": "X", "Account.External_Id__c": "A1"}


def test_none_is_na_and_absent_is_empty_cell() -> None:
    encoded = encode_record({"Name": "A", "Phone": None})
    assert cells_for(["Name", "Phone", "Website"], encoded) == ["A", NULL_CELL, ""]


@pytest.mark.parametrize("delimiter", list(ColumnDelimiter))
@pytest.mark.parametrize("ending", list(LineEnding))
def test_every_delimiter_and_line_ending_round_trips(delimiter: ColumnDelimiter, ending: LineEnding) -> None:
    enc = RowEncoder(delimiter, ending)
    cells = ["plain", f"has{delimiter.char}delim", 'quo"te', "multi\nline", "crlf\r\nx", "", "#N/A", " sp "]
    text = enc.line(cells)
    assert text.endswith(ending.chars)
    parsed = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter.char))
    assert parsed == cells


def test_quoting_is_minimal() -> None:
    enc = RowEncoder(ColumnDelimiter.PIPE, LineEnding.LF)
    assert enc.line(["a,b", "c|d", 'e"f']) == 'a,b|"c|d"|"e""f"\n'


def test_byte_count_is_exact_for_multibyte_and_quoting(tmp_path: Path) -> None:
    enc = RowEncoder(ColumnDelimiter.COMMA, LineEnding.CRLF)
    rows = [["Zoë", 'say "hé"'], ["日本", "a,b"], ["", "#N/A"]]
    path = tmp_path / "x.csv"
    counted = 0
    with path.open("wb") as out:
        for cells in rows:
            data = enc.encode(cells)
            counted += len(data)
            out.write(data)
    assert counted == path.stat().st_size


def test_row_key_is_unambiguous() -> None:
    assert row_key(["a,b"]) != row_key(["a", "b"])
    assert row_key(["x", ""]) != row_key(["x"])
    assert row_key(["x"]) == row_key(["x"])


def test_sniff_strips_bom_and_detects_dialect(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b'\xef\xbb\xbfName;"Desc;ription"\r\nA;"x\r\ny"\r\nB;z')
    layout = sniff(path)
    assert layout.delimiter is ColumnDelimiter.SEMICOLON
    assert layout.line_ending is LineEnding.CRLF
    assert layout.header == ("Name", "Desc;ription")
    assert layout.header_bytes == b'Name;"Desc;ription"\r\n'
    rows = list(iter_rows(layout))
    assert [cells for _, cells in rows] == [["A", "x\r\ny"], ["B", "z"]]
    assert rows[0][0] == b'A;"x\r\ny"\r\n'
    assert rows[1][0] == b"B;z\r\n"  # a final row without a line ending gets one


@pytest.mark.parametrize("delimiter", list(ColumnDelimiter))
def test_sniff_detects_each_delimiter(tmp_path: Path, delimiter: ColumnDelimiter) -> None:
    path = tmp_path / "d.csv"
    sep = delimiter.char
    path.write_text(f"Name{sep}Phone{sep}City\nA{sep}1{sep}X\n", encoding="utf-8")
    assert sniff(path).delimiter is delimiter


def test_sniff_honours_explicit_dialect_and_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text('Name\n"a\n\nb"\n\nC\n', encoding="utf-8")
    layout = sniff(path, delimiter="COMMA", line_ending="LF")
    assert [cells for _, cells in iter_rows(layout)] == [["a\n\nb"], ["C"]]


def test_sniff_refuses_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="no header"):
        sniff(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ("Name",)),
        ),
        (
            "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--",
            ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ()),
        ),
        ("DUPLICATE_VALUE:dup: a, b:Ext__c,Name --", ("DUPLICATE_VALUE", "dup: a, b", ("Ext__c", "Name"))),
        ("something odd", ("UNKNOWN", "something odd", ())),
    ],
)
def test_parse_sf_error(text: str, expected: tuple[str, str, tuple[str, ...]]) -> None:
    assert parse_sf_error(text) == expected


def test_format_sf_error_round_trips() -> None:
    text = format_sf_error("FIELD_INTEGRITY_EXCEPTION", "bad: value", ["A", "B"])
    assert parse_sf_error(text) == ("FIELD_INTEGRITY_EXCEPTION", "bad: value", ("A", "B"))


def test_job_info_parses_api_body() -> None:
    info = JobInfo.from_api(
        {
            "id": "750x",
            "operation": "hardDelete",
            "object": "Account",
            "state": "Failed",
            "columnDelimiter": "PIPE",
            "lineEnding": "CRLF",
            "apiVersion": 62,
            "numberRecordsProcessed": "5",
            "errorMessage": "InvalidBatch : Field name not found : X",
        }
    )
    assert info.operation is Operation.HARD_DELETE
    assert info.state is JobState.FAILED
    assert info.state.terminal
    assert info.column_delimiter.char == "|"
    assert info.line_ending.chars == "\r\n"
    assert info.records_processed == 5
    assert info.api_version == 62.0
    assert Operation.parse("hard-delete") is Operation.HARD_DELETE
    assert ColumnDelimiter.parse("\t") is ColumnDelimiter.TAB
    assert LineEnding.parse("\r\n") is LineEnding.CRLF
