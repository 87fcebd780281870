"""The shared behaviour suite: every test runs against ``SalesforceClient`` and ``AsyncSalesforceClient``
on the emulator, and both must give the same results, errors, retries and limits."""

from __future__ import annotations

import csv
import datetime as dt
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from both_clients import Opened

from kinetic_core import flatten, soql
from kinetic_core.bulk import PollPolicy
from kinetic_core.composite import SubRequest
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import (
    EntityIsDeletedError,
    InvalidFieldError,
    InvalidTypeError,
    MalformedQueryError,
    NotFoundError,
    RequiredFieldMissingError,
)
from kinetic_core.load import Thresholds


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest, local_org: LocalOrg, tmp_path: Path) -> Iterator[Any]:
    opened = Opened(request.param, local_org, tmp_path)
    try:
        yield opened.client
    finally:
        opened.close()


def test_crud_upsert_and_errors(client: Any, local_org: LocalOrg) -> None:
    rid = client.create("Account", {"Name": "Acme", "AnnualRevenue": 1000})
    assert len(rid) == 18
    record = client.get("Account", rid, fields=["Name", "AnnualRevenue"])
    assert (record["Name"], record["AnnualRevenue"]) == ("Acme", 1000)
    client.update("Account", rid, {"Name": "Acme 2", "Id": rid})
    assert client.get("Account", rid)["Name"] == "Acme 2"
    created = client.upsert("Account", "External_Id__c", "EXT 1 & 2?", {"Name": "Ext"})
    assert created.created
    updated = client.upsert("Account", "External_Id__c", "EXT 1 & 2?", {"Name": "Ext 2"})
    assert (updated.id, updated.created) == (created.id, False)
    assert client.get("Account", created.id)["Name"] == "Ext 2"
    client.delete("Account", rid)
    with pytest.raises(EntityIsDeletedError):
        client.get("Account", rid)
    with pytest.raises(RequiredFieldMissingError):
        client.create("Account", {"Phone": "1"})
    with pytest.raises(InvalidFieldError):
        client.create("Account", {"Name": "x", "Bogus__c": 1})
    with pytest.raises(NotFoundError):
        client.create("Nope__c", {"Name": "x"})
    with pytest.raises(ValueError, match="differs"):
        client.upsert("Account", "External_Id__c", "A", {"External_Id__c": "B"})
    assert local_org.org.store.record_counts()["Account"] == 1


def test_metadata_and_limits(client: Any) -> None:
    describe = client.describe("Account")
    assert client.describe("Account") is describe
    assert any(f["name"] == "Name" for f in describe["fields"])
    assert "Account" in {o["name"] for o in client.list_objects()}
    assert client.limits()["DailyApiRequests"]["Max"] > 0
    assert client.api_usage is not None
    assert client.api_usage.used > 0


def test_query_paging_is_lazy_and_complete(client: Any) -> None:
    results = client.create_batch(
        "Account", [{"Name": f"Q{i:03d}", "External_Id__c": f"Q{i}"} for i in range(450)]
    )
    assert all(r.success for r in results)
    query = client.query("SELECT Id, Name FROM Account ORDER BY Name", batch_size=200)
    assert query.total_size == 450
    assert query.pages_fetched == 1
    names = [r["Name"] for r in query]
    assert names == [f"Q{i:03d}" for i in range(450)]
    assert query.pages_fetched == 3
    client.delete("Account", results[0].id or "")
    assert client.count("Account") == 449
    assert len(list(client.query_all("SELECT Id FROM Account"))) == 450
    one = client.query_one(soql("SELECT Id, Name FROM Account WHERE Name = {}", "Q001"))
    assert one is not None
    assert one["Name"] == "Q001"
    assert client.query_one(soql("SELECT Id FROM Account WHERE Name = {}", "x' OR Name != '")) is None
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert client.count("Account", "Name IN {} AND CreatedDate < {}", ["Q002", "Q003"], tomorrow) == 2


def test_relationship_query_and_search(client: Any) -> None:
    client.create("Account", {"Name": "Acme Rockets", "External_Id__c": "P1"})
    client.create("Contact", {"LastName": "Coyote", "Account": {"External_Id__c": "P1"}})
    row = client.query_one("SELECT Id, LastName, Account.Name FROM Contact")
    assert row is not None
    assert flatten(row)["Account.Name"] == "Acme Rockets"
    found = client.search("FIND {acme*} RETURNING Account(Name)")
    assert [r["Name"] for r in found] == ["Acme Rockets"]


def test_query_errors(client: Any) -> None:
    with pytest.raises(MalformedQueryError):
        client.query("SELECT Id FRM Account")
    with pytest.raises(InvalidFieldError):
        client.query("SELECT Bacon__c FROM Account")
    with pytest.raises(InvalidTypeError):
        client.query("SELECT Id FROM Foo__x")


@pytest.mark.parametrize("concurrency", [1, 3])
def test_composite_batches(client: Any, local_org: LocalOrg, concurrency: int) -> None:
    rows = [{"Name": f"C{i}", "External_Id__c": f"C{i}"} for i in range(401)]
    rows[200] = {"Phone": "no name"}
    created = client.create_batch("Account", rows, concurrency=concurrency)
    assert [r.index for r in created] == list(range(401))
    assert [r.index for r in created if not r.success] == [200]
    assert created[200].errors[0].code == "REQUIRED_FIELD_MISSING"
    ids = [r.id for r in created if r.success and r.id]
    updated = client.update_batch("Account", [{"Id": i, "Phone": "555"} for i in ids] + [{"Phone": "1"}])
    assert all(r.success for r in updated[:-1])
    assert updated[-1].errors[0].code == "MISSING_ID"
    upserted = client.upsert_batch(
        "Account",
        [{"External_Id__c": "C1", "Name": "C1b"}, {"External_Id__c": "NEW", "Name": "new"}],
        "External_Id__c",
    )
    assert [(r.success, r.created) for r in upserted] == [(True, False), (True, True)]
    deleted = client.delete_batch(ids, concurrency=concurrency)
    assert all(r.success for r in deleted)
    assert local_org.org.store.record_counts()["Account"] == 1


def test_all_or_none_rolls_back_the_chunk(client: Any, local_org: LocalOrg) -> None:
    results = client.create_batch("Account", [{"Name": "ok"}, {"Phone": "bad"}], all_or_none=True)
    assert not any(r.success for r in results)
    assert local_org.org.store.record_counts().get("Account", 0) == 0


def test_composite_batch_and_tree_requests(client: Any, local_org: LocalOrg) -> None:
    steps = [
        SubRequest("POST", "sobjects/Account", "acct", {"Name": "Acme"}),
        SubRequest("GET", "sobjects/Account/@{acct.id}", "read"),
    ]
    answers = client.composite(steps, all_or_none=True)
    assert [a.status for a in answers] == [201, 200]
    assert answers[1].body["Name"] == "Acme"
    batch = client.batch([SubRequest("GET", "limits"), SubRequest("GET", "sobjects/Nope__c/describe")])
    assert [b.ok for b in batch] == [True, False]
    done = client.tree("Account", [{"Name": "Parent", "Contacts": [{"LastName": "A"}, {"LastName": "B"}]}])
    assert done.ok
    assert len(done.ids) == 3
    refused = client.tree("Account", [{"Name": "P2", "Contacts": [{"FirstName": "no last name"}]}])
    assert not refused.ok
    assert refused.errors
    assert local_org.org.store.record_counts()["Contact"] == 2


def test_transient_errors_are_retried_the_same_way(client: Any, local_org: LocalOrg) -> None:
    client.count("Account")
    local_org.admin("faults", {"error_rate": 0.25, "seed": 7, "methods": ["GET"]})
    reads = [client.count("Account") for _ in range(10)]
    local_org.admin("faults", {})
    assert reads == [0] * 10
    assert local_org.org.faults.injected().get("error", 0) > 0


def test_expired_session_is_renewed(client: Any, local_org: LocalOrg) -> None:
    client.count("Account")
    local_org.admin("faults", {"session_ttl_seconds": 0.5})
    time.sleep(0.6)
    rid = client.create("Account", {"Name": "after expiry"})
    local_org.admin("faults", {})
    assert client.get("Account", rid)["Name"] == "after expiry"
    assert client.http.refresh_count >= 1


# ---------------------------------------------------------------------- Bulk API 2.0 and the router
FAST = PollPolicy(initial=0.02, maximum=0.05)


def outcomes(result: Any) -> list[tuple[Any, ...]]:
    """Every row of a ``BulkResult`` as (row number, status, created, error code, message, fields)."""
    rows = sorted(result, key=lambda r: r.row_number or 0)
    return [
        (r.row_number, r.status.value, r.created, r.error_code, r.error_message, r.error_fields) for r in rows
    ]


def shapes(events: list[Any]) -> dict[str, Any]:
    """The events' kinds and fields: each job's in order (repeated state changes counted once; jobs
    run in parallel, so their events interleave differently from run to run), then the load's own."""
    per_job: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    load: list[tuple[str, tuple[str, ...]]] = []
    for event in events:
        shape = (type(event).__name__, tuple(vars(event)))
        job_id = getattr(event, "job_id", None)
        seen = per_job.setdefault(job_id, []) if job_id is not None else load
        if not seen or seen[-1] != shape or shape[0] != "JobStateChanged":
            seen.append(shape)
    return {"jobs": sorted(per_job.values()), "load": load, "last": type(events[-1]).__name__}


def bulk_scenario(client: Any, tmp_path: Path) -> dict[str, Any]:
    """Insert, upsert, update, delete and hard-delete, each with a failing row; what a caller sees."""
    events: list[Any] = []
    rows: list[dict[str, Any]] = [{"Name": f"B{i}", "External_Id__c": f"B{i}"} for i in range(1, 13)]
    rows[3] = {"Phone": "no name", "External_Id__c": "B4"}  # Name is required: row 4 fails
    out = tmp_path / "results"
    seen: dict[str, Any] = {}
    with client.bulk.insert(
        "Account", rows, poll=FAST, on_event=events.append, results_dir=out, max_records_per_job=5
    ) as inserted:
        seen["insert"] = outcomes(inserted)
        seen["insert_jobs"] = len(inserted.job_ids)
        ids = {r.row_number: r.id for r in inserted.successful_rows()}
        seen["files"] = sorted(p.name.split("-", 2)[-1] for p in out.iterdir())
    seen["events"] = shapes(events)
    upsert_rows = [
        {"External_Id__c": "B1", "Name": "B1 renamed"},
        {"External_Id__c": "NEW1", "Name": "new"},
        {"External_Id__c": "NEW2", "Phone": "no name"},  # created without a Name: fails
    ]
    with client.bulk.upsert(
        "Account", upsert_rows, external_id_field="External_Id__c", poll=FAST
    ) as upserted:
        seen["upsert"] = outcomes(upserted)
    with client.bulk.update(
        "Account", [{"Id": ids[2], "Phone": None}, {"Name": "no id"}], poll=FAST
    ) as updated:
        seen["update"] = outcomes(updated)
    bogus = "001000000000000AAA"
    with client.bulk.delete("Account", [ids[5], bogus, ids[6]], poll=FAST) as deleted:
        seen["delete"] = outcomes(deleted)
    with client.bulk.hard_delete("Account", [ids[7], bogus], poll=FAST) as hard:
        seen["hard_delete"] = outcomes(hard)
    seen["names"] = sorted(r["Name"] for r in client.query("SELECT Name FROM Account"))
    return seen


def test_bulk_ingest_gives_both_clients_the_same_rows_errors_files_and_events(
    local_org: LocalOrg, tmp_path: Path
) -> None:
    seen = {}
    for kind in ("sync", "async"):
        local_org.admin("reset")
        opened = Opened(kind, local_org, tmp_path / kind)
        try:
            seen[kind] = bulk_scenario(opened.client, tmp_path / kind)
        finally:
            opened.close()
    sync, asyn = seen["sync"], seen["async"]
    assert sync == asyn
    assert sync["insert_jobs"] == 3  # 12 rows, 5 a job
    failed = [row for row in sync["insert"] if row[1] == "failed"]
    assert failed == [
        (4, "failed", None, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ("Name",))
    ]
    assert [row[0] for row in sync["insert"]] == list(range(1, 13))
    assert [(row[0], row[1], row[2]) for row in sync["upsert"]] == [
        (1, "success", False),
        (2, "success", True),
        (3, "failed", None),
    ]
    assert [(row[0], row[1]) for row in sync["update"]] == [(1, "success"), (2, "failed")]
    assert [(row[0], row[1]) for row in sync["delete"]] == [(1, "success"), (2, "failed"), (3, "success")]
    assert [row[0] for row in sync["hard_delete"]] == [1, 2]
    assert sync["files"] == ["failed-records.csv", "success-records.csv", "unprocessed-records.csv"]
    jobs = sync["events"]["jobs"]
    assert len(jobs) == 3
    for job in jobs:
        assert [name for name, _ in job][:3] == ["JobCreated", "RowsUploaded", "JobStateChanged"]
    assert {name for name, _ in sync["events"]["load"]} == {"ResultRowsWritten", "LoadDone"}
    assert sync["events"]["last"] == "LoadDone"


def test_bulk_query_to_a_file_and_row_by_row(client: Any, tmp_path: Path) -> None:
    made = client.create_batch("Account", [{"Name": f"R{i:03d}", "Phone": None} for i in range(45)])
    assert all(r.success for r in made)
    client.bulk.poll = FAST
    export = client.bulk.query(
        "SELECT Id, Name, Phone FROM Account", out=tmp_path / "out.csv", max_records=20
    )
    assert (export.rows, export.pages) == (45, 3)
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["Id", "Name", "Phone"]
    assert sorted(line[1] for line in lines[1:]) == [f"R{i:03d}" for i in range(45)]
    rows = list(client.bulk.query("SELECT Name, Phone FROM Account", max_records=20))
    assert sorted(r["Name"] for r in rows) == [f"R{i:03d}" for i in range(45)]
    assert {r["Phone"] for r in rows} == {None}
    client.delete("Account", made[0].id)
    deleted = list(client.bulk.query_all("SELECT Name, IsDeleted FROM Account WHERE IsDeleted = true"))
    assert deleted == [{"Name": "R000", "IsDeleted": "true"}]


def test_bulk_jobs_one_by_one(client: Any) -> None:
    bulk = client.bulk
    bulk.poll = FAST
    job = bulk.create_job("Account", "insert")
    assert job.state.value == "Open"
    bulk.upload_data(job.id, b"Name\nJ1\n\nJ3\n")
    assert bulk.close_job(job.id).state.value == "UploadComplete"
    done = bulk.wait(job.id)
    assert (done.state.value, done.records_processed) == ("JobComplete", 2)
    assert bulk.get_job(job.id).id == job.id
    assert job.id in {j.id for j in bulk.list_jobs()}
    with bulk.get_results(job.id) as result:
        assert (result.total, result.successful) == (2, 2)
    bulk.delete_job(job.id)
    other = bulk.create_job("Account", "insert")
    assert bulk.abort_job(other.id).state.value == "Aborted"
    with pytest.raises(NotFoundError):
        bulk.get_job("750000000000000AAA")


@pytest.mark.parametrize(
    ("count", "strategy"), [(2, "rest"), (40, "composite"), (300, "bulk")], ids=["rest", "composite", "bulk"]
)
def test_load_routes_the_same_way_on_both_clients(client: Any, count: int, strategy: str) -> None:
    rows = [{"LastName": f"L{i}"} for i in range(count)]
    rows[1] = {"FirstName": "no last name"}
    limits = Thresholds(rest_max_records=3, bulk_min_records=200)
    result = client.load("Contact", rows, thresholds=limits, poll=FAST)
    assert result.strategy.value == strategy
    assert result.reason.startswith(f"{count:,} records: ")
    assert (result.total, result.successful, result.failed, result.unprocessed) == (count, count - 1, 1, 0)
    failed = [o for o in result if o.status == "failed"]
    assert [(o.row_number, o.error_code) for o in failed] == [(2, "REQUIRED_FIELD_MISSING")]
    assert client.count("Contact") == count - 1


FRAME_SOQL = (
    "SELECT Id, LastName, Birthdate, HasOptedOutOfEmail, CreatedDate, "
    "Account.NumberOfEmployees, Account.Name FROM Contact ORDER BY LastName"
)


def frames_of(client: Any) -> dict[str, Any]:
    """The same query as pandas (typed and not) and polars DataFrames, and a query_all one."""
    client.bulk.poll = FAST
    return {
        "pandas": client.bulk.query(FRAME_SOQL, as_dataframe=True, max_records=2),
        "text": client.bulk.query(FRAME_SOQL, as_dataframe="pandas", typed=False),
        "polars": client.bulk.query(FRAME_SOQL, as_dataframe="polars"),
        "all": client.bulk.query_all("SELECT LastName, IsDeleted FROM Contact", as_dataframe="polars"),
        "empty": client.bulk.query("SELECT Id FROM Contact WHERE LastName = 'none'", as_dataframe=True),
    }


def test_bulk_query_as_dataframe_gives_both_clients_the_same_frames(
    local_org: LocalOrg, tmp_path: Path
) -> None:
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    seen = {}
    for kind in ("sync", "async"):
        opened = Opened(kind, local_org, tmp_path / kind)
        try:
            if kind == "sync":
                account = opened.client.create("Account", {"Name": "Acme", "NumberOfEmployees": 120})
                opened.client.create(
                    "Contact",
                    {
                        "LastName": "Ng",
                        "AccountId": account,
                        "Birthdate": "1990-05-01",
                        "HasOptedOutOfEmail": True,
                    },
                )
                opened.client.create("Contact", {"LastName": "Ortiz"})
                gone = opened.client.create("Contact", {"LastName": "Perez"})
                opened.client.delete("Contact", gone)
            seen[kind] = frames_of(opened.client)
        finally:
            opened.close()
    sync, asyn = seen["sync"], seen["async"]
    for name in ("pandas", "text", "empty"):
        assert isinstance(asyn[name], pd.DataFrame), name
        pd.testing.assert_frame_equal(sync[name], asyn[name])
    for name in ("polars", "all"):
        assert isinstance(asyn[name], pl.DataFrame), name
        assert sync[name].equals(asyn[name]), name
    frame = asyn["pandas"]
    assert str(frame["Account.NumberOfEmployees"].dtype) == "Int64"
    assert str(frame["CreatedDate"].dt.tz) == "UTC"
    assert list(frame["LastName"]) == ["Ng", "Ortiz"]
    assert asyn["text"].iloc[0]["HasOptedOutOfEmail"] == "true"
    assert dict(asyn["polars"].schema)["Birthdate"] == pl.Date
    assert sorted(asyn["all"]["LastName"].to_list()) == ["Ng", "Ortiz", "Perez"]
    assert asyn["empty"].empty


def test_async_bulk_query_without_the_frame_library_starts_no_job(
    local_org: LocalOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = Opened("async", local_org, tmp_path)
    try:
        monkeypatch.setitem(sys.modules, "polars", None)  # `import polars` now raises ImportError
        with pytest.raises(ImportError, match="as_dataframe needs polars, which is not installed"):
            opened.client.bulk.query("SELECT Id FROM Account", as_dataframe="polars")
        monkeypatch.undo()
        assert list(opened.client.bulk.list_jobs(kind="query")) == []
    finally:
        opened.close()


def test_a_misspelled_load_option_is_a_type_error_naming_it(client: Any, local_org: LocalOrg) -> None:
    for strategy in ("rest", "composite", "bulk", "auto"):
        with pytest.raises(TypeError, match=r"load\(\) got an unexpected keyword argument 'result_dir'"):
            client.load("Account", [{"Name": "A"}], strategy=strategy, result_dir="out")
    with pytest.raises(TypeError, match="unexpected keyword argument 'timout'"):
        client.smart_insert("Account", [{"Name": "A"}], timout=5)
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_jobs'"):
        client.bulk.insert("Account", [{"Name": "A"}], max_jobs=2)
    assert local_org.org.store.record_counts().get("Account", 0) == 0  # nothing was sent
