"""The run journal: open/resume rules, batch steps, totals and failures."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kinetic_core.errors import ConfigError, RunLockedError
from kinetic_core.lockfile import read_holder
from kinetic_core.pipeline import FailureRow, Journal
from kinetic_core.pipeline.journal import BatchCounts

PRINT = {"object": "Account", "source": {"path": "a.csv"}}


def test_steps_totals_and_failures(tmp_path: Path) -> None:
    steps: list[str] = []
    journal = Journal(tmp_path / "j.sqlite", checkpoint=steps.append)
    assert journal.open(PRINT, resume=False) is False
    first = journal.begin_batch(1, 3, 3, "composite")
    assert journal.inflight() is not None
    journal.complete_batch(
        first,
        BatchCounts(successful=2, failed=1),
        [FailureRow(2, "failed", "REQUIRED_FIELD_MISSING", "no Name", ("Name",), {"n": ""})],
    )
    second = journal.begin_batch(4, 9, 5, "bulk")
    journal.add_job(second, "750A", 1)
    journal.add_job(second, "750A", 1)  # recorded once
    assert journal.jobs(second) == ["750A"]
    assert journal.inflight() is not None
    assert journal.done_through() == 9
    assert journal.totals() == {
        "batches": 1,
        "rows": 3,
        "successful": 2,
        "failed": 1,
        "unprocessed": 0,
        "in_doubt": 0,
        "recovered": 0,
    }
    assert journal.error_counts() == {"REQUIRED_FIELD_MISSING": 1}
    assert list(journal.iter_failures()) == [
        FailureRow(2, "failed", "REQUIRED_FIELD_MISSING", "no Name", ("Name",), {"n": ""})
    ]
    assert steps == ["batch_started", "batch_done", "batch_started", "job_created", "job_created"]
    journal.abandon_batch(second)
    assert journal.inflight() is None
    assert journal.done_through() == 3
    journal.close()


def test_unfinished_run_needs_resume_with_the_same_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    journal.open(PRINT, resume=False)
    journal.begin_batch(1, 10, 10, "bulk")
    journal.close()
    with pytest.raises(ConfigError, match="did not finish: pass --resume"):
        Journal(path).open(PRINT, resume=False)
    with pytest.raises(ConfigError, match="different object"):
        Journal(path).open({**PRINT, "object": "Contact"}, resume=True)
    again = Journal(path)
    assert again.open(PRINT, resume=True) is True
    batch = again.inflight()
    assert batch is not None
    assert (batch.first_row, batch.last_row, batch.strategy) == (1, 10, "bulk")
    again.finish()
    again.close()
    fresh = Journal(path)
    assert fresh.open(PRINT, resume=False) is False  # a finished run is replaced
    assert fresh.totals()["batches"] == 0
    fresh.close()


def test_a_second_run_of_an_open_journal_is_refused_naming_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    first = Journal(path, what="pipeline accounts")
    first.open(PRINT, resume=False)
    second = Journal(path)
    with pytest.raises(RunLockedError) as refused:
        second.open(PRINT, resume=True)
    err = refused.value
    assert (err.pid, err.host) == (os.getpid(), socket.gethostname())
    assert err.started
    assert err.path == Path(f"{path}.lock")
    assert f"pid {os.getpid()} on {socket.gethostname()}, since {err.started}" in str(err)
    assert "pipeline accounts" in str(err)
    assert "nothing was sent" in str(err)
    assert not second.is_open
    first.begin_batch(1, 5, 5, "bulk")  # the holder is not disturbed
    first.close()
    assert not Path(f"{path}.lock").exists()  # released and tidied
    again = Journal(path)
    assert again.open(PRINT, resume=True) is True  # free once the first run closed it
    again.close()


def test_a_refused_open_does_not_keep_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    journal.open(PRINT, resume=False)
    journal.begin_batch(1, 10, 10, "bulk")
    journal.close()
    with pytest.raises(ConfigError, match="pass --resume"):
        Journal(path).open(PRINT, resume=False)
    resumed = Journal(path)  # the refused open released its lock
    assert resumed.open(PRINT, resume=True) is True
    resumed.close()


HOLD_AND_WAIT = """
import sys, time
from pathlib import Path
from kinetic_core.pipeline import Journal
journal = Journal(Path(sys.argv[1]), what="a run that gets killed")
journal.open({"object": "Account", "source": {"path": "a.csv"}}, resume=False)
journal.begin_batch(1, 10, 10, "bulk")
print("held", flush=True)
time.sleep(60)
"""


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_WAIT, str(path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "held"
            with pytest.raises(RunLockedError, match=f"pid {proc.pid} on "):
                Journal(path).open(PRINT, resume=True)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert read_holder(Path(f"{path}.lock")) is not None  # the dead holder's file is still there
    journal = Journal(path)
    assert journal.open(PRINT, resume=True) is True  # free: the OS dropped the dead process's lock
    assert journal.inflight() is not None
    holder = read_holder(journal.lock_path)
    assert holder is not None
    assert holder.pid == os.getpid()
    journal.close()
