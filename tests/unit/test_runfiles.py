"""Run files: the advisory lock, the probe write of an output dir, run ids and never-overwriting file sets."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from pathlib import Path

import pytest

from kinetic_core.errors import OutputNotWritableError, ResultsNotSavedError, RunLockedError
from kinetic_core.load import LoadResult, RowOutcome, Strategy
from kinetic_core.lockfile import Holder, LockFile, LockHeld, read_holder
from kinetic_core.runfiles import check_writable, create_exclusive, new_run_id, run_lock


def test_lock_names_its_holder_refuses_a_second_and_is_removed_on_release(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "x.lock"
    first = LockFile(path, "first run", now=lambda: "2026-01-02T03:04:05Z")
    assert first.acquire() is None
    assert first.held
    assert read_holder(path) == Holder(os.getpid(), socket.gethostname(), "2026-01-02T03:04:05Z", "first run")
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    with pytest.raises(LockHeld) as held:
        LockFile(path, "second").acquire()
    assert held.value.holder is not None
    assert held.value.holder.what == "first run"
    assert "since 2026-01-02T03:04:05Z (first run)" in str(held.value)
    first.release()
    first.release()  # idempotent
    assert not path.exists()
    with LockFile(path, "second") as second:
        assert second.held
    assert not path.exists()


def test_a_stale_holder_left_in_the_file_is_reported_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    stale = Holder(999_999, "elsewhere", "2020-01-01T00:00:00Z", "a run that was killed")
    path.write_text(" " + json.dumps(stale.__dict__) + "\n", encoding="utf-8")  # as a killed holder leaves it
    lock = LockFile(path, "the next run")
    assert lock.acquire() == stale
    holder = read_holder(path)
    assert holder is not None
    assert (holder.pid, holder.what) == (os.getpid(), "the next run")
    lock.release()


def test_unreadable_holder_text_still_refuses(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with LockFile(path, "run"):
        path.write_text("garbage", encoding="utf-8")
        with pytest.raises(RunLockedError, match="in use by another run: another process"):
            run_lock(path, "b", "the journal j")


@pytest.mark.parametrize("shape", ["file", "under a file"])
def test_check_writable_refuses_a_file_and_a_path_under_a_file(tmp_path: Path, shape: str) -> None:
    blocker = tmp_path / "f"
    blocker.write_text("x", encoding="utf-8")
    target = blocker if shape == "file" else blocker / "sub"
    with pytest.raises(OutputNotWritableError, match="nothing was sent") as refused:
        check_writable(target, "results directory")
    assert refused.value.path == target
    assert str(target) in str(refused.value)


def test_check_writable_creates_the_dir_and_leaves_no_probe(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    assert check_writable(target) == target
    assert target.is_dir()
    assert list(target.iterdir()) == []


def test_run_ids_are_timestamped_and_differ_within_one_second() -> None:
    moment = dt.datetime(2026, 12, 4, 15, 0, 1, tzinfo=dt.UTC)
    ids = {new_run_id(lambda: moment) for _ in range(50)}
    assert len(ids) == 50
    assert all(i.startswith("20261204T150001Z-") for i in ids)


def test_create_exclusive_never_replaces_a_file(tmp_path: Path) -> None:
    (tmp_path / "n-2-failed-records.csv").write_text("keep me", encoding="utf-8")
    sets = [create_exclusive(tmp_path, "n", ["success", "failed"]) for _ in range(3)]
    names = [[path.name for path, _ in s.values()] for s in sets]
    for s in sets:
        for _, handle in s.values():
            handle.close()
    assert names == [
        ["n-success-records.csv", "n-failed-records.csv"],
        ["n-3-success-records.csv", "n-3-failed-records.csv"],  # -2 was partly taken: skipped whole
        ["n-4-success-records.csv", "n-4-failed-records.csv"],
    ]
    assert (tmp_path / "n-2-failed-records.csv").read_text(encoding="utf-8") == "keep me"
    assert not (tmp_path / "n-2-success-records.csv").exists()


def test_rest_result_files_that_cannot_be_written_go_to_a_temporary_dir_named_in_the_error(
    tmp_path: Path,
) -> None:
    from kinetic_core.cli.load_cmd import save_result_files

    source = tmp_path / "in.csv"
    source.write_text("Name\nA\n\nB\n", encoding="utf-8")
    result = LoadResult(
        Strategy.REST,
        "small",
        2,
        1,
        1,
        0,
        _outcomes=[
            RowOutcome(1, "success", "001000000000001AAA", True),
            RowOutcome(2, "failed", None, False, "REQUIRED_FIELD_MISSING", "Name"),
        ],
    )
    blocker = tmp_path / "out"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ResultsNotSavedError) as stopped:
        save_result_files(result, source, blocker, "Account-insert-x")
    err = stopped.value
    assert err.counts == {"total": 2, "successful": 1, "failed": 1, "unprocessed": 0}
    assert "do not load the rows again" in str(err)
    fallback = Path(err.next_step.split("written to ", 1)[1].split(" instead", 1)[0])
    try:
        success = (fallback / "Account-insert-x-success-records.csv").read_text(encoding="utf-8")
        assert "001000000000001AAA" in success
    finally:
        for path in fallback.iterdir():
            path.unlink()
        fallback.rmdir()
