"""Resuming bulk jobs from another client: durable manifests, row numbers, lifecycle, safety."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from test_bulk_fakes import FakeBulkHttp, FakeClock, Outcome

from kinetic_core.bulk import BulkClient, JobState, RowStatus
from kinetic_core.bulk.manifest import BulkResumeWarning, JobManifest, ManifestStore, org_key
from kinetic_core.errors import BulkTimeoutError


def make(http: FakeBulkHttp, state: Path) -> BulkClient:
    clock = FakeClock()
    return BulkClient(http, clock=clock, sleep=clock.sleep, state_dir=state)


def verdict(row: dict[str, str]) -> Outcome:
    if row.get("Name", "").startswith("bad"):
        return ("fail", "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --")
    return ("ok", True)


def rows_with_duplicates(n: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"Name": f"r{i}", "Phone": str(i)} for i in range(1, n + 1)]
    for i in (3, 4, 11):  # identical rows, one pair across two jobs
        rows[i - 1] = {"Name": "same", "Phone": "0"}
    for i in (6, 12):
        rows[i - 1] = {"Name": f"bad{i}", "Phone": None}
    return rows


def interrupted_load(http: FakeBulkHttp, state: Path, records: Any, jobs: int) -> list[str]:
    """A load of ``jobs`` jobs cut short after its uploads: returns the job ids left running."""
    http.never_complete = True
    http.create_barrier = threading.Barrier(jobs, timeout=10)  # every job exists before anyone polls
    with pytest.raises(BulkTimeoutError) as info:
        make(http, state).insert("Account", records, max_records_per_job=5, timeout=30)
    http.never_complete = False
    http.create_barrier = None
    assert len(info.value.job_ids) == jobs
    return list(info.value.job_ids)


def resume_all(bulk: BulkClient, job_ids: list[str]) -> dict[int, Any]:
    """Every row of every job, by row number (each number must appear once)."""
    by_row: dict[int, Any] = {}
    for job_id in job_ids:
        assert bulk.wait(job_id).state is JobState.JOB_COMPLETE
        with bulk.get_results(job_id) as result:
            assert result.successful + result.failed + result.unprocessed == result.total
            for row in result:
                assert row.row_number is not None
                assert row.row_number not in by_row
                by_row[row.row_number] = row
    return by_row


def test_records_load_resumed_by_another_client_numbers_every_row(tmp_path: Path) -> None:
    http = FakeBulkHttp(outcome=verdict)
    state = tmp_path / "state"
    rows = rows_with_duplicates(13)
    job_ids = interrupted_load(http, state, rows, 3)
    assert len(job_ids) == 3
    assert sorted(p.name for p in state.iterdir()) == sorted(
        [f"{j}.json" for j in job_ids] + [f"{j}.csv" for j in job_ids]
    )
    by_row = resume_all(make(http, state), job_ids)
    assert sorted(by_row) == list(range(1, 14))
    for number, row in by_row.items():
        assert row.record["Name"] == (rows[number - 1]["Name"] or "#N/A")
        if number in (6, 12):
            assert row.status is RowStatus.FAILED
            assert row.error_code == "REQUIRED_FIELD_MISSING"
        else:
            assert row.status is RowStatus.SUCCESS
            assert row.id
    assert {n for n, r in by_row.items() if r.record["Name"] == "same"} == {3, 4, 11}
    # results read and closed: the manifests and kept spools are gone
    assert list(state.iterdir()) == []


def test_row_numbers_match_the_in_process_mapping(tmp_path: Path) -> None:
    rows = rows_with_duplicates(13)
    http = FakeBulkHttp(outcome=verdict, seed=3)
    job_ids = interrupted_load(http, tmp_path / "a", rows, 3)
    resumed = sorted(
        (r.row_number, r.status, r.record["Name"], r.record["Phone"])
        for r in resume_all(make(http, tmp_path / "a"), job_ids).values()
    )
    same = FakeBulkHttp(outcome=verdict, seed=3)
    with make(same, tmp_path / "b").insert("Account", rows, max_records_per_job=5) as result:
        direct = sorted((r.row_number, r.status, r.record["Name"], r.record["Phone"]) for r in result)
    assert resumed == direct
    assert [n for n, *_ in direct] == list(range(1, 14))


def test_csv_file_load_resumed_and_changed_file_gives_no_numbers(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    lines = ["Name;Phone"] + [f"r{i};{i}" for i in range(1, 9)] + ["r2;2", "bad10;"]
    source.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    http = FakeBulkHttp(outcome=verdict)
    state = tmp_path / "state"
    job_ids = interrupted_load(http, state, source, 2)
    assert [p.suffix for p in state.iterdir()] == [".json", ".json"]  # the file itself is not copied
    manifest = json.loads((state / f"{job_ids[1]}.json").read_text())
    assert manifest["path"] == str(source.resolve())
    assert (manifest["first_row"], manifest["rows"], manifest["delimiter"]) == (6, 5, "SEMICOLON")
    by_row = resume_all(make(http, state), job_ids[:1])
    assert {n: r.record["Name"] for n, r in by_row.items()} == {i: f"r{i}" for i in range(1, 6)}
    # the second job: the file changes before its results are read
    source.write_bytes(source.read_bytes() + b"r99;99\r\n")
    other = make(http, state)
    with pytest.warns(BulkResumeWarning, match="changed after the upload"):
        result = other.get_results(job_ids[1])
    with result:
        assert result.total == 5
        assert all(r.row_number is None for r in result)
        assert {r.record["Name"] for r in result} == {"r6", "r7", "r8", "r2", "bad10"}


def test_missing_spool_warns_and_forget_cleans_up(tmp_path: Path) -> None:
    http = FakeBulkHttp()
    state = tmp_path / "state"
    job_ids = interrupted_load(http, state, [{"Name": f"n{i}"} for i in range(8)], 2)
    other = make(http, state)
    (state / f"{job_ids[0]}.csv").unlink()
    with pytest.warns(BulkResumeWarning, match="is gone"), other.get_results(job_ids[0]) as result:
        assert [r.row_number for r in result] == [None] * 5
    # a look at the totals only keeps the job resumable
    other.get_results(job_ids[1]).close()
    assert (state / f"{job_ids[1]}.json").exists()
    assert other.forget(job_ids[1]) is True
    assert other.forget(job_ids[1]) is False
    assert not (state / f"{job_ids[1]}.csv").exists()


def test_manifest_of_another_org_or_job_is_not_applied(tmp_path: Path) -> None:
    http = FakeBulkHttp()
    state = tmp_path / "state"
    (job_id, *_) = interrupted_load(http, state, [{"Name": "x"}, {"Name": "y"}], 1)
    assert make(http, state).wait(job_id).state is JobState.JOB_COMPLETE
    path = state / f"{job_id}.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "org": "https://elsewhere.example.com"}))
    with make(http, state).get_results(job_id) as result:  # silently not ours: no numbers
        assert [r.row_number for r in result] == [None, None]
    path.write_text(json.dumps({**data, "object": "Contact"}))
    with (
        pytest.warns(BulkResumeWarning, match="describes another"),
        make(http, state).get_results(job_id) as res,
    ):
        assert [r.row_number for r in res] == [None, None]


def test_in_process_result_releases_its_manifests_and_directory(tmp_path: Path) -> None:
    http = FakeBulkHttp()
    state = tmp_path / "home" / "bulk-jobs"
    bulk = make(http, state)
    result = bulk.insert("Account", [{"Name": f"n{i}"} for i in range(7)], max_records_per_job=3)
    assert len(list(state.glob("*.json"))) == 3
    assert result.successful == 7
    result.close()
    assert not (tmp_path / "home").exists()


def test_state_dir_false_records_nothing_and_default_follows_kinetic_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = FakeBulkHttp()
    clock = FakeClock()
    monkeypatch.setenv("KINETIC_HOME", str(tmp_path / "kh"))
    off = BulkClient(http, clock=clock, sleep=clock.sleep, state_dir=False)
    assert off.manifests is None
    off.insert("Account", [{"Name": "a"}]).close()
    default = BulkClient(http, clock=clock, sleep=clock.sleep)
    store = default.manifests
    assert store is not None
    assert store.directory == tmp_path / "kh" / "bulk-jobs"
    assert not (tmp_path / "kh").exists()


def test_manifest_round_trip_atomic_write_and_bad_files(tmp_path: Path) -> None:
    store = ManifestStore(tmp_path, "https://x.example.com")
    manifest = JobManifest(
        job_id="750A",
        org=store.org,
        object="Account",
        operation="insert",
        external_id_field=None,
        created_date=None,
        input_kind="file",
        path=str(tmp_path / "in.csv"),
        size=1,
        mtime_ns=2,
        start=5,
        end=9,
        first_row=1,
        rows=1,
        delimiter="COMMA",
        line_ending="LF",
        header=("Name",),
        columns=("Name",),
    )
    store.write(manifest)
    assert os.listdir(tmp_path) == ["750A.json"]
    assert store.read("750A") == manifest
    assert store.read("750B") is None
    (tmp_path / "750C.json").write_text("{not json")
    assert store.read("750C") is None
    with pytest.raises(ValueError):
        store.manifest_path("../escape")
    assert manifest.layout().data_offset == 5


def test_org_key_drops_path_and_credentials() -> None:
    class Http:
        def data_url(self, suffix: str) -> str:
            return "https://user:s3cret@acme.my.salesforce.com:8443/services/data/v62.0/" + suffix

    assert org_key(Http()) == "https://acme.my.salesforce.com:8443"


def test_lost_upload_answer_drops_the_aborted_jobs_manifest(tmp_path: Path) -> None:
    http = FakeBulkHttp()
    http.lose_upload_answers = 1
    state = tmp_path / "state"
    bulk = make(http, state)
    rows = [{"Name": f"n{i}"} for i in range(1, 7)]
    with bulk.insert("Account", rows, max_records_per_job=3) as result:
        assert len(http.jobs) == 3  # one job aborted and re-created
        assert sorted(p.stem for p in state.glob("*.json")) == sorted(result.job_ids)
        assert sorted(p.stem for p in state.glob("*.csv")) == sorted(result.job_ids)
        assert [(r.row_number, r.record["Name"]) for r in result] == [(i, f"n{i}") for i in range(1, 7)]
    assert not state.exists()


def test_reading_a_running_job_keeps_its_manifest(tmp_path: Path) -> None:
    http = FakeBulkHttp()
    state = tmp_path / "state"
    (job_id,) = interrupted_load(http, state, [{"Name": "a"}, {"Name": "b"}], 1)
    http.never_complete = True
    other = make(http, state)
    with other.get_results(job_id) as early:
        assert [(r.status, r.row_number) for r in early] == [
            (RowStatus.UNPROCESSED, 1),
            (RowStatus.UNPROCESSED, 2),
        ]
    assert (state / f"{job_id}.json").exists()
    http.never_complete = False
    assert other.wait(job_id).state is JobState.JOB_COMPLETE
    with other.get_results(job_id) as done:
        assert [(r.status, r.row_number) for r in done] == [(RowStatus.SUCCESS, 1), (RowStatus.SUCCESS, 2)]
    assert list(state.iterdir()) == []
