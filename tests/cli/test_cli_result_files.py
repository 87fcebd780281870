"""Our own result files load again, `kinetic load --retry`, and a failed job exits 4: the real script."""

from __future__ import annotations

import csv
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
        timeout=120,
        check=False,
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _names(home: Path) -> list[str]:
    with SalesforceClient.connect("local", home=home) as client:
        return sorted(str(r["Name"]) for r in client.query("SELECT Name FROM Account"))


@pytest.mark.parametrize("strategy", ["bulk", "rest"])
def test_a_corrected_failed_records_file_loads_again(home: Path, strategy: str) -> None:
    source = home.parent / "accounts.csv"
    source.write_text("Name,External_Id__c\nAcme,E1\n,E2\n", encoding="utf-8")
    first = _run(
        home, "load", "Account", str(source), "--strategy", strategy, "--results-dir", "out", "--json"
    )
    assert first.returncode == 1, first.stderr
    failed = Path(json.loads(first.stdout)["files"]["failed"])
    rows = _rows(home.parent / failed)
    assert [(r["External_Id__c"], r["kc__RowNumber"]) for r in rows] == [("E2", "2")]
    assert rows[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING")
    rows[0]["Name"] = "Globex"  # the fix
    _write(home.parent / failed, rows)
    again = _run(home, "-v", "load", "Account", str(failed), "--strategy", strategy, "--json")
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert (summary["total"], summary["successful"], summary["strategy"]) == (1, 1, strategy)
    assert "ignoring column(s) sf__Id, sf__Error, kc__RowNumber" in again.stderr
    assert _names(home) == ["Acme", "Globex"]


def test_a_job_that_fails_whole_exits_4_and_its_unprocessed_file_loads_again(home: Path) -> None:
    source = home.parent / "accounts.csv"
    source.write_text("Name,Nickname__c\nAcme,A\nGlobex,G\n", encoding="utf-8")
    args = ("load", "Account", str(source), "--strategy", "bulk", "--results-dir", "out", "--json")
    checked = _run(home, *args)
    assert checked.returncode == 2  # the check stops it first; --no-check sends it
    first = _run(home, *args, "--no-check")
    assert first.returncode == 4, first.stderr  # docs/cli.md: a Bulk job failed
    summary = json.loads(first.stdout)
    assert summary["unprocessed"] == 2
    assert summary["failed_jobs"][0]["state"] == "Failed"
    assert "Field name not found : Nickname__c" in first.stderr
    unprocessed = home.parent / summary["files"]["unprocessed"]
    rows = _rows(unprocessed)
    assert [r["kc__RowNumber"] for r in rows] == ["1", "2"]
    _write(unprocessed, [{"Name": r["Name"], "kc__RowNumber": r["kc__RowNumber"]} for r in rows])
    again = _run(home, "load", "Account", str(unprocessed), "--strategy", "bulk", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["successful"] == 2
    assert _names(home) == ["Acme", "Globex"]


def test_retry_reloads_failed_and_unprocessed_rows_with_the_recorded_operation(home: Path) -> None:
    with SalesforceClient.connect("local", home=home) as client:
        client.create("Account", {"Name": "Old", "External_Id__c": "K1"})
    source = home.parent / "upsert.csv"
    source.write_text(
        "Name,External_Id__c,NumberOfEmployees\nNew,K1,5\nB,K2,many\nC,K3,lots\n", encoding="utf-8"
    )
    args = ("--operation", "upsert", "--external-id", "External_Id__c", "--strategy", "bulk")
    first = _run(home, "load", "Account", str(source), *args, "--results-dir", "res", "--json")
    assert first.returncode == 1, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["successful"], summary["failed"]) == (1, 2)
    descriptor = json.loads((home.parent / summary["run"]).read_text(encoding="utf-8"))
    assert (descriptor["object"], descriptor["operation"], descriptor["external_id"]) == (
        "Account",
        "upsert",
        "External_Id__c",
    )
    failed = home.parent / summary["files"]["failed"]
    rows = _rows(failed)
    rows[0]["NumberOfEmployees"] = "7"  # fix one of the two
    _write(failed, rows)
    retry = _run(home, "load", "--retry", "res", "--json")
    assert retry.returncode == 1, retry.stderr  # one row still fails
    again = json.loads(retry.stdout)
    assert (again["object"], again["operation"], again["total"], again["successful"]) == (
        "Account",
        "upsert",
        2,
        1,
    )
    assert "retrying 2 row(s)" in retry.stderr
    rows = _rows(home.parent / again["files"]["failed"])
    assert [r["External_Id__c"] for r in rows] == ["K3"]
    rows[0]["NumberOfEmployees"] = "9"
    _write(home.parent / again["files"]["failed"], rows)
    last = _run(home, "load", "--retry", "res", "--json")  # the newest run of the directory
    assert last.returncode == 0, last.stderr
    assert json.loads(last.stdout)["successful"] == 1
    with SalesforceClient.connect("local", home=home) as client:
        stored = {
            str(r["External_Id__c"]): (r["Name"], r["NumberOfEmployees"])
            for r in client.query("SELECT Name, External_Id__c, NumberOfEmployees FROM Account")
        }
    assert stored == {"K1": ("New", 5), "K2": ("B", 7), "K3": ("C", 9)}  # upserted, nothing twice
    nothing = _run(home, "load", "--retry", "res")
    assert nothing.returncode == 0
    assert "nothing to retry" in nothing.stderr


def test_retry_usage_errors(home: Path) -> None:
    empty = home.parent / "empty"
    empty.mkdir()
    result = _run(home, "load", "--retry", str(empty))
    assert result.returncode == 2
    assert "holds no *-run.json file" in result.stderr
    both = _run(home, "load", "Account", "x.csv", "--retry", str(empty))
    assert both.returncode == 2
    assert "--retry takes no OBJECT or FILE" in both.stderr
