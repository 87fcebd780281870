from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from kinetic_core.csvread import _slow_record, read_rows

cell = st.lists(st.sampled_from(["a", "b", ",", '"', "\n", "\r\n", " ", "é", ";"]), max_size=12).map("".join)
table = st.lists(st.lists(cell, min_size=1, max_size=5), min_size=1, max_size=6)


def _encode(rows: list[list[str]], delimiter: str, terminator: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=terminator, quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return out.getvalue()


@settings(max_examples=150, deadline=None)
@given(table, st.sampled_from([",", ";", "|", "\t"]), st.sampled_from(["\n", "\r\n"]))
def test_same_rows_as_the_csv_module(rows: list[list[str]], delimiter: str, terminator: str) -> None:
    text = _encode(rows, delimiter, terminator)
    lines = io.StringIO(text, newline="").readlines()
    assert list(read_rows(lines, delimiter)) == list(csv.reader(lines, delimiter=delimiter))


@settings(max_examples=150, deadline=None)
@given(st.lists(cell, min_size=1, max_size=5), st.sampled_from([",", ";"]), st.sampled_from(["\n", "\r\n"]))
def test_slow_parser_matches_the_csv_module(record: list[str], delimiter: str, terminator: str) -> None:
    lines = io.StringIO(_encode([record], delimiter, terminator), newline="").readlines()
    expected = next(csv.reader(lines, delimiter=delimiter))
    assert _slow_record(lines[:1], iter(lines[1:]), delimiter) == expected


def test_oversized_fields_do_not_stop_the_file() -> None:
    big = "x" * 200_000
    quoted = 'multi\nline "q" ' + "y" * 140_000
    text = _encode([["h1", "h2"], ["a", big], ["b", quoted], ["c", "small"]], ",", "\r\n")
    lines = io.StringIO(text, newline="").readlines()
    assert list(read_rows(lines)) == [["h1", "h2"], ["a", big], ["b", quoted], ["c", "small"]]


def test_oversized_fields_far_into_a_long_file() -> None:
    """Records around the points where the kept copy of the input is trimmed stay intact."""
    big = "z" * 150_000
    rows = [[str(i), f"line {i}\nsecond" if i % 3 == 0 else f"v{i}"] for i in range(20_000)]
    for at in (0, 15, 16, 17, 4096, 9000, 19_999):
        rows[at] = [str(at), f'"{big}"\n{at}' if at % 2 else big]
    lines = io.StringIO(_encode(rows, ",", "\r\n"), newline="").readlines()
    assert list(read_rows(lines)) == rows
