"""``kinetic load`` reads files as people have them, through the real ``kinetic`` process: a cp1252
Excel export with semicolons and CRLF, a Data Loader ``.sdl`` mapping, ``dd/MM/yyyy`` dates,
``--insert-nulls`` clearing a field, and clear errors naming the row and column of a bad value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kinetic_core import SalesforceClient

KINETIC = Path(sys.executable).parent / "kinetic"


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KINETIC), *args],
        cwd=home.parent,
        env={**os.environ, "KINETIC_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _contacts(home: Path, where: str) -> list[dict[str, object]]:
    fields = "FirstName, LastName, Title, Birthdate, LeadSource"
    soql = f"SELECT {fields} FROM Contact WHERE {where} ORDER BY LastName"
    with SalesforceClient.connect("local", home=home) as client:
        return [{k: v for k, v in r.items() if k != "attributes"} for r in client.query(soql)]


def test_a_cp1252_export_with_semicolons_and_crlf_loads_as_it_is(home: Path) -> None:
    source = home.parent / "excel.csv"
    text = "FirstName;LastName;Title\r\nZoë;Müller;Chef d'Œuvre €\r\nJosé;Ñúñez;Señor\r\n"
    source.write_bytes(text.encode("cp1252"))
    result = _run(home, "load", "Contact", str(source), "--results-dir", "r", "--json")
    assert result.returncode == 0, result.stderr
    assert "as cp1252, delimiter ';', CRLF lines: 2 rows" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["successful"] == 2
    assert summary["read_as"] == {
        "encoding": "cp1252",
        "delimiter": ";",
        "line_ending": "CRLF",
        "rows": 2,
        "columns": ["FirstName", "LastName", "Title"],
    }
    rows = _contacts(home, "LastName IN ('Müller', 'Ñúñez')")
    assert [(r["FirstName"], r["LastName"], r["Title"]) for r in rows] == [
        ("Zoë", "Müller", "Chef d'Œuvre €"),
        ("José", "Ñúñez", "Señor"),
    ]
    explicit = _run(
        home, "load", "Contact", str(source), "--encoding", "cp1252", "--delimiter", "SEMICOLON",
        "--line-ending", "CRLF", "--results-dir", "r", "--json",
    )  # fmt: skip
    assert explicit.returncode == 0, explicit.stderr
    assert json.loads(explicit.stdout)["successful"] == 2


def test_an_sdl_mapping_and_dd_mm_yyyy_dates(home: Path) -> None:
    source = home.parent / "legacy.csv"
    source.write_text(
        "First Name,SURNAME,Born,Ignored\nAda,Lovelace,10/12/1815,x\nAlan,Turing,23/06/1912,y\n",
        encoding="utf-8",
    )
    sdl = home.parent / "contact.sdl"
    sdl.write_text(
        "#Mapping values\n#Thu Dec 03 10:00:00 CET 2026\n"
        'First\\ Name=FirstName\nsurname=LastName\nBorn=Birthdate\nIgnored=\n"Legacy"=LeadSource\n',
        encoding="latin-1",
    )
    result = _run(
        home, "load", "Contact", str(source), "--mapping", str(sdl), "--date-format", "dd/MM/yyyy",
        "--results-dir", "r", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "columns FirstName, LastName, Birthdate, LeadSource" in result.stderr
    rows = _contacts(home, "LeadSource = 'Legacy'")
    assert [(r["FirstName"], r["LastName"], r["Birthdate"]) for r in rows] == [
        ("Ada", "Lovelace", "1815-12-10"),
        ("Alan", "Turing", "1912-06-23"),
    ]


def test_a_fieldmapper_yaml_mapping(home: Path) -> None:
    source = home.parent / "people.csv"
    source.write_text("given|family\nGrace|Hopper\n", encoding="utf-8")
    mapping = home.parent / "people.yaml"
    mapping.write_text("mapping:\n  given: FirstName\n  family: LastName\nconstants:\n  Title: Admiral\n")
    result = _run(
        home, "load", "Contact", str(source), "--mapping", str(mapping), "--delimiter", "|", "--json"
    )
    assert result.returncode == 0, result.stderr
    assert _contacts(home, "LastName = 'Hopper'")[0]["Title"] == "Admiral"


def test_insert_nulls_clears_a_field_that_an_empty_cell_leaves_alone(home: Path) -> None:
    with SalesforceClient.connect("local", home=home) as client:
        first = client.create("Contact", {"LastName": "Keep", "Title": "CEO"})
        second = client.create("Contact", {"LastName": "Clear", "Title": "CTO"})
    plain = home.parent / "plain.csv"
    plain.write_text(f"Id,Title\n{first},\n", encoding="utf-8")
    kept = _run(home, "load", "Contact", str(plain), "--operation", "update", "--json")
    assert kept.returncode == 0, kept.stderr
    nulls = home.parent / "nulls.csv"
    nulls.write_text(f"Id,Title\n{second},\n", encoding="utf-8")
    cleared = _run(home, "load", "Contact", str(nulls), "--operation", "update", "--insert-nulls", "--json")
    assert cleared.returncode == 0, cleared.stderr
    titles = {r["LastName"]: r["Title"] for r in _contacts(home, "LastName IN ('Keep', 'Clear')")}
    assert titles == {"Keep": "CEO", "Clear": None}


def test_a_bad_date_names_its_row_and_column_and_nothing_is_sent(home: Path) -> None:
    source = home.parent / "dates.csv"
    source.write_text("LastName,Birthdate\nGood,01/02/2000\nBad,31/02/2000\n", encoding="utf-8")
    result = _run(home, "load", "Contact", str(source), "--date-format", "dd/MM/yyyy")
    assert result.returncode == 2, result.stderr
    assert (
        "row 2, column Birthdate: '31/02/2000' is not a date in the --date-format dd/MM/yyyy" in result.stderr
    )
    assert _contacts(home, "LastName = 'Good'") == []


def test_file_option_mistakes_are_clear_errors(home: Path) -> None:
    crlf = home.parent / "crlf.csv"
    crlf.write_bytes(b"LastName\r\nA\r\n")
    wrong_ending = _run(home, "load", "Contact", str(crlf), "--line-ending", "LF")
    assert wrong_ending.returncode == 2
    assert "its lines end with CRLF, not LF as --line-ending says" in wrong_ending.stderr
    bad_delimiter = _run(home, "load", "Contact", str(crlf), "--delimiter", "colon")
    assert bad_delimiter.returncode == 2
    assert (
        "--delimiter 'colon': use one of COMMA, SEMICOLON, TAB, PIPE, CARET, BACKQUOTE"
        in bad_delimiter.stderr
    )
    latin = home.parent / "latin.csv"
    latin.write_bytes("LastName\nOK\nMüller\n".encode("cp1252"))
    undecodable = _run(home, "load", "Contact", str(latin), "--encoding", "utf-8")
    assert undecodable.returncode == 2
    assert "line 3 is not valid utf-8" in undecodable.stderr
    assert "--encoding cp1252" in undecodable.stderr
    sdl = home.parent / "m.sdl"
    sdl.write_text("Surname=LastName\n", encoding="utf-8")
    missing = _run(home, "load", "Contact", str(crlf), "--mapping", str(sdl))
    assert missing.returncode == 2
    assert "line 1: column 'Surname' is not in the file (columns: LastName)" in missing.stderr
    pattern = _run(home, "load", "Contact", str(crlf), "--date-format", "dd/QQ/yyyy")
    assert pattern.returncode == 2
    assert "'QQ' is not a supported pattern letter" in pattern.stderr


def test_retry_takes_no_file_options(home: Path) -> None:
    result = _run(home, "load", "--retry", "r", "--encoding", "cp1252")
    assert result.returncode == 2
    assert "--retry takes no file options" in result.stderr
