"""Where results go: checked before anything is sent, never overwritten, and a late failure loses nothing."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kinetic_core import SalesforceClient
from kinetic_core.bulk.models import JobKind
from kinetic_core.cli import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _source(path: Path, rows: int, first: int = 1) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["Name", "AccountNumber"])
        for n in range(first, first + rows):
            writer.writerow([f"Company {n}", f"N{n:05d}"])
    return path


def _org_state(home: Path) -> tuple[int, int]:
    """(Accounts stored, ingest jobs created) in the local org."""
    with SalesforceClient.connect("local", home=home) as client:
        return client.count("Account"), len(list(client.bulk.list_jobs(kind=JobKind.INGEST)))


@pytest.mark.parametrize("strategy", ["rest", "composite", "bulk"])
@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_load_refuses_a_results_dir_it_cannot_write_before_sending_anything(
    home: Path, tmp_path: Path, strategy: str, where: str
) -> None:
    source = _source(tmp_path / "accounts.csv", 30)
    blocker = tmp_path / "taken"
    blocker.write_text("not a directory\n", encoding="utf-8")
    results = blocker if where == "a file" else blocker / "out"
    code, out, err = invoke(
        "load", "Account", str(source), "--strategy", strategy, "--results-dir", str(results), "--json"
    )
    assert code == 2, err
    error = json.loads(out)["error"]
    assert error["type"] == "OutputNotWritableError"
    assert error["path"] == str(results)
    assert f"cannot write to the results directory {results}" in err
    assert "nothing was sent" in err
    assert _org_state(home) == (0, 0)  # not a record, not a job
    assert blocker.read_text(encoding="utf-8") == "not a directory\n"


def test_six_quick_loads_into_one_results_dir_keep_six_result_sets(home: Path, tmp_path: Path) -> None:
    summaries = []
    for run in range(6):
        source = _source(tmp_path / f"part{run}.csv", 3, first=run * 3 + 1)
        code, out, err = invoke("load", "Account", str(source), "--results-dir", "out", "--json")
        assert code == 0, err
        summaries.append(json.loads(out))
    assert {s["strategy"] for s in summaries} == {"composite"}  # one call beats three
    paths = [Path(s["files"][label]) for s in summaries for label in ("success", "failed", "unprocessed")]
    assert len(set(paths)) == 18
    runs = [Path(s["run"]) for s in summaries]  # one run descriptor each (for load --retry)
    assert len(set(runs)) == 6
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths + runs)
    ids = []
    for run, summary in enumerate(summaries):
        with Path(summary["files"]["success"]).open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert [r["Name"] for r in rows] == [f"Company {run * 3 + n}" for n in (1, 2, 3)]
        ids += [r["sf__Id"] for r in rows]
    with SalesforceClient.connect("local", home=home) as client:
        stored = {str(r["Id"]) for r in client.query("SELECT Id FROM Account")}
    assert len(ids) == len(set(ids)) == 18
    assert set(ids) == stored  # every created Id is in a result file


def test_the_text_summary_prints_the_result_file_paths(home: Path, tmp_path: Path) -> None:
    source = _source(tmp_path / "a.csv", 2)
    code, _out, err = invoke("load", "Account", str(source), "--results-dir", "out")
    assert code == 0, err
    printed = {
        line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in err.splitlines() if " rows: " in line
    }
    assert set(printed) == {"success rows", "failed rows", "unprocessed rows"}
    assert all(Path(p).is_file() for p in printed.values())
    assert Path(printed["success rows"]).name.startswith("Account-insert-")


def test_bulk_result_files_never_overwrite_a_set_already_there(home: Path, tmp_path: Path) -> None:
    source = _source(tmp_path / "a.csv", 5)
    code, out, err = invoke(
        "load", "Account", str(source), "--strategy", "bulk", "--results-dir", "r", "--json"
    )
    assert code == 0, err
    job = json.loads(out)["job_ids"][0]
    first = (tmp_path / "r" / f"{job}-success-records.csv").read_text(encoding="utf-8")
    code, out, err = invoke("jobs", "results", job, "--results-dir", "r", "--json")
    assert code == 0, err
    again = json.loads(out)["files"]
    assert tmp_path / again["success"] == tmp_path / "r" / f"{job}-2-success-records.csv"
    assert (tmp_path / "r" / f"{job}-success-records.csv").read_text(encoding="utf-8") == first


REFUSING_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))  # no file may grow past 1 KB: a disk that is full
sys.argv = ["kinetic", *sys.argv[1:]]
from kinetic_core.cli import main
main()
"""


def test_load_refuses_a_results_dir_whose_disk_takes_no_data(home: Path, tmp_path: Path) -> None:
    """The probe writes and syncs 4 KB: a dir where files can be created but not filled is refused too."""
    source = _source(tmp_path / "accounts.csv", 30)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            REFUSING_DISK,
            "load",
            "Account",
            str(source),
            "--results-dir",
            "out",
            "--json",
        ],
        cwd=tmp_path,
        env={**os.environ, "KINETIC_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert json.loads(result.stdout)["error"]["type"] == "OutputNotWritableError"
    assert "cannot write to the results directory out: File too large; nothing was sent" in result.stderr
    assert list((tmp_path / "out").iterdir()) == []  # no probe left behind
    assert _org_state(home) == (0, 0)
