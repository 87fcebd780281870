"""The installed ``kinetic`` script as a real subprocess: JSON on stdout only, org on stderr, exit codes."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kinetic_core import SalesforceClient

KINETIC = Path(sys.executable).parent / "kinetic"


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KINETIC_HOME": str(home)}
    return subprocess.run(
        [str(KINETIC), *args],
        cwd=home.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_json_query_prints_only_json_and_names_the_org(home: Path) -> None:
    with SalesforceClient.connect("local", home=home) as client:
        client.create("Account", {"Name": "Initech"})
    result = _run(home, "query", "SELECT Name FROM Account", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"Name": "Initech"}]
    assert result.stderr.startswith("org: local (local emulator at http://127.0.0.1:")


def test_exit_codes_of_the_script(home: Path) -> None:
    source = home.parent / "c.csv"
    source.write_text("LastName,Email\nNg,ng@example.com\n,nobody@example.com\n", encoding="utf-8")
    result = _run(home, "load", "Contact", str(source), "--results-dir", "res", "--json")
    assert result.returncode == 1  # one row failed
    summary = json.loads(result.stdout)
    assert (summary["successful"], summary["failed"], summary["strategy"]) == (1, 1, "composite")
    usage = _run(home, "load", "Contact", "--operation", "merge", str(source))
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr
    api = _run(home, "describe", "NoSuchObject__c", "--json")
    assert api.returncode == 4
    assert json.loads(api.stdout)["error"]["exit_code"] == 4
    assert api.stderr.count("error:") == 1
    assert "Traceback" not in api.stderr


def test_count_query_prints_the_count_in_every_format(home: Path) -> None:
    with SalesforceClient.connect("local", home=home) as client:
        client.create_batch("Contact", [{"LastName": f"Ng {n}"} for n in range(3)])
    soql = "SELECT COUNT() FROM Contact"
    table = _run(home, "query", soql)
    assert table.returncode == 0, table.stderr
    assert table.stdout.strip() == "Total number of records retrieved: 3."
    csv_out = _run(home, "query", soql, "--format", "csv")
    assert csv_out.stdout.splitlines() == ["totalSize", "3"]
    assert "Total number of records retrieved: 3." in csv_out.stderr
    for args in (("--json",), ("--format", "json")):
        as_json = _run(home, "query", soql, *args)
        assert json.loads(as_json.stdout) == {"totalSize": 3, "done": True, "records": []}
    ordinary = _run(home, "query", "SELECT LastName FROM Contact ORDER BY LastName", "--json")
    assert json.loads(ordinary.stdout) == [{"LastName": f"Ng {n}"} for n in range(3)]
    listed = _run(home, "query", "SELECT LastName FROM Contact")
    assert listed.stdout.rstrip().endswith("Total number of records retrieved: 3.")


def test_export_parquet_writes_typed_columns(home: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    with SalesforceClient.connect("local", home=home) as client:
        account = client.create("Account", {"Name": "Acme", "NumberOfEmployees": 120})
        client.create(
            "Contact",
            {"LastName": "Ng", "AccountId": account, "Birthdate": "1990-05-01", "HasOptedOutOfEmail": True},
        )
        client.create("Contact", {"LastName": "Ortiz"})
    soql = (
        "SELECT Id, LastName, Birthdate, HasOptedOutOfEmail, CreatedDate, Account.NumberOfEmployees "
        "FROM Contact ORDER BY LastName"
    )
    result = _run(home, "export", soql, "--out", "contacts.parquet", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["format"]) == (2, "parquet")
    table = pq.read_table(home.parent / "contacts.parquet")
    types = {field.name: str(field.type) for field in table.schema}
    assert types == {
        "Id": "string",
        "LastName": "string",
        "Birthdate": "date32[day]",
        "HasOptedOutOfEmail": "bool",
        "CreatedDate": "timestamp[ms, tz=UTC]",
        "Account.NumberOfEmployees": "int64",
    }
    ng, ortiz = table.to_pylist()
    assert (ng["Birthdate"], ng["HasOptedOutOfEmail"], ng["Account.NumberOfEmployees"]) == (
        dt.date(1990, 5, 1),
        True,
        120,
    )
    assert (ortiz["Birthdate"], ortiz["Account.NumberOfEmployees"]) == (None, None)
    assert ng["CreatedDate"].tzinfo is not None
    as_csv = _run(home, "export", soql, "--out", "contacts.csv")
    assert as_csv.returncode == 0, as_csv.stderr
    assert "(csv, job 750" in as_csv.stderr
    assert (home.parent / "contacts.csv").read_text(encoding="utf-8").startswith('"Id","LastName"')
