"""BulkClient against the in-memory fake server: merging, row mapping, retries, polling, resume."""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_bulk_fakes import FakeBulkHttp, FakeClock, Outcome, records

from kinetic_core.bulk import (
    BulkClient,
    BulkEvent,
    JobCreated,
    JobState,
    JobStateChanged,
    LoadDone,
    PollPolicy,
    RowStatus,
    RowsUploaded,
)
from kinetic_core.errors import ApiError, BulkJobError, BulkTimeoutError


def make(http: FakeBulkHttp) -> tuple[BulkClient, FakeClock]:
    clock = FakeClock()
    return BulkClient(http, clock=clock, sleep=clock.sleep), clock


def read_dicts(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def fail_bad(row: dict[str, str]) -> Outcome:
    if row.get("Name", "").startswith("bad"):
        return ("fail", "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --")
    if row.get("Name", "").startswith("lost"):
        return ("drop", None)
    return ("ok", True)


def test_insert_maps_every_row_back_despite_shuffle_and_reordered_columns() -> None:
    http = FakeBulkHttp(outcome=fail_bad)
    bulk, _ = make(http)
    rows = [{"Name": f"ok{i}", "Phone": str(i)} for i in range(1, 51)]
    rows[9] = {"Name": "bad10", "Phone": None}
    rows[19] = {"Name": "lost20"}
    with bulk.insert("Account", rows) as result:
        assert (result.total, result.successful, result.failed, result.unprocessed) == (50, 48, 1, 1)
        ok = list(result.successful_rows())
        assert [r.row_number for r in ok] == [n for n in range(1, 51) if n not in (10, 20)]
        assert all(r.record["Name"] == f"ok{r.row_number}" for r in ok)
        assert all(r.record["Phone"] == str(r.row_number) for r in ok)
        assert all(r.created is True and r.id and r.id.startswith("001") for r in ok)
        (failed,) = result.failed_rows()
        assert failed.status is RowStatus.FAILED
        assert (failed.row_number, failed.error_code, failed.error_fields) == (
            10,
            "REQUIRED_FIELD_MISSING",
            ("Name",),
        )
        assert failed.error_message == "Required fields are missing: [Name]"
        assert failed.record == {"Name": "bad10", "Phone": "#N/A"}
        (missing,) = result.unprocessed_rows()
        assert (missing.row_number, missing.error_code) == (20, "NOT_IN_RESULTS")
        assert len(list(result)) == 50


def test_duplicate_rows_each_get_their_own_row_number() -> None:
    seen: dict[str, int] = {}

    def every_second_duplicate_fails(row: dict[str, str]) -> Outcome:
        seen[row["Name"]] = seen.get(row["Name"], 0) + 1
        return ("fail", "DUPLICATE_VALUE:duplicate:Name --") if seen[row["Name"]] % 2 == 0 else ("ok", True)

    http = FakeBulkHttp(outcome=every_second_duplicate_fails, seed=3)
    bulk, _ = make(http)
    rows = [{"Name": "same"} for _ in range(6)] + [{"Name": "other"}] * 2
    result = bulk.insert("Account", rows, max_records_per_job=3)
    assert len(result.job_ids) == 3
    assert result.successful + result.failed + result.unprocessed == result.total == 8
    numbers = sorted(r.row_number for r in result if r.row_number is not None)
    assert numbers == list(range(1, 9))  # each input row exactly once
    result.close()


def test_split_into_parallel_jobs_and_merge(tmp_path: Path) -> None:
    http = FakeBulkHttp(outcome=fail_bad)
    bulk, _ = make(http)
    rows = [
        {"Name": ("bad" if i % 7 == 0 else "ok") + str(i), "Description": "x" * 40} for i in range(1, 301)
    ]
    events: list[BulkEvent] = []
    result = bulk.insert(
        "Account",
        rows,
        max_bytes_per_job=2_000,
        max_concurrent_jobs=3,
        on_event=events.append,
        results_dir=tmp_path,
    )
    assert len(result.job_ids) > 5
    assert result.total == 300
    assert result.failed == 42
    assert result.successful == 258
    assert result.unprocessed == 0
    assert [r.row_number for r in result.failed_rows()] == list(range(7, 301, 7))
    created = [e for e in events if isinstance(e, JobCreated)]
    uploaded = [e for e in events if isinstance(e, RowsUploaded)]
    assert sorted(e.part for e in created) == list(range(1, len(result.job_ids) + 1))
    assert sum(e.rows for e in uploaded) == 300
    assert all(e.bytes <= 2_000 for e in uploaded)
    assert any(isinstance(e, JobStateChanged) and e.state is JobState.JOB_COMPLETE for e in events)
    assert isinstance(events[-1], LoadDone)
    assert events[-1].total == 300
    name = f"load-{result.job_ids[0]}"
    success = read_dicts(tmp_path / f"{name}-success-records.csv")
    failed = read_dicts(tmp_path / f"{name}-failed-records.csv")
    assert len(success) == 258
    assert len(failed) == 42
    assert list(success[0])[:2] == ["sf__Id", "sf__Created"]
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert failed[0]["kc__RowNumber"] == "7"
    assert (tmp_path / f"{name}-unprocessed-records.csv").exists()
    result.close()


def test_csv_file_input_is_uploaded_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b'\xef\xbb\xbfName|Description\r\nok1|"multi\r\nline"\r\nbad2|x\r\nok3|"a|b"\r\n')
    http = FakeBulkHttp(outcome=fail_bad)
    bulk, _ = make(http)
    result = bulk.insert("Account", path)
    (job,) = http.jobs.values()
    assert job.body["columnDelimiter"] == "PIPE"
    assert job.body["lineEnding"] == "CRLF"
    assert [r.row_number for r in result.successful_rows()] == [1, 3]
    assert next(result.successful_rows()).record["Description"] == "multi\r\nline"
    assert [r.row_number for r in result.failed_rows()] == [2]
    result.close()


def test_lost_upload_answer_aborts_and_recreates_the_job() -> None:
    http = FakeBulkHttp()
    http.lose_upload_answers = 1
    bulk, _ = make(http)
    result = bulk.insert("Account", [{"Name": "a"}, {"Name": "b"}])
    states = sorted(j.state for j in http.jobs.values())
    assert states == ["Aborted", "JobComplete"]  # first job aborted, never re-sent to
    assert result.successful == 2
    assert len(result.job_ids) == 1
    assert result.job_ids[0] in http.jobs
    assert http.jobs[result.job_ids[0]].state == "JobComplete"
    result.close()


def test_persistent_upload_failure_is_raised_after_aborting() -> None:
    http = FakeBulkHttp()
    http.lose_upload_answers = 10
    bulk, _ = make(http)
    with pytest.raises(Exception, match="no answer"):
        bulk.insert("Account", [{"Name": "a"}])
    assert [j.state for j in http.jobs.values()] == ["Aborted"] * 3


def test_create_error_is_raised() -> None:
    http = FakeBulkHttp()
    http.fail_create = ApiError(400, "INVALIDENTITY", "Entity 'Nope' is not supported by the Bulk API.")
    bulk, _ = make(http)
    with pytest.raises(ApiError, match="INVALIDENTITY"):
        bulk.insert("Nope", [{"Name": "a"}])


def test_failed_job_rows_are_unprocessed_with_the_job_error() -> None:
    http = FakeBulkHttp(job_error="InvalidBatch : Field name not found : Nope__c")
    bulk, _ = make(http)
    result = bulk.insert("Account", [{"Nope__c": "1"}, {"Nope__c": "2"}])
    assert (result.successful, result.failed, result.unprocessed) == (0, 0, 2)
    row = next(result.unprocessed_rows())
    assert row.error_code == "JOB_FAILED"
    assert "Field name not found" in (row.error_message or "")
    assert result.job_errors() == {result.job_ids[0]: "InvalidBatch : Field name not found : Nope__c"}
    result.close()


def test_polling_without_progress_waits_no_longer_than_the_tolerance() -> None:
    http = FakeBulkHttp(polls_to_complete=9)
    bulk, clock = make(http)
    bulk.insert("Account", [{"Name": "a"}]).close()
    # the fake job reports no progress until done: checks every second (1 s tolerance), no doubling
    assert clock.sleeps == [1.0] * 8  # 9 status checks


def test_timeout_names_every_running_job_and_wait_resumes() -> None:
    http = FakeBulkHttp()
    http.never_complete = True
    http.create_barrier = threading.Barrier(3, timeout=10)  # all three jobs exist before anyone polls
    bulk, clock = make(http)
    with pytest.raises(BulkTimeoutError) as info:
        bulk.insert(
            "Account",
            [{"Name": str(i)} for i in range(6)],
            max_records_per_job=2,
            timeout=60,
            max_concurrent_jobs=3,
        )
    assert sorted(info.value.job_ids) == sorted(http.jobs)
    assert len(info.value.job_ids) == 3
    assert all(j in str(info.value) for j in info.value.job_ids)
    # the jobs are still there; another "process" picks them up
    http.never_complete = False
    other, _ = make(http)
    for job_id in info.value.job_ids:
        assert other.wait(job_id).state is JobState.JOB_COMPLETE
        res = other.get_results(job_id)
        assert res.successful == 2
        assert res.total == 2
        assert {r.record["Name"] for r in res.successful_rows()} <= {str(i) for i in range(6)}
        # the other client reads the job's manifest: rows come back with their input row numbers
        assert all(r.record["Name"] == str(r.row_number - 1) for r in res.successful_rows())
        res.close()
    assert clock() > 1000


def test_wait_timeout_raises_with_job_id() -> None:
    http = FakeBulkHttp()
    http.never_complete = True
    bulk, _ = make(http)
    job = bulk.create_job("Account", "insert")
    bulk.upload_data(job.id, b"Name\nx\n")
    assert bulk.close_job(job.id).state is JobState.UPLOAD_COMPLETE
    with pytest.raises(BulkTimeoutError) as info:
        bulk.wait(job.id, timeout=5)
    assert info.value.job_ids == [job.id]


def test_low_level_job_control() -> None:
    http = FakeBulkHttp(polls_to_complete=1)
    bulk, _ = make(http)
    job = bulk.create_job("Account", "upsert", external_id_field="Ext__c", column_delimiter="TAB")
    assert job.state is JobState.OPEN
    assert job.external_id_field == "Ext__c"
    assert bulk.abort_job(job.id).state is JobState.ABORTED
    assert [j.id for j in bulk.list_jobs()] == [job.id]
    assert bulk.get_job(job.id).state is JobState.ABORTED
    bulk.delete_job(job.id)
    assert list(bulk.list_jobs()) == []


def test_empty_input_creates_no_job() -> None:
    http = FakeBulkHttp()
    bulk, _ = make(http)
    result = bulk.insert("Account", [])
    assert (result.total, result.job_ids) == (0, ())
    assert http.jobs == {}


def test_poll_policy_waits_grow_from_initial_to_the_tolerance() -> None:
    policy = PollPolicy(initial=0.25, maximum=5.0)
    waits = []
    waited = 0.0
    for _ in range(6):
        waits.append(policy.next_wait(waited=waited, processed=0, total=None))
        waited += waits[-1]
    assert waits == [0.25, 0.25, 0.5, 1.0, 1.0, 1.0]


def test_upsert_and_delete_send_the_right_job() -> None:
    http = FakeBulkHttp(outcome=lambda row: ("ok", False))
    bulk, _ = make(http)
    bulk.upsert("Account", [{"Ext__c": "1", "Name": "x"}], external_id_field="Ext__c").close()
    bulk.delete("Account", ["001000000000001AAA"]).close()
    bulk.hard_delete("Account", [{"Id": "001000000000002AAA"}]).close()
    bodies = [j.body for j in http.jobs.values()]
    assert [b["operation"] for b in bodies] == ["upsert", "delete", "hardDelete"]
    assert bodies[0]["externalIdFieldName"] == "Ext__c"


def _query_http(n: int) -> FakeBulkHttp:
    return FakeBulkHttp(
        query_rows=[{"Id": f"001{i:015d}", "Name": f"N{i}", "Account.Name": ""} for i in range(n)],
        page_size=40,
        polls_to_complete=1,
    )


def test_query_iterates_every_locator_page() -> None:
    http = _query_http(101)
    bulk, _ = make(http)
    records: Iterator[dict[str, Any]] = bulk.query("SELECT Id, Name, Account.Name FROM Contact")
    rows = list(records)
    assert len(rows) == 101
    assert rows[100] == {"Id": f"001{100:015d}", "Name": "N100", "Account.Name": None}
    pages = [c for c in http.calls if c[1].endswith("/results")]
    assert len(pages) == 3


def test_query_to_file_writes_header_once(tmp_path: Path) -> None:
    http = _query_http(95)
    bulk, _ = make(http)
    export = bulk.query("SELECT Id FROM Contact", out=tmp_path / "out.csv", max_records=30)
    assert (export.rows, export.pages) == (95, 4)
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert len(lines) == 96
    assert lines[0] == '"Id","Name","Account.Name"'
    assert export.bytes == (tmp_path / "out.csv").stat().st_size


def test_query_to_dataframes() -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    bulk, _ = make(_query_http(85))
    frame = bulk.query("SELECT Id FROM Contact", as_dataframe=True, typed=False)
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 85
    assert frame["Account.Name"].isna().all()
    bulk2, _ = make(_query_http(85))
    pframe = bulk2.query_all("SELECT Id FROM Contact", as_dataframe="polars", typed=False)
    assert isinstance(pframe, pl.DataFrame)
    assert pframe.height == 85
    assert [http_body["operation"] for http_body in [j.body for j in bulk2.api.http.jobs.values()]] == [  # type: ignore[attr-defined]
        "queryAll"
    ]


def test_query_timeout_and_failure_raise() -> None:
    http = _query_http(1)
    bulk, _ = make(http)
    http.never_complete = True
    with pytest.raises(BulkTimeoutError) as timeout:
        bulk.query("SELECT Id FROM Contact", timeout=3)
    assert timeout.value.job_ids == list(http.jobs)
    http.never_complete = False
    http.query_error = "query failed"
    with pytest.raises(BulkJobError, match="query failed"):
        bulk.query("SELECT Id FROM Contact")


class OvercountingHttp(FakeBulkHttp):
    """Reports dropped rows as processed in the job counters (the result files lack them)."""

    def _info(self, job: Any) -> dict[str, Any]:
        body = super()._info(job)
        if job.kind == "ingest" and body["state"] == "JobComplete":
            body["numberRecordsProcessed"] = job.processed + job.dropped
        return body

    def _finish(self, job: Any, *, process: bool) -> None:
        super()._finish(job, process=process)
        job.dropped = sum(1 for line in job.data.decode().splitlines() if line.startswith("lost"))


def test_totals_come_from_job_counters_until_rows_are_read_then_the_files_win() -> None:
    bulk, _ = make(OvercountingHttp(outcome=fail_bad))
    rows = [{"Name": f"ok{i}"} for i in range(1, 21)]
    rows[4] = {"Name": "lost5"}
    rows[6] = {"Name": "bad7"}
    with bulk.insert("Account", iter(rows), max_records_per_job=6) as result:
        assert not result.rows_mapped  # nothing parsed or indexed yet
        assert (result.total, result.successful, result.failed, result.unprocessed) == (20, 19, 1, 0)
        ok = [r.row_number for r in result.successful_rows()]
        assert result.rows_mapped
        assert ok == [n for n in range(1, 21) if n not in (5, 7)]
        assert (result.total, result.successful, result.failed, result.unprocessed) == (20, 18, 1, 1)
        (missing,) = result.unprocessed_rows()
        assert (missing.row_number, missing.error_code) == (5, "NOT_IN_RESULTS")
        assert result.verify() is result


def test_csv_file_split_into_jobs_maps_rows_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    lines = [f'{"bad" if i % 5 == 0 else "ok"}{i},"two\r\nlines, {i}"' for i in range(1, 101)]
    path.write_bytes(("\ufeffName,Description\r\n" + "\r\n".join(lines)).encode())
    http = FakeBulkHttp(outcome=fail_bad)
    bulk, _ = make(http)
    with bulk.insert("Account", path, max_bytes_per_job=500, max_concurrent_jobs=2) as result:
        assert len(result.job_ids) > 3
        assert (result.total, result.successful, result.failed) == (100, 80, 20)
        assert [r.row_number for r in result.failed_rows()] == list(range(5, 101, 5))
        ok = list(result.successful_rows())
        assert all(
            r.record == {"Name": f"ok{r.row_number}", "Description": f"two\r\nlines, {r.row_number}"}
            for r in ok
        )
        assert result.successful + result.failed + result.unprocessed == result.total


def test_a_failing_event_callback_stops_the_load_before_any_data_is_sent() -> None:
    """A journal that cannot record a job id must not let that job run (resume would re-send it)."""
    http = FakeBulkHttp()
    bulk, _ = make(http)

    def journal(event: BulkEvent) -> None:
        if isinstance(event, JobCreated):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        bulk.insert("Account", [{"Name": "a"}, {"Name": "b"}], on_event=journal)
    assert http.jobs, "the job was created"
    assert all(job.state == "Aborted" and not job.data for job in http.jobs.values())


class LimitAfterUpload(FakeBulkHttp):
    """Every call fails with REQUEST_LIMIT_EXCEEDED once the jobs are closed (polls and aborts too)."""

    def __init__(self, exhausted_after_closes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.closes_left = exhausted_after_closes

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        from kinetic_core.errors import RequestLimitExceeded

        if self.closes_left <= 0 and "/jobs/ingest" in url:
            raise RequestLimitExceeded(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        json_body = kwargs.get("json")
        if method == "PATCH" and isinstance(json_body, dict) and json_body.get("state") == "UploadComplete":
            self.closes_left -= 1
        return super().request(method, url, **kwargs)


def test_a_load_stopped_by_the_request_limit_names_the_jobs_it_could_not_abort() -> None:
    from kinetic_core.errors import RequestLimitExceeded

    http = LimitAfterUpload(exhausted_after_closes=2)
    http.never_complete = True
    bulk, _ = make(http)
    with pytest.raises(RequestLimitExceeded) as info:
        bulk.insert("Account", records(30), max_records_per_job=10, max_concurrent_jobs=2)
    running = sorted(j.id for j in http.jobs.values() if j.state not in ("JobComplete", "Failed", "Aborted"))
    assert len(running) == 2  # the two closed jobs: the third could not even be created
    assert sorted(info.value.unaborted_jobs) == running
    assert any(all(i in note for i in running) for note in info.value.__notes__)


def test_the_job_whose_polling_failed_is_aborted_with_the_others() -> None:
    http = FakeBulkHttp(polls_to_complete=50)
    original = http.request
    polls = {"n": 0}
    failed: list[str] = []

    def request(method: str, url: str, **kwargs: Any) -> Any:
        job_info_get = method == "GET" and url.rstrip("/").split("/")[-2] == "ingest"
        if job_info_get:
            polls["n"] += 1
            if polls["n"] == 3:
                failed.append(url.rstrip("/").split("/")[-1])
                raise ApiError(400, "INVALID_SESSION_ID", "made-up fatal polling error")
        return original(method, url, **kwargs)

    http.request = request  # type: ignore[method-assign]
    bulk, _ = make(http)
    with pytest.raises(ApiError, match="made-up fatal") as info:
        bulk.insert("Account", records(20), max_records_per_job=10, max_concurrent_jobs=2)
    assert http.jobs[failed[0]].state == "Aborted"
    # the other job was aborted too, unless it finished first (the fake clock makes polling instant)
    assert {j.state for j in http.jobs.values() if j.id != failed[0]} <= {"Aborted", "JobComplete"}
    assert info.value.unaborted_jobs == ()
