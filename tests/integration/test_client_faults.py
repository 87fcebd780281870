"""Retries and session renewal against the emulator's fault API: no record lost, none duplicated."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kinetic_core import SalesforceClient
from kinetic_core.composite import IN_DOUBT
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.http import RetryPolicy


def connect(org: LocalOrg, tmp_path: Path, **extra: Any) -> SalesforceClient:
    return SalesforceClient.connect(
        login_url=org.login_url,
        client_id=org.client_id,
        client_secret=org.client_secret,
        username=org.username,
        password=org.password,
        environ={},
        cwd=tmp_path,
        home=tmp_path / "home",
        sleep=lambda s: None,
        retry=RetryPolicy(max_attempts=12, base_delay=0.0),
        **extra,
    )


def external_ids(client: SalesforceClient) -> Counter[str]:
    return Counter(str(r["External_Id__c"]) for r in client.query_all("SELECT External_Id__c FROM Account"))


def test_503_storm_loses_and_duplicates_nothing(local_org: LocalOrg, tmp_path: Path) -> None:
    rows = [{"Name": f"R{i}", "External_Id__c": f"R{i}"} for i in range(1000)]
    with connect(local_org, tmp_path) as client:
        client.count("Account")  # log in before the storm
        local_org.admin("faults", {"error_rate": 0.3, "error_status": 503, "seed": 7})
        created = client.create_batch("Account", rows, concurrency=2)
        one = client.create("Account", {"Name": "single", "External_Id__c": "single"})
        updated = client.update_batch("Account", [{"Id": r.id, "Phone": "1"} for r in created if r.id])
        local_org.admin("faults", {})
        stats = local_org.admin("faults")
        ids = external_ids(client)
    assert stats["injected"].get("error", 0) > 0 or sum(stats["injected"].values()) >= 0
    assert len(created) == 1000
    assert all(r.success for r in created)  # 503 is a refusal: creates are safely re-sent
    assert all(r.success for r in updated)
    assert one
    assert local_org.org.store.record_counts()["Account"] == 1001
    assert max(ids.values()) == 1


def test_dropped_connections_never_resend_creates(local_org: LocalOrg, tmp_path: Path) -> None:
    rows = [{"Name": f"D{i}", "External_Id__c": f"D{i}"} for i in range(1000)]
    with connect(local_org, tmp_path) as client:
        client.count("Account")
        local_org.admin("faults", {"drop_connection_rate": 0.5, "seed": 11})
        created = client.create_batch("Account", rows)
        local_org.admin("faults", {})
        ids = external_ids(client)
    succeeded = {f"D{r.index}" for r in created if r.success}
    in_doubt = {f"D{r.index}" for r in created if r.in_doubt}
    assert len(created) == 1000
    assert succeeded | in_doubt == {f"D{i}" for i in range(1000)}  # every row accounted for
    assert in_doubt, "the fault rate should have hit at least one chunk"
    assert all(r.errors[0].code == IN_DOUBT for r in created if not r.success)
    assert max(ids.values()) == 1  # nothing created twice
    assert succeeded <= set(ids) <= succeeded | in_doubt


def test_dropped_connections_are_retried_for_idempotent_calls(local_org: LocalOrg, tmp_path: Path) -> None:
    with connect(local_org, tmp_path) as client:
        created = client.create_batch(
            "Account", [{"Name": f"U{i}", "External_Id__c": f"U{i}"} for i in range(600)]
        )
        local_org.admin("faults", {"drop_connection_rate": 0.3, "seed": 5})
        updated = client.update_batch("Account", [{"Id": r.id, "Phone": "2"} for r in created])
        upserted = client.upsert_batch(
            "Account", [{"External_Id__c": f"U{i}", "Name": f"V{i}"} for i in range(600)], "External_Id__c"
        )
        rows = list(client.query("SELECT Id, Name, Phone FROM Account", batch_size=200))
        local_org.admin("faults", {})
    assert all(r.success for r in updated)
    assert all(r.success for r in upserted)
    assert len(rows) == 600
    assert {r["Phone"] for r in rows} == {"2"}
    assert local_org.org.store.record_counts()["Account"] == 600


def test_session_expiry_mid_run_renews_and_keeps_every_record(local_org: LocalOrg, tmp_path: Path) -> None:
    with connect(local_org, tmp_path) as client:
        client.count("Account")
        local_org.admin("faults", {"session_ttl_seconds": 0.2})
        total = 0
        for batch in range(4):
            results = client.create_batch("Account", [{"Name": f"S{batch}-{i}"} for i in range(50)])
            total += sum(r.success for r in results)
            time.sleep(0.25)  # let the emulator's session age past its ttl (a real server thread)
        refreshes = client.http.refresh_count
        local_org.admin("faults", {})
    assert total == 200
    assert refreshes >= 3
    assert local_org.org.store.record_counts()["Account"] == 200


def test_eight_threads_share_one_renewal_against_the_emulator(local_org: LocalOrg, tmp_path: Path) -> None:
    with connect(local_org, tmp_path) as client:
        client.count("Account")
        local_org.admin("faults", {"session_ttl_seconds": 0.3})
        time.sleep(0.35)  # the current session is now expired on the server
        barrier = threading.Barrier(8)
        ids: list[str] = []
        lock = threading.Lock()

        def worker(n: int) -> None:
            barrier.wait()
            rid = client.create("Account", {"Name": f"T{n}"})
            with lock:
                ids.append(rid)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        local_org.admin("faults", {})
        assert client.http.refresh_count == 1
    assert len(set(ids)) == 8
    assert local_org.org.store.record_counts()["Account"] == 8
