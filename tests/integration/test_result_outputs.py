"""Bulk result files and job manifests against the emulator: a results dir checked before sending, a
late write failure that names the jobs and keeps their manifests, and one process at a time per manifest."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kinetic_core.auth.flows import PasswordAuth
from kinetic_core.bulk import BulkClient, PollPolicy, RowStatus
from kinetic_core.bulk.events import BulkEvent, JobCreated
from kinetic_core.client import SalesforceClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import OutputNotWritableError, ResultsNotSavedError, RunLockedError
from kinetic_core.http.session import HttpSession
from kinetic_core.load import load as load_records

FAST = PollPolicy(initial=0.02, maximum=0.1)


@pytest.fixture
def client(local_org: LocalOrg) -> Iterator[SalesforceClient]:
    auth = PasswordAuth(
        local_org.login_url,
        local_org.client_id,
        local_org.client_secret,
        local_org.username,
        local_org.password,
    )
    with SalesforceClient(HttpSession(auth, api_version=local_org.api_version)) as sf:
        yield sf


def _rows(count: int) -> list[dict[str, Any]]:
    return [{"Name": f"Row {n}" if n % 10 else None, "AccountNumber": f"N{n}"} for n in range(1, count + 1)]


@pytest.mark.parametrize("strategy", ["rest", "composite", "bulk"])
def test_router_checks_the_results_dir_first_for_every_strategy(
    client: SalesforceClient, tmp_path: Path, strategy: str
) -> None:
    results = tmp_path / "results"
    results.write_text("", encoding="utf-8")
    with pytest.raises(OutputNotWritableError, match="nothing was sent"):
        load_records(client, "Account", _rows(5), strategy=strategy, results_dir=results)
    assert client.count("Account") == 0


def test_bulk_result_files_failing_after_the_load_name_the_jobs_and_keep_their_manifests(
    client: SalesforceClient, tmp_path: Path
) -> None:
    state, out = tmp_path / "state", tmp_path / "out"
    bulk = BulkClient(client, poll=FAST, state_dir=state)

    def take_the_dir_away(event: BulkEvent) -> None:
        if isinstance(event, JobCreated) and out.is_dir():
            shutil.rmtree(out)  # it passed the check at the start
            out.write_text("now a file\n", encoding="utf-8")

    with pytest.raises(ResultsNotSavedError) as stopped:
        bulk.insert(
            "Account", _rows(120), max_records_per_job=50, results_dir=out, on_event=take_the_dir_away
        )
    err = stopped.value
    assert len(err.job_ids) == 3
    assert err.counts == {"total": 120, "successful": 108, "failed": 12, "unprocessed": 0}
    for job_id in err.job_ids:
        assert f"kinetic jobs results {job_id} --results-dir" in str(err)
    assert "do not load the rows again" in str(err)
    assert client.count("Account") == 108
    assert sorted(p.name for p in state.iterdir()) == sorted(
        f"{j}.{ext}" for j in err.job_ids for ext in ("csv", "json")
    )
    again = tmp_path / "again"
    numbers: list[int] = []
    for job_id in err.job_ids:  # the documented next step: results with input row numbers, nothing sent
        with bulk.get_results(job_id, results_dir=again) as result:
            for row in result:
                assert row.row_number is not None
                numbers.append(row.row_number)
                assert (row.status is RowStatus.FAILED) == (row.row_number % 10 == 0)
    assert sorted(numbers) == list(range(1, 121))
    assert client.count("Account") == 108
    assert not state.exists()  # read and closed: manifests, spools, locks and the dir made for them are gone


HOLDER = textwrap.dedent(
    """
    import os, sys, time
    from kinetic_core.auth.flows import PasswordAuth
    from kinetic_core.bulk import BulkClient
    from kinetic_core.http.session import HttpSession
    from kinetic_core.client import SalesforceClient

    env = os.environ
    auth = PasswordAuth(env["T_LOGIN"], env["T_ID"], env["T_SECRET"], env["T_USER"], env["T_PASSWORD"])
    with SalesforceClient(HttpSession(auth)) as client:
        result = BulkClient(client, state_dir=sys.argv[1]).get_results(sys.argv[2])
        print("held", flush=True)
        time.sleep(120)
    """
)


def test_one_process_at_a_time_reads_a_job_manifest_and_a_dead_holder_is_taken_over(
    local_org: LocalOrg, client: SalesforceClient, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    bulk = BulkClient(client, poll=FAST, state_dir=state)
    loaded = bulk.insert("Account", _rows(30))
    job_id = loaded.job_ids[0]
    loaded.keep_manifests()
    with pytest.raises(
        RunLockedError, match=f"bulk job {job_id} is in use by another run: pid {os.getpid()}"
    ):
        BulkClient(client, state_dir=state).get_results(job_id)  # another client: the load still holds it
    loaded.close()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SF_")},
        "T_LOGIN": local_org.login_url,
        "T_ID": local_org.client_id,
        "T_SECRET": local_org.client_secret,
        "T_USER": local_org.username,
        "T_PASSWORD": local_org.password,
    }
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(state), job_id], env=env, stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "held"
            with pytest.raises(RunLockedError) as refused:
                bulk.get_results(job_id)
            assert (refused.value.pid, refused.value.host) == (child.pid, socket.gethostname())
            assert f"reading the results of bulk job {job_id}" in str(refused.value)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
    with bulk.get_results(job_id) as result:  # the killed reader's lock is free again
        assert sorted(r.row_number for r in result if r.row_number is not None) == list(range(1, 31))
    assert client.count("Account") == 27
