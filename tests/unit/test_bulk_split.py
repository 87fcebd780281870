"""Input preparation (columns, spooling) and splitting into jobs below the caps."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinetic_core.bulk import csvfile
from kinetic_core.bulk.csvfile import parse_range, sniff
from kinetic_core.bulk.sources import PreparedInput, prepare_input
from kinetic_core.bulk.split import Chunk, split_file


def _split(tmp_path: Path, records: Any, **kw: Any) -> tuple[list[Chunk], PreparedInput]:
    prep = prepare_input(records, tmp_path, columns=kw.pop("columns", None))
    chunks = list(split_file(prep.layout, tmp_path, **kw))
    prep.close()
    return chunks, prep


def _data_rows(path: Path) -> list[list[str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))[1:]


def _spooled(prep: PreparedInput) -> bytes:
    return prep.layout.path.read_bytes()[prep.layout.data_offset :]


def test_small_cap_gives_several_jobs_each_under_it(tmp_path: Path) -> None:
    records = [{"Name": f"Company {i}", "Description": 'quote " and, comma' * (i % 3)} for i in range(500)]
    chunks, prep = _split(tmp_path, records, max_bytes=2_000)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.bytes <= 2_000
        assert chunk.path.stat().st_size == chunk.bytes  # exact byte count
        assert chunk.path.read_bytes().startswith(prep.header)  # header repeated per job
        assert len(_data_rows(chunk.path)) == chunk.rows
        # the chunk's source range parses back to the very rows it carries
        assert list(parse_range(prep.layout, chunk.start, chunk.end)) == _data_rows(chunk.path)
    assert sum(c.rows for c in chunks) == 500
    assert [c.first_row for c in chunks] == [1] + [
        sum(c.rows for c in chunks[:i]) + 1 for i in range(1, len(chunks))
    ]
    names = [row[0] for c in chunks for row in _data_rows(c.path)]
    assert names == [f"Company {i}" for i in range(500)]


def test_record_cap_splits_too(tmp_path: Path) -> None:
    chunks, _ = _split(tmp_path, [{"Name": str(i)} for i in range(10)], max_records=3)
    assert [c.rows for c in chunks] == [3, 3, 3, 1]


def test_exact_byte_cap_is_filled_to_the_byte(tmp_path: Path) -> None:
    # header "Name\n" (5 bytes) + rows "r0\n".. (3 bytes each): a cap of 5 + 3 * 4 holds exactly 4 rows
    chunks, _ = _split(tmp_path, [{"Name": f"r{i}"} for i in range(10)], max_bytes=17)
    assert [c.rows for c in chunks] == [4, 4, 2]
    assert [c.bytes for c in chunks] == [17, 17, 11]
    chunks, _ = _split(tmp_path, [{"Name": f"r{i}"} for i in range(10)], max_bytes=16)
    assert [c.rows for c in chunks] == [3, 3, 3, 1]


def test_row_bigger_than_cap_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot fit"):
        _split(tmp_path, [{"Name": "x" * 500}], max_bytes=100)


def test_union_of_keys_from_a_list(tmp_path: Path) -> None:
    prep = prepare_input([{"A": 1}, {"B": 2}, {"A": None, "C": {"Ext__c": "k"}}], tmp_path)
    assert prep.columns == ("A", "B", "C.Ext__c")
    assert prep.header == b"A,B,C.Ext__c\n"
    assert _spooled(prep) == b"1,,\n,2,\n#N/A,,k\n"


def test_one_shot_generator_is_spooled_and_keeps_late_keys(tmp_path: Path) -> None:
    def gen() -> Iterator[dict[str, Any]]:
        yield {"A": 1}
        yield {"A": 2, "Late": "x"}
        yield {"Late": "y\nz", "A": None}

    prep = prepare_input(gen(), tmp_path)
    assert prep.columns == ("A", "Late")
    assert prep.records == 3
    assert _spooled(prep) == b'1,\n2,x\n#N/A,"y\nz"\n'


def test_values_of_every_type_take_the_codec_path(tmp_path: Path) -> None:
    import datetime as dt

    rows = [
        {"A": "plain", "B": 1},
        {"A": True, "B": dt.date(2024, 2, 29)},
        {"A": 1.5, "B": "cr\ronly"},
        {"A": "", "B": {"Ext": "k"}},
    ]
    prep = prepare_input(iter(rows), tmp_path)
    assert prep.columns == ("A", "B", "B.Ext")
    assert _spooled(prep) == b'plain,1,\ntrue,2024-02-29,\n1.5,"cr\ronly",\n,,k\n'


def test_declared_columns_refuse_unknown_keys(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"record 2 has key\(s\) \['B'\]"):
        prepare_input(iter([{"A": 1}, {"B": 2}]), tmp_path, columns=["A"])


def test_declared_columns_single_pass(tmp_path: Path) -> None:
    prep = prepare_input(iter([{"B": 2}]), tmp_path, columns=["A", "B"], delimiter="TAB", line_ending="CRLF")
    assert prep.header == b"A\tB\r\n"
    assert _spooled(prep) == b"\t2\r\n"


def test_id_strings_for_deletes(tmp_path: Path) -> None:
    prep = prepare_input(["001A", "001B"], tmp_path)
    assert prep.columns == ("Id",)
    assert _spooled(prep) == b"001A\n001B\n"


def test_single_dict_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        prepare_input({"Name": "x"}, tmp_path)


def test_pandas_dataframe_nulls_are_sent_as_null(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"Name": ["a", None], "Amount": [1.5, float("nan")], "Flag": [True, False]})
    prep = prepare_input(frame, tmp_path)
    assert prep.columns == ("Name", "Amount", "Flag")
    assert _spooled(prep) == b"a,1.5,true\n#N/A,#N/A,false\n"


def test_polars_dataframe_nulls_are_sent_as_null(tmp_path: Path) -> None:
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"Name": ["a", None], "N": [1, 2]})
    prep = prepare_input(frame, tmp_path)
    assert _spooled(prep) == b"a,1\n#N/A,2\n"


def test_csv_file_split_on_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    rows = [f'R{i},"line one\nline two, with comma","say ""{i}"""' for i in range(40)]
    path.write_bytes(("\ufeffName,Desc,Quote\n" + "\n".join(rows) + "\n").encode("utf-8"))
    out = tmp_path / "out"
    out.mkdir()
    prep = prepare_input(path, out)
    chunks = list(split_file(prep.layout, out, max_bytes=300))
    assert len(chunks) > 3
    seen: list[list[str]] = []
    for chunk in chunks:
        raw = chunk.path.read_bytes()
        assert raw.startswith(b"Name,Desc,Quote\n")  # BOM stripped, header repeated
        assert len(raw) == chunk.bytes <= 300
        seen.extend(_data_rows(chunk.path))
    assert len(seen) == 40
    assert seen[7] == ["R7", "line one\nline two, with comma", 'say "7"']
    # rows are copied byte for byte, never re-encoded
    assert b'R7,"line one\nline two, with comma","say ""7"""\n' in b"".join(
        c.path.read_bytes() for c in chunks
    )


def test_crlf_blank_lines_and_a_last_row_without_line_ending(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b'\xef\xbb\xbfName;Desc\r\n\r\nA;"x\r\n\r\ny"\r\n\r\n\r\nB;z\r\nC;"q;""r"""')
    prep = prepare_input(path, tmp_path)
    assert prep.line_ending.chars == "\r\n"
    (chunk,) = split_file(prep.layout, tmp_path)
    assert chunk.rows == 3
    assert chunk.path.read_bytes() == b'Name;Desc\r\nA;"x\r\n\r\ny"\r\nB;z\r\nC;"q;""r"""\r\n'
    assert chunk.bytes == chunk.path.stat().st_size
    expected = [["A", "x\r\n\r\ny"], ["B", "z"], ["C", 'q;"r"']]
    assert list(parse_range(prep.layout, chunk.start, chunk.end)) == expected


def _random_csv(rng: random.Random, rows: int) -> tuple[bytes, list[list[str]]]:
    alphabet = ["a", "b", "é", ",", '"', "\n", "\r\n", " ", "x" * 20]
    table = [
        ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(3)]
        for _ in range(rows)
    ]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["H1", "H2", "H3"], *table])
    return out.getvalue().encode("utf-8"), table


@pytest.mark.parametrize("seed", range(4))
def test_random_files_split_identically_whatever_the_block_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    data, table = _random_csv(rng, 300)
    path = tmp_path / "r.csv"
    path.write_bytes(data)
    layout = sniff(path)
    cap = rng.randint(400, 3_000)
    max_records = rng.randint(20, 400)
    results = []
    for block in (7, 64, 1_000, 1 << 20):
        monkeypatch.setattr(csvfile, "BLOCK_SIZE", block)
        out = tmp_path / f"b{block}"
        out.mkdir()
        chunks = list(split_file(layout, out, max_bytes=cap, max_records=max_records))
        got = [row for c in chunks for row in _data_rows(c.path)]
        assert got == table  # every row accounted for, in order, unchanged
        assert all(c.bytes == c.path.stat().st_size <= cap for c in chunks)
        assert [r for c in chunks for r in parse_range(layout, c.start, c.end)] == table
        results.append([(c.rows, c.bytes, c.start, c.end) for c in chunks])
    assert all(r == results[0] for r in results)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"Name\nA\nCaf\xe9\nB\n", r"row 2 is not valid UTF-8"),
        (b'Name,Ext\nA,1\nB"x,2\nC,3\n', r"row 2 has an unbalanced double quote"),
        (b'Name,Ext\nA,1\n"B,2\nC,3', r"row 2 has an unbalanced double quote"),
    ],
)
def test_bad_files_are_refused_naming_the_row(tmp_path: Path, body: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(body)
    with pytest.raises(ValueError, match=message):
        list(split_file(sniff(path), tmp_path))


_CELL = st.text(alphabet=st.sampled_from(list('ab ,;"\r\nÅé東🚀\t')), max_size=8)


def _encode(table: list[list[str]], eol: str, quote_all: bool) -> bytes:
    """CSV bytes: cells quoted when they need it (or always), quotes doubled, ``eol`` after each row."""
    special = (",", '"', "\r", "\n")
    lines = [
        ",".join(
            '"' + c.replace('"', '""') + '"' if quote_all or any(x in c for x in special) else c for c in row
        )
        for row in table
    ]
    return "".join(line + eol for line in lines).encode("utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    table=st.lists(st.lists(_CELL, min_size=3, max_size=3), min_size=1, max_size=40),
    eol=st.sampled_from(["\n", "\r\n"]),
    quote_all=st.booleans(),
    block=st.sampled_from([5, 17, 64, 1 << 20]),
    cap=st.integers(60, 600),
    blank_after=st.sets(st.integers(0, 39), max_size=3),
)
def test_scanner_and_split_agree_with_the_csv_module(
    tmp_path_factory: pytest.TempPathFactory,
    table: list[list[str]],
    eol: str,
    quote_all: bool,
    block: int,
    cap: int,
    blank_after: set[int],
) -> None:
    """Quoted line breaks, quotes, commas, non-ASCII, CRLF, blank lines: the row boundaries are those
    the ``csv`` module reads, at any block size; jobs stay at or under the byte cap, exactly."""
    tmp = tmp_path_factory.mktemp("scan")
    body = b"".join(
        _encode([row], eol, quote_all) + (eol.encode() if i in blank_after else b"")
        for i, row in enumerate(table)
    )
    path = tmp / "in.csv"
    path.write_bytes(_encode([["H1", "H2", "H3"]], eol, False) + body)
    expected = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))[1:]
    expected = [r for r in expected if r]  # blank lines are no rows
    layout = sniff(path)
    original = csvfile.BLOCK_SIZE
    csvfile.BLOCK_SIZE = block
    try:
        runs = list(csvfile.iter_row_runs(layout))
        rows = [run.data[s:e] for run in runs for s, e in zip([run.begin, *run.ends], run.ends, strict=False)]
        assert sum(run.rows for run in runs) == len(rows) == len(expected)
        assert [next(csv.reader(io.StringIO(r.decode("utf-8"), newline=""))) for r in rows] == expected
        out = tmp / "jobs"
        out.mkdir()
        widest = max(len(_encode([row], eol, quote_all)) for row in table) + len(layout.header_bytes)
        if widest > cap:  # a row over the cap is refused, naming it
            with pytest.raises(ValueError, match="cannot fit in a job"):
                list(split_file(layout, out, max_bytes=cap, max_records=1_000))
            return
        chunks = list(split_file(layout, out, max_bytes=cap, max_records=1_000))
    finally:
        csvfile.BLOCK_SIZE = original
    assert all(c.bytes == c.path.stat().st_size <= cap for c in chunks)
    assert [r for c in chunks for r in _data_rows(c.path)] == expected  # never cut inside a value
