"""The C-speed row count of a load's CSV input agrees with the row-by-row read, or steps aside."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinetic_core.load.inputs import count_readable, read_csv, scan_file

CASES = {
    "clean": b"Name,Note\nA,x\nB,y\n",
    "no final line ending": b"Name,Note\nA,x\nB,y",
    "blank lines": b"Name,Note\nA,x\n\nB,y\n\n",
    "multi-line and quotes": b'Name,Note\n"A, Inc.","two\nlines"\n"B ""q""",\xc3\xa9\n',
    "crlf": b'Name,Note\r\nA,"x\r\ny"\r\nB,y\r\n',
    "bom": b"\xef\xbb\xbfName,Note\nA,x\n",
    "a row too short": b"Name,Note\nA\nB,y\n",
    "a row too wide": b"Name,Note\nA,x,z\nB,y\n",
    "stray quote": b'Name,Note\nO"Brien,x\nB,y\n',
    "two stray quotes": b'Name,Note\nO"Brien,x\nD"Arcy,y\nC,z\n',
    "unbalanced quote": b'Name,Note\nA,"never closed\nB,y\n',
    "not utf-8": b"Name,Note\nA,\xe9\nB,y\n",
    "semicolons": b"Name;Note\nA;x\nB;y\n",
}
UNREADABLE = {
    "a row too short",
    "a row too wide",
    "stray quote",
    "two stray quotes",
    "unbalanced quote",
    "not utf-8",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_quick_count_matches_the_row_by_row_read_or_declines(tmp_path: Path, name: str) -> None:
    path = tmp_path / "input.csv"
    path.write_bytes(CASES[name])
    try:
        header, rows = read_csv(path)
        listed = list(rows)
    except ValueError:  # the row-by-row read refuses the file (not UTF-8): so must the quick count
        assert count_readable(path, 2) is None
        return
    quick = count_readable(path, header.width)
    if name in UNREADABLE:
        assert quick is None
        assert any(r.error for r in listed)
    else:
        assert quick == len(listed)
        assert not any(r.error for r in listed)
        assert scan_file(path) == (len(listed), None, None)
