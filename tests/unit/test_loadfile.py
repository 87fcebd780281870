"""Pieces of `kinetic load` file reading: Data Loader mapping files, Java date patterns, delimiters."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinetic_core.cli.javadates import DatePatternError, date_converter, strptime_format
from kinetic_core.cli.loadfile import FileError, file_encoding, load_mapping, parse_delimiter, read_sdl


def test_sdl_files_read_as_java_properties(tmp_path: Path) -> None:
    sdl = tmp_path / "m.sdl"
    sdl.write_bytes(
        b"#Mapping values\n! another comment\n\n"
        b"Account\\ Name=Name\n"
        b"Ratio\\=Pct : Ratio__c\n"
        b"Caf\\u00e9=Cafe__c\n"
        b"  Long = First__c,\\\n     Second__c\n"
        b'"Web"=LeadSource, Description\n'
        b"Skipped=\n"
    )
    entries = [(e.line, e.source, e.targets, e.constant) for e in read_sdl(sdl)]
    assert entries == [
        (4, "Account Name", ("Name",), False),
        (5, "Ratio=Pct", ("Ratio__c",), False),
        (6, "Café", ("Cafe__c",), False),
        (7, "Long", ("First__c", "Second__c"), False),
        (9, "Web", ("LeadSource", "Description"), True),
        (10, "Skipped", (), False),
    ]


def test_an_sdl_mapping_maps_columns_without_regard_to_case(tmp_path: Path) -> None:
    sdl = tmp_path / "m.sdl"
    sdl.write_text('NAME=LastName\n"x"=Title,Department\n', encoding="utf-8")
    mapper = load_mapping(sdl, ("name", "other"))
    assert mapper.map({"name": "Ng", "other": "-"}) == {"LastName": "Ng", "Title": "x", "Department": "x"}


def test_an_empty_or_broken_sdl_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "e.sdl"
    empty.write_text("# only a comment\n", encoding="utf-8")
    with pytest.raises(FileError, match="maps nothing"):
        read_sdl(empty)
    broken = tmp_path / "b.sdl"
    broken.write_text("A\\u12=B\n", encoding="utf-8")
    with pytest.raises(FileError, match="line 1: malformed"):
        read_sdl(broken)


@pytest.mark.parametrize(
    ("pattern", "text", "kind", "expected"),
    [
        ("dd/MM/yyyy", "05/11/2024", "date", "2024-11-05"),
        ("MM/dd/yy", "11/05/24", "date", "2024-11-05"),
        ("d.M.yyyy", "5.11.2024", "date", "2024-11-05"),
        ("dd/MM/yyyy HH:mm:ss", "05/11/2024 13:04:05", "datetime", "2024-11-05T13:04:05Z"),
        (
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            "2024-11-05T13:04:05.250+02:00",
            "datetime",
            "2024-11-05T11:04:05.250Z",
        ),
        ("dd MMM yyyy hh:mm a", "05 Nov 2024 01:04 PM", "datetime", "2024-11-05T13:04:00Z"),
        ("dd/MM/yyyy HH:mm", "05/11/2024 13:04", "date", "2024-11-05"),
    ],
)
def test_java_date_patterns(pattern: str, text: str, kind: str, expected: str) -> None:
    assert date_converter(pattern, kind)(text) == expected


def test_bad_patterns_and_values() -> None:
    with pytest.raises(DatePatternError, match="'QQ' is not a supported pattern letter"):
        strptime_format("dd/QQ")
    with pytest.raises(DatePatternError, match="never closed"):
        strptime_format("dd'T")
    assert strptime_format("dd 'of' MMMM ''yy") == "%d of %B '%y"
    with pytest.raises(ValueError, match="is not a date in the --date-format dd/MM/yyyy"):
        date_converter("dd/MM/yyyy", "date")("2024-11-05")


def test_delimiters_by_name_or_character() -> None:
    assert [parse_delimiter(v) for v in ("COMMA", "tab", "|", "^", "BACKQUOTE", "auto")] == [
        ",", "\t", "|", "^", "`", "auto"
    ]  # fmt: skip
    with pytest.raises(FileError, match="use one of COMMA"):
        parse_delimiter(":")


def test_a_late_non_ascii_character_still_decides_the_encoding(tmp_path: Path) -> None:
    late = tmp_path / "late.csv"
    late.write_bytes(b"LastName\n" + b"Smith\n" * 100_000 + "Müller\n".encode("cp1252"))
    assert file_encoding(late) == "cp1252"  # the first 256 KB are ASCII: the whole file is checked
    plain = tmp_path / "plain.csv"
    plain.write_bytes("LastName\nMüller\n".encode())
    assert file_encoding(plain) == "utf-8"
    assert file_encoding(plain, "latin-1") == "latin-1"
    odd = tmp_path / "odd.csv"
    odd.write_bytes(b"LastName\n" + b"A\n" * 200_000 + b"\x81\xe9\n")  # 0x81 is not cp1252
    assert file_encoding(odd) == "latin-1"
