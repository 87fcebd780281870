"""Input preparation (columns, spooling) and splitting into jobs below the caps."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinetic_core.bulk.rowindex import RowIndex
from kinetic_core.bulk.sources import prepare_input
from kinetic_core.bulk.split import split_rows


def _split(tmp_path: Path, records: Any, **kw: Any) -> tuple[list[Any], Any, RowIndex]:
    prep = prepare_input(records, tmp_path, columns=kw.pop("columns", None))
    index = RowIndex(tmp_path / "i.sqlite")
    chunks = list(split_rows(prep.rows, prep.header, tmp_path, index, **kw))
    prep.close()
    return chunks, prep, index


def _data_rows(path: Path) -> list[list[str]]:
    text = path.read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))[1:]


def test_small_cap_gives_several_jobs_each_under_it(tmp_path: Path) -> None:
    records = [{"Name": f"Company {i}", "Description": 'quote " and, comma' * (i % 3)} for i in range(500)]
    chunks, prep, index = _split(tmp_path, records, max_bytes=2_000)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.bytes <= 2_000
        assert chunk.path.stat().st_size == chunk.bytes  # exact byte count
        assert chunk.path.read_bytes().startswith(prep.header)  # header repeated per job
        assert len(_data_rows(chunk.path)) == chunk.rows
    assert sum(c.rows for c in chunks) == 500
    assert [c.first_row for c in chunks] == [1] + [
        sum(c.rows for c in chunks[:i]) + 1 for i in range(1, len(chunks))
    ]
    names = [row[0] for c in chunks for row in _data_rows(c.path)]
    assert names == [f"Company {i}" for i in range(500)]
    index.close()
    with sqlite3.connect(index.path) as conn:
        assert conn.execute("SELECT count(*), min(row), max(row) FROM input").fetchone() == (500, 1, 500)
    conn.close()


def test_record_cap_splits_too(tmp_path: Path) -> None:
    chunks, _, index = _split(tmp_path, [{"Name": str(i)} for i in range(10)], max_records=3)
    assert [c.rows for c in chunks] == [3, 3, 3, 1]
    index.close()


def test_row_bigger_than_cap_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot fit"):
        _split(tmp_path, [{"Name": "x" * 500}], max_bytes=100)


def test_union_of_keys_from_a_list(tmp_path: Path) -> None:
    prep = prepare_input([{"A": 1}, {"B": 2}, {"A": None, "C": {"Ext__c": "k"}}], tmp_path)
    assert prep.columns == ("A", "B", "C.Ext__c")
    lines = [raw for raw, _ in prep.rows]
    assert lines == [b"1,,\n", b",2,\n", b"#N/A,,k\n"]


def test_one_shot_generator_is_spooled_and_keeps_late_keys(tmp_path: Path) -> None:
    def gen() -> Iterator[dict[str, Any]]:
        yield {"A": 1}
        yield {"A": 2, "Late": "x"}

    prep = prepare_input(gen(), tmp_path)
    assert prep.columns == ("A", "Late")
    assert [raw for raw, _ in prep.rows] == [b"1,\n", b"2,x\n"]
    prep.close()
    assert (tmp_path / "records.jsonl").exists()


def test_declared_columns_refuse_unknown_keys(tmp_path: Path) -> None:
    prep = prepare_input(iter([{"A": 1}, {"B": 2}]), tmp_path, columns=["A"])
    with pytest.raises(ValueError, match=r"record 2 has key\(s\) \['B'\]"):
        list(prep.rows)


def test_declared_columns_single_pass(tmp_path: Path) -> None:
    prep = prepare_input(iter([{"B": 2}]), tmp_path, columns=["A", "B"], delimiter="TAB", line_ending="CRLF")
    assert prep.header == b"A\tB\r\n"
    assert [raw for raw, _ in prep.rows] == [b"\t2\r\n"]


def test_id_strings_for_deletes(tmp_path: Path) -> None:
    prep = prepare_input(["001A", "001B"], tmp_path)
    assert prep.columns == ("Id",)
    assert [raw for raw, _ in prep.rows] == [b"001A\n", b"001B\n"]


def test_single_dict_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        prepare_input({"Name": "x"}, tmp_path)


def test_pandas_dataframe_nulls_are_empty_cells(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"Name": ["a", None], "Amount": [1.5, float("nan")], "Flag": [True, False]})
    prep = prepare_input(frame, tmp_path)
    assert prep.columns == ("Name", "Amount", "Flag")
    assert [raw for raw, _ in prep.rows] == [b"a,1.5,true\n", b",,false\n"]


def test_polars_dataframe(tmp_path: Path) -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"Name": ["a", None], "N": [1, 2]})
    prep = prepare_input(frame, tmp_path)
    assert [raw for raw, _ in prep.rows] == [b"a,1\n", b",2\n"]


def test_csv_file_split_on_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    rows = [f'R{i},"line one\nline two, with comma","say ""{i}"""' for i in range(40)]
    path.write_bytes(("\ufeffName,Desc,Quote\n" + "\n".join(rows) + "\n").encode("utf-8"))
    out = tmp_path / "out"
    out.mkdir()
    prep = prepare_input(path, out)
    index = RowIndex(out / "i.sqlite")
    chunks = list(split_rows(prep.rows, prep.header, out, index, max_bytes=300))
    assert len(chunks) > 3
    seen: list[list[str]] = []
    for chunk in chunks:
        raw = chunk.path.read_bytes()
        assert raw.startswith(b"Name,Desc,Quote\n")
        assert len(raw) == chunk.bytes <= 300
        seen.extend(_data_rows(chunk.path))
    assert len(seen) == 40
    assert seen[7] == ["R7", "line one\nline two, with comma", 'say "7"']
    # rows are copied byte for byte, never re-encoded
    assert b'R7,"line one\nline two, with comma","say ""7"""\n' in b"".join(
        c.path.read_bytes() for c in chunks
    )
    index.close()
