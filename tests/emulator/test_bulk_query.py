"""Bulk API 2.0 query jobs (engine, no HTTP): validation, state rules, paging, limits."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinetic_core.emulator.bulk import BulkEngine, BulkLimits, JobKind, JobState
from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.soql import QueryEngine
from kinetic_core.emulator.store.custom import build_schema
from kinetic_core.emulator.store.records import Store

V = "62.0"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "org.sqlite", build_schema())
    yield s
    s.close()


def make(store: Store, **kw: Any) -> BulkEngine:
    kw.setdefault("query_page_size", 50_000)
    return BulkEngine(store, QueryEngine(store), sleep=lambda _s: None, rng=random.Random(5), **kw)


@pytest.fixture
def engine(store: Store) -> BulkEngine:
    return make(store)


def seed(store: Store, n: int) -> list[str]:
    rows = [{"Name": f"Acc {i:03d}", "Description": 'say "hi", ok' if i == 0 else None} for i in range(n)]
    return [o.id for o in store.insert_many("Account", rows, source="json") if o.id]


def query(engine: BulkEngine, store: Store, soql: str, **spec: Any) -> str:
    body = {"operation": "query", "query": soql, **spec}
    job = engine.create_query_job(body, user_id=store.admin_user_id, api_version=V)
    assert job.state is JobState.UPLOAD_COMPLETE
    engine.run_pending()
    return job.id


def page_text(page: Any) -> str:
    return b"".join(page.chunks).decode()


def test_create_info_and_results(engine: BulkEngine, store: Store) -> None:
    ids = seed(store, 3)
    job_id = query(engine, store, "select id, name, description from account")
    job = engine.get_job(job_id, JobKind.QUERY)
    info = job.info()
    assert info["state"] == "JobComplete"
    assert info["object"] == "Account"
    assert info["jobType"] == "V2Query"
    assert info["numberRecordsProcessed"] == 3
    assert "numberRecordsFailed" not in info
    assert info["apiVersion"] == 62.0
    assert "contentUrl" not in info
    page = engine.query_results(job_id, api_version=V)
    assert page.number_of_records == 3
    assert page.next_locator is None
    text = page_text(page)
    assert text.splitlines()[0] == '"Id","Name","Description"'
    parsed = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in parsed[1:]] == ids
    assert parsed[1][2] == 'say "hi", ok'
    assert parsed[2][2] == ""
    assert store.count_last_24h("bulk_query_jobs") == 1


def test_paging_with_locators(store: Store) -> None:
    seed(store, 25)
    engine = make(store, query_page_size=10)
    job_id = query(engine, store, "SELECT Name FROM Account", columnDelimiter="SEMICOLON", lineEnding="CRLF")
    names: list[str] = []
    locator: str | None = None
    counts = []
    while True:
        page = engine.query_results(job_id, locator=locator)
        text = page_text(page)
        lines = text.split("\r\n")
        assert lines[0] == '"Name"'
        assert lines[-1] == ""
        names += [line.strip('"') for line in lines[1:-1]]
        counts.append(page.number_of_records)
        locator = page.next_locator
        if locator is None:
            break
        assert locator.isalnum()
    assert counts == [10, 10, 5]
    assert names == [f"Acc {i:03d}" for i in range(25)]
    again = engine.query_results(job_id, locator=engine.query_results(job_id).next_locator, max_records=3)
    assert again.number_of_records == 3
    assert page_text(again).split("\r\n")[1] == '"Acc 010"'


def test_zero_rows(engine: BulkEngine, store: Store) -> None:
    job_id = query(engine, store, "SELECT Id FROM Account")
    page = engine.query_results(job_id)
    assert (page.number_of_records, page.next_locator, page_text(page)) == (0, None, '"Id"\n')


def test_query_all_includes_deleted(engine: BulkEngine, store: Store) -> None:
    ids = seed(store, 2)
    store.delete("Account", ids[0])
    assert engine.get_job(query(engine, store, "SELECT Id FROM Account"), JobKind.QUERY).processed == 1
    all_id = query(engine, store, "SELECT Id FROM Account", operation="queryAll")
    assert engine.get_job(all_id, JobKind.QUERY).processed == 2


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Nope__c", "INVALIDENTITY"),
        ("SELECT COUNT() FROM Account", None),
        ("SELEC Id FROM Account", "MALFORMED_QUERY"),
        ("SELECT Bogus__c FROM Account", "INVALID_FIELD"),
    ],
)
def test_refused_soql_is_synchronous(engine: BulkEngine, store: Store, soql: str, code: str | None) -> None:
    with pytest.raises(ApiError) as exc:
        engine.create_query_job(
            {"operation": "query", "query": soql}, user_id=store.admin_user_id, api_version=V
        )
    assert exc.value.status == 400
    if code:
        assert exc.value.error_code == code
    assert engine.list_jobs(JobKind.QUERY).jobs == []


@pytest.mark.parametrize(
    "spec",
    [{"query": "SELECT Id FROM Account"}, {"operation": "insert", "query": "SELECT Id FROM Account"},
     {"operation": "query"}, {"operation": "query", "query": "SELECT Id FROM Account", "lineEnding": "X"}],
)  # fmt: skip
def test_bad_create_body(engine: BulkEngine, store: Store, spec: dict[str, Any]) -> None:
    with pytest.raises(ApiError) as exc:
        engine.create_query_job(spec, user_id=store.admin_user_id, api_version=V)
    assert (exc.value.status, exc.value.error_code) == (400, "INVALIDJOB")


def test_results_before_complete_and_state_rules(engine: BulkEngine, store: Store) -> None:
    job = engine.create_query_job(
        {"operation": "query", "query": "SELECT Id FROM Account"}, user_id=store.admin_user_id, api_version=V
    )
    with pytest.raises(ApiError) as exc:
        engine.query_results(job.id)
    assert (exc.value.status, exc.value.error_code) == (412, "JOB_NOT_COMPLETE")
    assert exc.value.message.endswith("Current status: UPLOAD_COMPLETE")
    with pytest.raises(ApiError) as exc:
        engine.delete_job(job.id, JobKind.QUERY)
    assert exc.value.error_code == "API_ERROR"
    with pytest.raises(ApiError) as exc:
        engine.set_state(job.id, JobKind.QUERY, "UploadComplete")
    assert exc.value.error_code == "INVALIDJOBSTATE"
    assert engine.abort_job(job.id, JobKind.QUERY).state is JobState.ABORTED
    engine.run_pending()
    with pytest.raises(ApiError) as exc:
        engine.abort_job(job.id, JobKind.QUERY)
    assert exc.value.message == "Aborting already Aborted Job not allowed"
    with pytest.raises(ApiError) as exc:
        engine.query_results(job.id)
    assert exc.value.message.endswith("Current status: ABORTED")
    engine.delete_job(job.id, JobKind.QUERY)
    with pytest.raises(ApiError) as exc:
        engine.get_job(job.id, JobKind.QUERY)
    assert exc.value.status == 404


def test_completed_query_abort_refused_then_delete(engine: BulkEngine, store: Store) -> None:
    job_id = query(engine, store, "SELECT Id FROM Account")
    with pytest.raises(ApiError) as exc:
        engine.abort_job(job_id, JobKind.QUERY)
    assert exc.value.message == "Aborting already Completed Job not allowed"
    engine.delete_job(job_id, JobKind.QUERY)
    assert not engine.files(job_id).dir.exists()


def test_version_mismatch_and_bad_locator(engine: BulkEngine, store: Store) -> None:
    seed(store, 2)
    job_id = query(engine, store, "SELECT Id FROM Account")
    with pytest.raises(ApiError) as exc:
        engine.query_results(job_id, api_version="58.0")
    assert exc.value.status == 409
    for bad in ("!!", "MTAwMDA", "bnVsbA"):
        with pytest.raises(ApiError) as exc:
            engine.query_results(job_id, locator=bad)
        assert exc.value.status == 400
    with pytest.raises(ApiError):
        engine.query_results(job_id, max_records=0)


def test_result_pages(store: Store) -> None:
    seed(store, 12)
    engine = make(store, query_page_size=2)
    job_id = query(engine, store, "SELECT Id FROM Account")
    pages, nxt = engine.query_result_pages(job_id)
    assert len(pages) == 5
    assert pages[0] == (None, 2)
    assert nxt is not None
    pages2, nxt2 = engine.query_result_pages(job_id, locator=nxt)
    assert len(pages2) == 1
    assert nxt2 is None


def test_query_rate_and_progress(store: Store) -> None:
    seed(store, 5)
    slept: list[float] = []
    engine = BulkEngine(
        store, QueryEngine(store), rate=10.0, sleep=slept.append, limits=BulkLimits(batch_size=2)
    )
    job_id = query(engine, store, "SELECT Id FROM Account")
    assert engine.get_job(job_id, JobKind.QUERY).processed == 5
    assert sum(slept) == pytest.approx(2 * 2 / 10)


def test_daily_query_job_limit(store: Store) -> None:
    engine = make(store, limits=BulkLimits(daily_query_jobs=1))
    query(engine, store, "SELECT Id FROM Account")
    with pytest.raises(ApiError) as exc:
        engine.create_query_job(
            {"operation": "query", "query": "SELECT Id FROM Account"},
            user_id=store.admin_user_id,
            api_version=V,
        )
    assert exc.value.error_code == "EXCEEDEDQUOTA"


def test_in_progress_query_restarts_after_restart(tmp_path: Path) -> None:
    store = Store(tmp_path / "org.sqlite", build_schema())
    seed(store, 3)
    engine = make(store)
    job = engine.create_query_job(
        {"operation": "query", "query": "SELECT Name FROM Account"},
        user_id=store.admin_user_id,
        api_version=V,
    )
    engine.repo.update(job.id, state=JobState.IN_PROGRESS)
    store.close()
    store = Store(tmp_path / "org.sqlite", build_schema())
    try:
        engine = make(store)
        engine.run_pending()
        page = engine.query_results(job.id)
        assert page.number_of_records == 3
        assert page_text(page).count("\n") == 4
    finally:
        store.close()
