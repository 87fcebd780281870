"""Bulk jobs left running by a timed-out load, resumed from another process against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinetic_core.auth.flows import PasswordAuth
from kinetic_core.bulk import BulkClient, PollPolicy, RowStatus
from kinetic_core.client import SalesforceClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import BulkTimeoutError
from kinetic_core.http.session import HttpSession

FAST = PollPolicy(initial=0.02, maximum=0.1)

CHILD = textwrap.dedent(
    """
    import json, os, sys
    from kinetic_core.auth.flows import PasswordAuth
    from kinetic_core.bulk import BulkClient, PollPolicy
    from kinetic_core.http.session import HttpSession
    from kinetic_core.client import SalesforceClient

    env = os.environ
    auth = PasswordAuth(env["T_LOGIN"], env["T_ID"], env["T_SECRET"], env["T_USER"], env["T_PASSWORD"])
    with SalesforceClient(HttpSession(auth, api_version=env["T_VERSION"])) as client:
        bulk = BulkClient(client, poll=PollPolicy(initial=0.02, maximum=0.1), state_dir=sys.argv[1])
        out = []
        for job_id in sys.argv[2:]:
            state = bulk.wait(job_id, timeout=60).state.value
            with bulk.get_results(job_id) as result:
                for r in result:
                    out.append([job_id, state, r.row_number, r.status.value, r.record.get("Name"),
                                r.record.get("Phone"), r.error_code, r.id])
        print(json.dumps(out))
    """
)


@pytest.fixture
def org(tmp_path: Path) -> Iterator[LocalOrg]:
    with LocalOrg(
        data_dir=tmp_path / "org", shuffle_results=True, bulk_rate=400, bulk_job_delay_seconds=2.0
    ) as running:
        yield running


@pytest.fixture
def client(org: LocalOrg) -> Iterator[SalesforceClient]:
    auth = PasswordAuth(org.login_url, org.client_id, org.client_secret, org.username, org.password)
    sf = SalesforceClient(HttpSession(auth, api_version=org.api_version, sleep=lambda s: None))
    try:
        yield sf
    finally:
        sf.close()


def input_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"Name": f"Resume {i}", "Phone": str(i)} for i in range(1, 121)]
    for i in (5, 6, 50, 51, 110):  # identical rows, within and across jobs
        rows[i - 1] = {"Name": "Twin", "Phone": "42"}
    for i in (7, 77, 120):  # Name is required: these rows fail
        rows[i - 1] = {"Name": None, "Phone": str(i)}
    return rows


def timed_out_load(client: SalesforceClient, state: Path, records: Any) -> list[str]:
    bulk = BulkClient(client, poll=FAST, state_dir=state)
    with pytest.raises(BulkTimeoutError) as info:
        bulk.insert("Account", records, max_records_per_job=50, timeout=1.0)
    ids = list(info.value.job_ids)
    assert ids
    assert all(j in str(info.value) for j in ids)
    return ids


def test_another_process_resumes_and_numbers_every_row(
    org: LocalOrg, client: SalesforceClient, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    rows = input_rows()
    job_ids = timed_out_load(client, state, rows)
    assert len(job_ids) == 3
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SF_")},
        "KINETIC_HOME": str(tmp_path / "home"),
        "T_LOGIN": org.login_url,
        "T_ID": org.client_id,
        "T_SECRET": org.client_secret,
        "T_USER": org.username,
        "T_PASSWORD": org.password,
        "T_VERSION": org.api_version,
    }
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(state), *job_ids],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert {o[1] for o in out} == {"JobComplete"}
    by_row = {o[2]: o for o in out}
    assert len(out) == len(by_row) == 120
    assert sorted(by_row) == list(range(1, 121))
    for number, (_, _, _, status, name, phone, code, record_id) in by_row.items():
        expected = rows[number - 1]
        assert phone == expected["Phone"]
        if expected["Name"] is None:
            assert (status, code, record_id) == (RowStatus.FAILED.value, "REQUIRED_FIELD_MISSING", None)
        else:
            assert (status, name) == (RowStatus.SUCCESS.value, expected["Name"])
            assert record_id
            assert record_id.startswith("001")
    assert {n for n, o in by_row.items() if o[4] == "Twin"} == {5, 6, 50, 51, 110}
    # the child read and closed every result: nothing is left behind
    assert list(state.iterdir()) == []


def test_csv_file_load_resumed_in_a_new_client_and_manifests_hold_no_secrets(
    org: LocalOrg, client: SalesforceClient, tmp_path: Path
) -> None:
    source = tmp_path / "accounts.csv"
    body = "".join(f'"Resume, {i}",{i}\r\n' if i % 9 else f",{i}\r\n" for i in range(1, 101))
    source.write_bytes(("Name,Phone\r\n" + body).encode())
    state = tmp_path / "state"
    job_ids = timed_out_load(client, state, source)
    assert len(job_ids) == 2
    secrets = [org.password, org.client_secret, client.http.token.access_token]
    for path in state.iterdir():
        text = path.read_text(encoding="utf-8")
        assert all(secret not in text for secret in secrets), path.name
        assert json.loads(text)["org"] == org.instance_url.rstrip("/")
    other = BulkClient(client, poll=FAST, state_dir=state)
    seen: dict[int, Any] = {}
    for job_id in job_ids:
        other.wait(job_id, timeout=60)
        with other.get_results(job_id, results_dir=tmp_path / "out") as result:
            for r in result:
                assert r.row_number not in seen
                seen[r.row_number] = r
    assert sorted(seen) == list(range(1, 101))
    for number, r in seen.items():
        assert r.record["Phone"] == str(number)
        if number % 9:
            assert r.status is RowStatus.SUCCESS
            assert r.record["Name"] == f"Resume, {number}"
        else:
            assert r.status is RowStatus.FAILED
            assert r.error_code == "REQUIRED_FIELD_MISSING"
    written = (tmp_path / "out" / f"{job_ids[1]}-success-records.csv").read_text(encoding="utf-8")
    assert written.splitlines()[0].endswith("kc__RowNumber")
