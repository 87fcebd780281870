"""Pipeline sources: CSV detection and checks, JSON lines, iterables, DataFrames, SQL."""

from __future__ import annotations

import codecs
import json
import sqlite3
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from kinetic_core.pipeline import (
    CsvSource,
    DataFrameSource,
    IterableSource,
    JsonLinesSource,
    SourceConfig,
    SourceError,
    SqlSource,
    detect_encoding,
    open_source,
    sniff_delimiter,
)


def _rows(source: object) -> list[tuple[int, object, object]]:
    return [(r.number, r.cells, r.error) for r in source.rows()]  # type: ignore[attr-defined]


def test_csv_with_bom_and_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(codecs.BOM_UTF8 + "Name;City;Note\r\nAcme;Zürich;\r\n\r\nGlobex;#N/A;x\r\n".encode())
    source = CsvSource(path)
    assert source.columns == ("Name", "City", "Note")
    assert source.layout.encoding == "utf-8-sig"
    assert source.layout.delimiter == ";"
    assert _rows(source) == [
        (1, {"Name": "Acme", "City": "Zürich"}, None),  # empty cell: absent (leave unchanged)
        (2, {"Name": "Globex", "City": None, "Note": "x"}, None),  # #N/A: null; blank line not counted
    ]


def test_encoding_detection(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Name,City\nCafé Zoë,Liège\n".encode("cp1252"))
    assert detect_encoding(latin) == "cp1252"
    assert _rows(CsvSource(latin))[0][1] == {"Name": "Café Zoë", "City": "Liège"}
    wide = tmp_path / "wide.csv"
    wide.write_bytes("Name\tCity\nÅsa\tOslo\n".encode("utf-16"))
    assert detect_encoding(wide) == "utf-16"
    source = CsvSource(wide)
    assert source.layout.delimiter == "\t"
    assert _rows(source)[0][1] == {"Name": "Åsa", "City": "Oslo"}
    plain = tmp_path / "plain.csv"
    plain.write_text("Name|City\nA|B\n", encoding="utf-8")
    assert detect_encoding(plain) == "utf-8"
    assert CsvSource(plain).layout.delimiter == "|"


def test_bad_bytes_after_the_sample_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    body = "Name\n" + "ok\n" * 100_000 + "caf\xe9\n"
    path.write_bytes(body.encode("latin-1"))
    source = CsvSource(path)
    assert source.layout.encoding == "utf-8"
    with pytest.raises(SourceError, match=r"line 100002 is not valid utf-8.*source.encoding"):
        for _ in source.rows():
            pass


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Name,,City", "header column 2 has no name"),
        ("Name,name", "appears twice"),
        ("", "no header row"),
        ("Name,City", "required column.*email"),
    ],
)
def test_header_checks(tmp_path: Path, header: str, message: str) -> None:
    path = tmp_path / "h.csv"
    path.write_text(header + "\n" if header else "", encoding="utf-8")
    with pytest.raises(SourceError, match=message):
        CsvSource(path, required_columns=("email",) if header == "Name,City" else ())


def test_rows_of_the_wrong_width_are_reported_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text('A,B\n1,2\n1,2,3\n4,5,\n6\n7,"8\n', encoding="utf-8")
    rows = _rows(CsvSource(path))
    assert rows[0] == (1, {"A": "1", "B": "2"}, None)
    assert [(n, cells) for n, cells, _ in rows[1:]] == [(2, None), (3, None), (4, None), (5, None)]
    assert rows[1][2] == "row 2: the row has 3 cell(s), the header has 2 column(s)"
    assert "the row has 3 cell(s)" in str(rows[2][2])  # a trailing delimiter is a cell, as for a Bulk job
    assert "the row has 1 cell(s)" in str(rows[3][2])
    assert "never closed" in str(rows[4][2])


def test_missing_file_and_delimiter_helpers(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        CsvSource(tmp_path / "nope.csv")
    assert sniff_delimiter('"a,b";c;d') == ";"
    assert sniff_delimiter("a^b^c") == "^"
    assert sniff_delimiter("a,b;c") == ","


def test_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"a": 1, "b": null}\n\nnot json\n[1]\n{"a": 2}\n', encoding="utf-8")
    rows = _rows(JsonLinesSource(path))
    assert rows[0] == (1, {"a": 1}, None)
    assert rows[1][0] == 3
    assert "invalid JSON" in str(rows[1][2])
    assert rows[2][0] == 4
    assert "expected a JSON object" in str(rows[2][2])
    assert rows[3] == (5, {"a": 2}, None)
    assert _rows(JsonLinesSource(path, nulls="null"))[0] == (1, {"a": 1, "b": None}, None)


def test_iterables_and_dataframes() -> None:
    source = IterableSource([{"a": 1}, "oops", {"b": None}])
    rows = _rows(source)
    assert rows[0] == (1, {"a": 1}, None)
    assert rows[1][2] == "expected a dict, got str"
    assert rows[2] == (3, {}, None)
    frame = pd.DataFrame({"Name": ["A", "B"], "Employees": [3, None]})
    pandas_rows = _rows(DataFrameSource(frame))
    assert pandas_rows == [(1, {"Name": "A", "Employees": 3.0}, None), (2, {"Name": "B"}, None)]
    assert type(pandas_rows[0][1]["Employees"]) is float  # type: ignore[index]
    polars_rows = _rows(DataFrameSource(pl.DataFrame({"Name": ["A", None], "N": [1, 2]})))
    assert polars_rows == [(1, {"Name": "A", "N": 1}, None), (2, {"N": 2}, None)]


def test_sql_source_streams_rows(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE people (id INTEGER, name TEXT, email TEXT)")
        conn.executemany("INSERT INTO people VALUES (?, ?, ?)", [(2, "Bo", None), (1, "Al", "al@x.org")])
    conn.close()
    source = SqlSource(f"sqlite:///{db}", "SELECT id, name, email FROM people ORDER BY id")
    assert _rows(source) == [
        (1, {"id": 1, "name": "Al", "email": "al@x.org"}, None),
        (2, {"id": 2, "name": "Bo"}, None),
    ]
    assert source.identity()["query"].startswith("SELECT")
    bad = SqlSource(f"sqlite:///{db}", "SELECT nope FROM people")
    with pytest.raises(SourceError, match="sql source"):
        list(bad.rows())


def test_open_source_dispatch(tmp_path: Path) -> None:
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("A\n1\n", encoding="utf-8")
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text(json.dumps({"A": 1}) + "\n", encoding="utf-8")
    assert isinstance(open_source(csv_path), CsvSource)
    assert isinstance(open_source(str(jsonl)), JsonLinesSource)
    assert isinstance(open_source(SourceConfig("jsonl", jsonl)), JsonLinesSource)
    assert isinstance(open_source(pd.DataFrame({"A": [1]})), DataFrameSource)
    assert isinstance(open_source(iter([{"A": 1}])), IterableSource)
    with pytest.raises(TypeError):
        open_source(42)
