"""Bulk API 2.0 engine: job creation, state machine, uploads, list, delete, persistence, limits."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinetic_core.emulator.bulk import BulkEngine, BulkLimits, JobKind, JobState
from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store.custom import build_schema
from kinetic_core.emulator.store.records import Store

V = "62.0"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "org.sqlite", build_schema())
    yield s
    s.close()


def make_engine(store: Store, **kw: Any) -> BulkEngine:
    kw.setdefault("sleep", lambda _s: None)
    kw.setdefault("rng", random.Random(7))
    return BulkEngine(store, None, **kw)


@pytest.fixture
def engine(store: Store) -> BulkEngine:
    return make_engine(store)


def new_job(engine: BulkEngine, store: Store, **spec: Any) -> str:
    body = {"object": "Account", "operation": "insert", **spec}
    return engine.create_ingest_job(body, user_id=store.admin_user_id, api_version=V).id


def run_job(engine: BulkEngine, store: Store, csv: bytes, **spec: Any) -> str:
    job_id = new_job(engine, store, **spec)
    engine.upload(job_id, [csv])
    engine.close_job(job_id)
    engine.run_pending()
    return job_id


def err(exc: pytest.ExceptionInfo[ApiError]) -> tuple[int, str, str]:
    return exc.value.status, exc.value.error_code, exc.value.message


# --- create -------------------------------------------------------------------------------------


def test_create_defaults_and_info_shape(engine: BulkEngine, store: Store) -> None:
    job = engine.create_ingest_job(
        {"object": "account", "operation": "insert"}, user_id=store.admin_user_id, api_version=V
    )
    info = job.info()
    assert job.id.startswith("750")
    assert len(job.id) == 18
    assert info["object"] == "Account"
    assert info["state"] == "Open"
    assert info["contentType"] == "CSV"
    assert info["lineEnding"] == "LF"
    assert info["columnDelimiter"] == "COMMA"
    assert info["apiVersion"] == 62.0
    assert isinstance(info["apiVersion"], float)
    assert info["contentUrl"] == f"services/data/v62.0/jobs/ingest/{job.id}/batches"
    assert info["jobType"] == "V2Ingest"
    assert info["concurrencyMode"] == "Parallel"
    assert info["createdById"] == store.admin_user_id
    import re

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", info["createdDate"])
    for key in ("numberRecordsProcessed", "numberRecordsFailed", "retries", "totalProcessingTime",
                "apiActiveProcessingTime", "apexProcessingTime"):  # fmt: skip
        assert info[key] == 0
    subset = job.info(full=False)
    assert "numberRecordsProcessed" not in subset
    assert subset["contentUrl"] == info["contentUrl"]


@pytest.mark.parametrize(
    ("spec", "code", "text"),
    [
        ({"object": "Account"}, "INVALIDJOB", "Invalid operation: None"),
        ({"object": "Account", "operation": "merge"}, "INVALIDJOB", "Invalid operation: merge"),
        ({"operation": "insert"}, "INVALIDJOB", "Object is required"),
        ({"object": "Nope__c", "operation": "insert"}, "INVALIDENTITY",
         "Entity 'Nope__c' is not supported by the Bulk API."),
        ({"object": "Organization", "operation": "insert"}, "INVALIDENTITY",
         "Entity 'Organization' is not supported by the Bulk API."),
        ({"object": "Account", "operation": "upsert"}, "INVALIDJOB",
         "External ID was blank for Account. An External ID must be specified for upsert."),
        ({"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"}, "INVALIDJOB",
         "not an External ID field"),
        ({"object": "Account", "operation": "insert", "columnDelimiter": "COLON"}, "INVALIDJOB",
         "Invalid columnDelimiter"),
        ({"object": "Account", "operation": "insert", "lineEnding": "CR"}, "INVALIDJOB",
         "Invalid lineEnding"),
        ({"object": "Account", "operation": "insert", "contentType": "JSON"}, "INVALIDJOB", "only CSV"),
    ],
)  # fmt: skip
def test_create_validation(
    engine: BulkEngine, store: Store, spec: dict[str, Any], code: str, text: str
) -> None:
    with pytest.raises(ApiError) as exc:
        engine.create_ingest_job(spec, user_id=store.admin_user_id, api_version=V)
    status, got_code, message = err(exc)
    assert (status, got_code) == (400, code)
    assert text in message
    assert engine.list_jobs(JobKind.INGEST).jobs == []


def test_upsert_keeps_canonical_external_id(engine: BulkEngine, store: Store) -> None:
    job = engine.create_ingest_job(
        {"object": "Account", "operation": "upsert", "externalIdFieldName": "external_id__c"},
        user_id=store.admin_user_id,
        api_version=V,
    )
    assert job.info()["externalIdFieldName"] == "External_Id__c"


def test_hard_delete_needs_permission(engine: BulkEngine, store: Store) -> None:
    standard = store.seed_user("standard@kinetic.local", profile="Standard User")
    with pytest.raises(ApiError) as exc:
        engine.create_ingest_job(
            {"object": "Account", "operation": "hardDelete"}, user_id=standard, api_version=V
        )
    assert exc.value.error_code == "FEATURENOTENABLED"
    job = engine.create_ingest_job(
        {"object": "Account", "operation": "hardDelete"}, user_id=store.admin_user_id, api_version=V
    )
    assert job.state is JobState.OPEN


# --- state machine ------------------------------------------------------------------------------


def test_happy_path_states(engine: BulkEngine, store: Store) -> None:
    job_id = new_job(engine, store)
    engine.upload(job_id, [b"Name\nA\nB\n"])
    closed = engine.close_job(job_id)
    assert closed.state is JobState.UPLOAD_COMPLETE
    assert "contentUrl" not in closed.info()
    engine.run_pending()
    done = engine.get_job(job_id, JobKind.INGEST)
    assert done.state is JobState.JOB_COMPLETE
    assert done.processed == 2
    assert done.failed == 0


def test_refused_transitions(engine: BulkEngine, store: Store) -> None:
    job_id = run_job(engine, store, b"Name\nA\n")
    with pytest.raises(ApiError) as exc:
        engine.abort_job(job_id, JobKind.INGEST)
    assert err(exc) == (400, "INVALIDJOBSTATE", "Aborting already Completed Job not allowed")
    with pytest.raises(ApiError) as exc:
        engine.close_job(job_id)
    assert exc.value.error_code == "INVALIDJOBSTATE"
    with pytest.raises(ApiError) as exc:
        engine.upload(job_id, [b"Name\nB\n"])
    assert exc.value.error_code == "INVALIDJOBSTATE"
    with pytest.raises(ApiError) as exc:
        engine.set_state(job_id, JobKind.INGEST, "InProgress")
    assert exc.value.error_code == "INVALIDJOBSTATE"
    with pytest.raises(ApiError) as exc:
        engine.set_state(job_id, JobKind.INGEST, "Sleeping")
    assert exc.value.error_code == "INVALIDJOB"


def test_abort_from_each_open_state_and_again(engine: BulkEngine, store: Store) -> None:
    open_id = new_job(engine, store)
    assert engine.set_state(open_id, JobKind.INGEST, "Aborted").state is JobState.ABORTED
    with pytest.raises(ApiError) as exc:
        engine.abort_job(open_id, JobKind.INGEST)
    assert exc.value.message == "Aborting already Aborted Job not allowed"
    closed_id = new_job(engine, store)
    engine.upload(closed_id, [b"Name\nA\n"])
    engine.close_job(closed_id)
    assert engine.abort_job(closed_id, JobKind.INGEST).state is JobState.ABORTED
    engine.run_pending()
    aborted = engine.get_job(closed_id, JobKind.INGEST)
    assert aborted.state is JobState.ABORTED
    assert aborted.processed == 0
    assert b"".join(engine.ingest_results(closed_id, "unprocessedrecords")) == b"Name\nA\n"
    with pytest.raises(ApiError) as exc:
        engine.close_job(closed_id)
    assert exc.value.error_code == "INVALIDJOBSTATE"


def test_abort_failed_job_message(engine: BulkEngine, store: Store) -> None:
    job_id = run_job(engine, store, b"Bogus\nx\n")
    with pytest.raises(ApiError) as exc:
        engine.abort_job(job_id, JobKind.INGEST)
    assert exc.value.message == "Aborting already Failed Job not allowed"


def test_abort_in_progress_reports_rest_unprocessed(store: Store) -> None:
    engine = make_engine(store, limits=BulkLimits(batch_size=2))
    job_id = new_job(engine, store)
    engine.upload(job_id, [b"Name\nA\nB\nC\nD\nE\n"])
    engine.close_job(job_id)
    engine.run_pending(max_batches=1)
    mid = engine.get_job(job_id, JobKind.INGEST)
    assert mid.state is JobState.IN_PROGRESS
    assert mid.processed == 2
    engine.abort_job(job_id, JobKind.INGEST)
    engine.run_pending()
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.state is JobState.ABORTED
    assert job.processed == 2
    assert b"".join(engine.ingest_results(job_id, "unprocessedRecords")) == b"Name\nC\nD\nE\n"
    ok = b"".join(engine.ingest_results(job_id, "successfulresults")).decode().splitlines()
    assert len(ok) == 3
    assert store.record_counts()["Account"] == 2


def test_results_refused_while_not_terminal(engine: BulkEngine, store: Store) -> None:
    job_id = new_job(engine, store)
    with pytest.raises(ApiError) as exc:
        engine.ingest_results(job_id, "successfulResults")
    assert exc.value.error_code == "INVALIDJOBSTATE"
    with pytest.raises(ApiError) as exc:
        engine.ingest_results(job_id, "somethingElse")
    assert exc.value.status == 404


def test_unknown_job_is_not_found(engine: BulkEngine, store: Store) -> None:
    for bad in ("7508c0000000999AAA", "nonsense", "7508c0000000001"):
        with pytest.raises(ApiError) as exc:
            engine.get_job(bad, JobKind.INGEST)
        assert err(exc) == (404, "NOT_FOUND", "The requested resource does not exist")
    job_id = new_job(engine, store)
    assert engine.get_job(job_id[:15], JobKind.INGEST).id == job_id
    with pytest.raises(ApiError) as exc:
        engine.get_job(job_id, JobKind.QUERY)
    assert exc.value.status == 404


def test_delete_rules(engine: BulkEngine, store: Store) -> None:
    job_id = new_job(engine, store)
    with pytest.raises(ApiError) as exc:
        engine.delete_job(job_id, JobKind.INGEST)
    assert err(exc) == (
        400,
        "API_ERROR",
        "Error encountered when deleting the job because the job is not terminated",
    )
    engine.upload(job_id, [b"Name\nA\n"])
    engine.close_job(job_id)
    engine.delete_job(job_id, JobKind.INGEST)  # UploadComplete may be deleted
    with pytest.raises(ApiError):
        engine.get_job(job_id, JobKind.INGEST)
    assert engine.run_pending() == 0
    done = run_job(engine, store, b"Name\nA\n")
    engine.delete_job(done, JobKind.INGEST)
    assert not engine.files(done).dir.exists()


def test_in_progress_delete_refused(store: Store) -> None:
    engine = make_engine(store, limits=BulkLimits(batch_size=1))
    job_id = new_job(engine, store)
    engine.upload(job_id, [b"Name\nA\nB\n"])
    engine.close_job(job_id)
    engine.run_pending(max_batches=1)
    with pytest.raises(ApiError) as exc:
        engine.delete_job(job_id, JobKind.INGEST)
    assert exc.value.error_code == "API_ERROR"


# --- uploads ------------------------------------------------------------------------------------


def test_several_uploads_append_and_repeated_header_dropped(engine: BulkEngine, store: Store) -> None:
    job_id = new_job(engine, store)
    engine.upload(job_id, [b"Name\n", b"A\n"])
    engine.upload(job_id, [b"NAME\nB\n"])
    engine.upload(job_id, [b"C\n"])
    engine.close_job(job_id)
    engine.run_pending()
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.processed == 3
    assert job.failed == 0


def test_upload_cap_refuses_without_corrupting(store: Store) -> None:
    engine = make_engine(store, limits=BulkLimits(max_upload_base64_bytes=40))
    job_id = new_job(engine, store)
    engine.upload(job_id, [b"Name\nA\nB\n"])  # 9 bytes -> 12 base64
    with pytest.raises(ApiError) as exc:
        engine.upload(job_id, [b"C" * 10, b"\n" * 13])  # 9 + 23 = 32 bytes -> 44 base64 > 40
    assert exc.value.error_code == "CLIENTINPUTERROR"
    assert "base64" in exc.value.message
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.state is JobState.OPEN
    assert job.parts == 1
    assert job.upload_bytes == 9
    assert not list(engine.files(job_id).dir.glob("upload-*"))
    engine.close_job(job_id)
    engine.run_pending()
    assert engine.get_job(job_id, JobKind.INGEST).processed == 2


def test_empty_upload_and_no_upload_complete(engine: BulkEngine, store: Store) -> None:
    for data in (b"", b"Name\n"):
        job_id = run_job(engine, store, data)
        job = engine.get_job(job_id, JobKind.INGEST)
        assert job.state is JobState.JOB_COMPLETE
        assert job.processed == 0
    job_id = new_job(engine, store)
    engine.close_job(job_id)
    engine.run_pending()
    assert engine.get_job(job_id, JobKind.INGEST).state is JobState.JOB_COMPLETE
    assert b"".join(engine.ingest_results(job_id, "successfulResults")) == b'"sf__Id","sf__Created"\n'
    assert b"".join(engine.ingest_results(job_id, "unprocessedrecords")) == b""


# --- list ---------------------------------------------------------------------------------------


def test_list_paging(store: Store) -> None:
    engine = make_engine(store, limits=BulkLimits(list_page_size=2))
    ids = [new_job(engine, store) for _ in range(5)]
    first = engine.list_jobs(JobKind.INGEST)
    assert [j.id for j in first.jobs] == ids[:2]
    assert first.next_offset == 2
    last = engine.list_jobs(JobKind.INGEST, offset=4)
    assert [j.id for j in last.jobs] == ids[4:]
    assert last.next_offset is None
    assert engine.list_jobs(JobKind.INGEST, job_type="V2Query").jobs == []
    assert engine.list_jobs(JobKind.QUERY).jobs == []


# --- persistence --------------------------------------------------------------------------------


def test_restart_resumes_without_reprocessing(tmp_path: Path) -> None:
    store = Store(tmp_path / "org.sqlite", build_schema())
    engine = make_engine(store, limits=BulkLimits(batch_size=3))
    job_id = new_job(engine, store)
    engine.upload(job_id, [b"Name\n" + b"".join(f"R{i}\n".encode() for i in range(10))])
    open_id = new_job(engine, store)
    engine.upload(open_id, [b"Name\nKeep\n"])
    engine.close_job(job_id)
    engine.run_pending(max_batches=2)
    assert engine.get_job(job_id, JobKind.INGEST).processed == 6
    # a batch written but not committed before the "crash" must be dropped on restart
    engine.files(job_id).write_batch(2, ['"bogus","true",X'], [])
    store.close()

    store = Store(tmp_path / "org.sqlite", build_schema())
    try:
        engine = make_engine(store, limits=BulkLimits(batch_size=3))
        assert engine.get_job(open_id, JobKind.INGEST).state is JobState.OPEN
        engine.run_pending()
        job = engine.get_job(job_id, JobKind.INGEST)
        assert job.state is JobState.JOB_COMPLETE
        assert job.processed == 10
        assert store.record_counts()["Account"] == 10
        ok = b"".join(engine.ingest_results(job_id, "successfulResults")).decode().splitlines()
        assert len(ok) == 11
        assert not any("bogus" in line for line in ok)
        assert sorted(line.rsplit(",", 1)[1] for line in ok[1:]) == sorted(f"R{i}" for i in range(10))
        engine.close_job(open_id)
        engine.run_pending()
        assert engine.get_job(open_id, JobKind.INGEST).processed == 1
    finally:
        store.close()


def test_worker_thread_processes_and_stops(store: Store) -> None:
    engine = make_engine(store, sleep=None)
    engine.start()
    try:
        job_id = new_job(engine, store)
        engine.upload(job_id, [b"Name\nA\n"])
        engine.close_job(job_id)
        import time

        deadline = time.monotonic() + 5
        while engine.get_job(job_id, JobKind.INGEST).state is not JobState.JOB_COMPLETE:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        engine.stop()
    assert engine.worker._thread is None


# --- rate, limits -------------------------------------------------------------------------------


def test_rate_and_job_delay_sleep(store: Store) -> None:
    slept: list[float] = []
    engine = make_engine(store, rate=4.0, job_delay=0.5, sleep=slept.append, limits=BulkLimits(batch_size=2))
    run_job(engine, store, b"Name\nA\nB\nC\n")
    assert sum(slept) == pytest.approx(0.5 + 2 / 4 + 1 / 4)
    assert max(slept) <= 0.25


def test_daily_counters(engine: BulkEngine, store: Store) -> None:
    data = b"Name\n" + b"".join(f"N{i}\n".encode() for i in range(25))
    small = make_engine(store, limits=BulkLimits(batch_size=10))
    run_job(small, store, data)
    assert store.count_last_24h("bulk_records") == 25
    assert store.count_last_24h("bulk_batches") == 3


def test_daily_batch_limit_fails_job(store: Store) -> None:
    engine = make_engine(store, limits=BulkLimits(batch_size=1, daily_batches=2))
    job_id = run_job(engine, store, b"Name\nA\nB\nC\n")
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.state is JobState.FAILED
    assert job.processed == 2
    assert job.error_message is not None
    assert job.error_message.startswith("ExceededQuota")
    assert b"".join(engine.ingest_results(job_id, "unprocessedrecords")) == b"Name\nC\n"


def test_daily_record_limit_fails_job(store: Store) -> None:
    engine = make_engine(store, limits=BulkLimits(daily_records=3))
    job_id = run_job(engine, store, b"Name\nA\nB\nC\nD\n")
    job = engine.get_job(job_id, JobKind.INGEST)
    assert job.state is JobState.FAILED
    assert job.processed == 0
    assert "records per 24 hours" in (job.error_message or "")
    assert store.record_counts()["Account"] == 0
