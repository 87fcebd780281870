"""``kinetic sync`` killed with SIGKILL at several points, then resumed: every row lands exactly once."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from kinetic_core import SalesforceClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.lockfile import read_holder

KINETIC = Path(sys.executable).parent / "kinetic"
ROWS = 2000
BAD = (3, 777, 1999)
PIPELINE = """
name: accounts
object: Account
operation: {operation}
external_id: External_Id__c
strategy: {strategy}
source: {{path: accounts.csv}}
mapping:
  fields:
    Name: company
    External_Id__c: ref
batch: {{size: 500, max_records_per_job: 250, concurrency: 2}}
failures: {{dir: failures}}
"""


def _write_source(directory: Path) -> None:
    with (directory / "accounts.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["company", "ref"])
        for n in range(1, ROWS + 1):
            writer.writerow(["" if n in BAD else f"Company {n}", f"K{n:05d}"])


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    with LocalOrg(data_dir=home / "local"):
        _write_source(tmp_path)
        yield tmp_path


@pytest.fixture
def slow_workspace(tmp_path: Path) -> Iterator[tuple[Path, LocalOrg]]:
    """Like ``workspace``, and the org is at hand to slow it down (faults)."""
    with LocalOrg(data_dir=tmp_path / "home" / "local") as org:
        _write_source(tmp_path)
        yield tmp_path, org


def _run(workspace: Path, *args: str, crash: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KINETIC_HOME": str(workspace / "home")}
    env.pop("KINETIC_TEST_CRASH_AT", None)
    if crash:
        env["KINETIC_TEST_CRASH_AT"] = crash
    return subprocess.run(
        [str(KINETIC), "sync", "pipe.yaml", "--org", "local", "--json", *args],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _write_pipeline(workspace: Path, operation: str = "insert", strategy: str = "bulk") -> None:
    text = PIPELINE.format(operation=operation, strategy=strategy)
    (workspace / "pipe.yaml").write_text(text, encoding="utf-8")


def _check_exactly_once(workspace: Path, result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.returncode == 1, result.stderr  # 1: some rows failed (the three bad ones)
    report = json.loads(result.stdout)
    assert report["resumed"] is True
    assert (report["rows"], report["successful"], report["failed"]) == (ROWS, ROWS - len(BAD), len(BAD))
    assert report["error_counts"] == {"REQUIRED_FIELD_MISSING": len(BAD)}
    with SalesforceClient.connect("local", home=workspace / "home") as client:
        refs = Counter(str(r["External_Id__c"]) for r in client.query("SELECT External_Id__c FROM Account"))
    expected = {f"K{n:05d}" for n in range(1, ROWS + 1) if n not in BAD}
    assert set(refs) == expected
    assert max(refs.values()) == 1
    with (workspace / "failures" / "accounts-failures.csv").open(encoding="utf-8") as handle:
        failed = [int(r["row_number"]) for r in csv.DictReader(handle)]
    assert failed == list(BAD)
    return report


@pytest.mark.parametrize(
    "crash",
    ["batch_started:2", "job_created:3", "rows_uploaded:4", "job_state:3", "batch_sent:2", "batch_done:3"],
)
def test_sigkill_at_a_journal_step_then_resume(workspace: Path, crash: str) -> None:
    _write_pipeline(workspace)
    killed = _run(workspace, crash=crash)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert killed.stdout == ""
    if crash == "batch_started:2":
        again = _run(workspace)
        assert again.returncode == 2  # without --resume the unfinished run is refused
        assert "--resume" in again.stderr
    _check_exactly_once(workspace, _run(workspace, "--resume"))


def test_sigkill_from_outside_while_jobs_run(workspace: Path) -> None:
    _write_pipeline(workspace)
    env = {**os.environ, "KINETIC_HOME": str(workspace / "home")}
    env.pop("KINETIC_TEST_CRASH_AT", None)
    proc = subprocess.Popen(
        [str(KINETIC), "sync", "pipe.yaml", "--org", "local", "--json"],
        cwd=workspace,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    journal = workspace / "accounts.journal.sqlite"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.exists():
                try:
                    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as conn:
                        jobs = conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
                    conn.close()
                except sqlite3.Error:
                    jobs = 0
                if jobs >= 3:
                    break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    _check_exactly_once(workspace, _run(workspace, "--resume"))


@pytest.mark.parametrize("crash", ["batch_sent:1", "batch_started:3"])
def test_composite_insert_killed_in_flight_is_settled_by_external_id(workspace: Path, crash: str) -> None:
    """The pipeline declares ``external_id``: resume looks the in-flight rows up instead of doubting them.

    ``batch_sent:1``: the first call (rows 1-200, bad row 3 among them) was saved, its answer lost;
    ``batch_started:3``: the third call was journalled but never sent.
    """
    _write_pipeline(workspace, strategy="composite")
    killed = _run(workspace, crash=crash)
    assert killed.returncode == -signal.SIGKILL
    report = _check_exactly_once(workspace, _run(workspace, "--resume"))
    assert report["in_doubt"] == 0
    assert report["recovered_batches"] == 1


def _env(workspace: Path) -> dict[str, str]:
    env = {**os.environ, "KINETIC_HOME": str(workspace / "home")}
    env.pop("KINETIC_TEST_CRASH_AT", None)
    return env


@pytest.mark.parametrize("strategy", ["bulk", "composite"])
def test_two_resumes_at_once_one_is_refused_and_nothing_loads_twice(
    slow_workspace: tuple[Path, LocalOrg], strategy: str
) -> None:
    workspace, org = slow_workspace
    _write_pipeline(workspace, strategy=strategy)
    killed = _run(workspace, crash="batch_done:2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    org.admin("faults", {"latency_ms": 250, "seed": 1})  # the resumed run takes a few seconds
    lock = workspace / "accounts.journal.sqlite.lock"
    args = [str(KINETIC), "sync", "pipe.yaml", "--org", "local", "--json", "--resume"]
    with subprocess.Popen(
        args, cwd=workspace, env=_env(workspace), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as first:
        deadline = time.monotonic() + 60
        while first.poll() is None and time.monotonic() < deadline:
            holder = read_holder(lock)
            if holder is not None and holder.pid == first.pid:
                break
            time.sleep(0.02)
        second = _run(workspace, "--resume")
        still_running = first.poll() is None
        out, err = first.communicate(timeout=120)
    assert still_running, "the second resume was not refused while the first one ran"
    assert second.returncode == 2, second.stderr
    assert f"in use by another run: pid {first.pid} on {socket.gethostname()}, since " in second.stderr
    assert "nothing was sent" in second.stderr
    refused = json.loads(second.stdout)["error"]
    assert refused["type"] == "RunLockedError"
    assert refused["exit_code"] == 2
    org.admin("faults", {})
    winner = subprocess.CompletedProcess(args, int(first.returncode), out, err)
    report = _check_exactly_once(workspace, winner)
    done_before = 2 * (500 if strategy == "bulk" else 200)  # two batches done before the kill
    assert report["rows_this_run"] == ROWS - done_before
    assert not lock.exists()  # released at the end of the run


@pytest.fixture
def delayed_workspace(tmp_path: Path) -> Iterator[Path]:
    """Like ``workspace``; each Bulk job waits 4 s before it is processed."""
    with LocalOrg(data_dir=tmp_path / "home" / "local", bulk_job_delay_seconds=4.0):
        _write_source(tmp_path)
        yield tmp_path


def test_a_running_kinetic_load_holds_its_job_manifest(delayed_workspace: Path) -> None:
    """While a load drives its Bulk job, another process reading that job's results is refused at once."""
    workspace = delayed_workspace
    state = workspace / "home" / "bulk-jobs"
    (workspace / "accounts.csv").write_text(
        (workspace / "accounts.csv")
        .read_text(encoding="utf-8")
        .replace("company,ref", "Name,AccountNumber", 1),
        encoding="utf-8",
    )
    args = [str(KINETIC), "load", "Account", "accounts.csv", "--strategy", "bulk", "--results-dir", "out"]
    with subprocess.Popen(
        [*args, "--json"], cwd=workspace, env=_env(workspace), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as load:
        deadline = time.monotonic() + 60
        manifests: list[Path] = []
        while load.poll() is None and time.monotonic() < deadline and not manifests:
            manifests = list(state.glob("*.json")) if state.is_dir() else []
            time.sleep(0.02)
        assert manifests, "the load wrote no job manifest"
        job_id = manifests[0].stem
        reader = subprocess.run(
            [str(KINETIC), "jobs", "results", job_id, "--results-dir", "elsewhere", "--json"],
            cwd=workspace,
            env=_env(workspace),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        still_running = load.poll() is None
        out, err = load.communicate(timeout=120)
    assert still_running, "the reader was not refused while the load ran"
    assert reader.returncode == 2, reader.stderr
    assert (
        f"bulk job {job_id} is in use by another run: pid {load.pid} on {socket.gethostname()}"
        in reader.stderr
    )
    assert json.loads(reader.stdout)["error"]["holder"]["pid"] == load.pid
    assert not (workspace / "elsewhere").exists() or not any((workspace / "elsewhere").iterdir())
    assert load.returncode == 1, err  # the three bad rows
    summary = json.loads(out)
    assert summary["job_ids"] == [job_id]
    assert (summary["successful"], summary["failed"]) == (ROWS - len(BAD), len(BAD))
    with SalesforceClient.connect("local", home=workspace / "home") as client:
        assert client.count("Account") == ROWS - len(BAD)
    assert not state.exists() or not any(state.iterdir())  # the load's manifest and lock are gone
