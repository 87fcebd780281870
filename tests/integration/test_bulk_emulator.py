"""BulkClient and the router against the real emulator (shuffled result files, faults, paging)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kinetic_core.auth.flows import PasswordAuth
from kinetic_core.bulk import BulkClient, JobState, PollPolicy
from kinetic_core.client import SalesforceClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import ApiError
from kinetic_core.http.session import HttpSession
from kinetic_core.load import Strategy, Thresholds, load

FAST = PollPolicy(initial=0.02, maximum=0.1)


@pytest.fixture
def org(tmp_path: Path) -> Iterator[LocalOrg]:
    with LocalOrg(data_dir=tmp_path / "org", shuffle_results=True, query_page_size=40) as running:
        yield running


@pytest.fixture
def client(org: LocalOrg) -> Iterator[SalesforceClient]:
    auth = PasswordAuth(org.login_url, org.client_id, org.client_secret, org.username, org.password)
    session = HttpSession(auth, api_version=org.api_version, sleep=lambda s: None)
    sf = SalesforceClient(session)
    try:
        yield sf
    finally:
        sf.close()


@pytest.fixture
def bulk(client: SalesforceClient) -> BulkClient:
    return BulkClient(client, poll=FAST)


def faults(org: LocalOrg, **config: Any) -> None:
    response = httpx.post(
        f"{org.instance_url}/_emulator/faults", json=config, headers=org.admin_headers, timeout=10
    )
    assert response.status_code == 200, response.text


def test_insert_update_upsert_delete_round_trip(bulk: BulkClient, client: SalesforceClient) -> None:
    rows: list[dict[str, Any]] = [
        {"Name": f"Acme {i}", "External_Id__c": f"E{i}", "Phone": "555"} for i in range(1, 31)
    ]
    rows.append({"Name": None, "External_Id__c": "E-bad"})  # Name is required: this row fails
    rows.append({"Name": "Acme 1", "External_Id__c": "E-dup-name"})  # duplicate Name is fine
    inserted = bulk.insert("Account", rows)
    assert (inserted.total, inserted.successful, inserted.failed, inserted.unprocessed) == (32, 31, 1, 0)
    (bad,) = inserted.failed_rows()
    assert bad.row_number == 31
    assert bad.error_code == "REQUIRED_FIELD_MISSING"
    ids = {r.row_number: r.id for r in inserted.successful_rows()}
    assert sorted(ids) == [*range(1, 31), 32]
    assert all(r.created for r in inserted.successful_rows())
    # the id of row n really is the record named "Acme n"
    for n in (1, 17, 30):
        assert client.get("Account", str(ids[n]), fields=["Name"])["Name"] == f"Acme {n}"

    updated = bulk.update("Account", [{"Id": ids[n], "Phone": None} for n in range(1, 11)])
    assert updated.successful == 10
    assert not any(r.created for r in updated.successful_rows())
    assert client.get("Account", str(ids[3]), fields=["Phone"])["Phone"] is None
    assert client.get("Account", str(ids[13]), fields=["Phone"])["Phone"] == "555"  # untouched

    upserted = bulk.upsert(
        "Account",
        [{"External_Id__c": "E1", "Name": "Renamed"}, {"External_Id__c": "E-new", "Name": "New"}],
        external_id_field="External_Id__c",
    )
    created = {r.row_number: r.created for r in upserted.successful_rows()}
    assert created == {1: False, 2: True}

    deleted = bulk.delete("Account", [ids[n] for n in range(1, 6)])
    assert deleted.successful == 5
    hard = bulk.hard_delete("Account", [ids[n] for n in range(6, 8)])
    assert hard.total == 2
    assert hard.successful + hard.failed == 2
    for result in (inserted, updated, upserted, deleted, hard):
        result.close()


def test_parallel_jobs_with_shuffled_duplicates(bulk: BulkClient, tmp_path: Path) -> None:
    rows = [{"Name": f"Dup {i % 5}", "Phone": None if i % 7 == 0 else str(i % 3)} for i in range(200)]
    rows[50] = {"Name": None}
    rows[150] = {"Name": None}
    result = bulk.insert("Account", rows, max_bytes_per_job=400, max_concurrent_jobs=4, results_dir=tmp_path)
    assert len(result.job_ids) > 3
    assert (result.total, result.successful, result.failed, result.unprocessed) == (200, 198, 2, 0)
    assert [r.row_number for r in result.failed_rows()] == [51, 151]
    numbers = sorted(r.row_number or 0 for r in result)
    assert numbers == list(range(1, 201))
    for r in result.successful_rows():
        original = rows[(r.row_number or 0) - 1]
        assert r.record["Name"] == original["Name"]
    assert len(list(tmp_path.glob("load-*-success-records.csv"))) == 1
    result.close()


def test_csv_file_upsert_with_crlf_and_pipe(bulk: BulkClient, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    lines = ["External_Id__c|Name|Description"] + [
        f'X{i}|"Name {i}"|"line one\r\nline | two"' for i in range(25)
    ]
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    result = bulk.upsert("Account", path, external_id_field="External_Id__c", max_bytes_per_job=600)
    assert len(result.job_ids) > 1
    assert result.successful == 25
    assert [r.row_number for r in result.successful_rows()] == list(range(1, 26))
    first = next(iter(bulk.query("SELECT Description FROM Account WHERE External_Id__c = 'X3'")))
    assert first["Description"] == "line one\r\nline | two"
    result.close()


def test_session_expiry_and_503s_during_a_load(
    org: LocalOrg, bulk: BulkClient, client: SalesforceClient
) -> None:
    # Sessions live 0.5 s: longer than any single call takes on a loaded machine (a session is checked when
    # the emulator handles the call, so a lifetime shorter than one call would refuse even a session renewed
    # just before sending). The client's session is already older than that when the load starts, and a
    # job still running at a status check waits longer than a session lives before the next one.
    client.limits()
    faults(org, seed=11, error_rate=0.15, error_status=503, session_ttl_seconds=0.5)
    time.sleep(0.6)
    rows = [{"Name": f"Faulty {i}"} for i in range(120)]
    slow = PollPolicy(initial=0.6, maximum=0.8)
    result = bulk.insert("Account", rows, max_records_per_job=30, max_concurrent_jobs=2, poll=slow)
    injected = org.admin("faults")["injected"]
    faults(org)
    assert injected.get("error", 0) > 0, injected
    assert injected.get("session_expired", 0) > 0, injected
    assert client.http.refresh_count >= 1
    assert result.total == 120
    assert result.successful + result.failed + result.unprocessed == 120
    assert result.successful == 120
    result.close()


def test_query_pages_to_iterator_file_and_dataframe(bulk: BulkClient, tmp_path: Path) -> None:
    bulk.insert("Account", [{"Name": f"Q{i:03d}", "NumberOfEmployees": i} for i in range(130)]).close()
    soql = "SELECT Id, Name, NumberOfEmployees FROM Account"
    records = list(bulk.query(soql))
    assert len(records) == 130
    assert {r["Name"] for r in records} == {f"Q{i:03d}" for i in range(130)}
    export = bulk.query(soql, out=tmp_path / "out.csv")
    assert export.rows == 130
    assert export.pages == 4
    assert len((tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()) == 131
    pd = pytest.importorskip("pandas")
    frame = bulk.query(soql, as_dataframe=True, max_records=25)
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 130
    assert list(frame.columns) == ["Id", "Name", "NumberOfEmployees"]


def test_resume_a_job_from_another_client(bulk: BulkClient, client: SalesforceClient) -> None:
    job = bulk.create_job("Account", "insert")
    bulk.upload_data(job.id, b"Name\nResumed 1\nResumed 2\n")
    bulk.close_job(job.id)
    other = BulkClient(client, poll=FAST)
    assert other.wait(job.id).state is JobState.JOB_COMPLETE
    result = other.get_results(job.id)
    assert result.successful == 2
    assert {r.record["Name"] for r in result.successful_rows()} == {"Resumed 1", "Resumed 2"}
    result.close()
    assert job.id in {j.id for j in other.list_jobs()}


def test_unknown_object_raises(bulk: BulkClient) -> None:
    with pytest.raises(ApiError):
        bulk.insert("NoSuchObject__c", [{"Name": "x"}])


def test_router_strategies_against_the_emulator(client: SalesforceClient) -> None:
    t = Thresholds(rest_max_records=3, bulk_min_records=50)
    few = load(client, "Contact", [{"LastName": "One"}], thresholds=t)
    some = load(client, "Contact", [{"LastName": f"L{i}"} for i in range(20)], thresholds=t)
    many = load(client, "Contact", ({"LastName": f"B{i}"} for i in range(120)), thresholds=t, poll=FAST)
    assert [few.strategy, some.strategy, many.strategy] == [Strategy.REST, Strategy.COMPOSITE, Strategy.BULK]
    for result, n in ((few, 1), (some, 20), (many, 120)):
        assert (result.total, result.successful) == (n, n)
        assert [o.row_number for o in result] == list(range(1, n + 1))
    many.close()
