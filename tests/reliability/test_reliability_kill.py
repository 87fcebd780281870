"""Crashes: ``kinetic sync`` and ``kinetic load`` killed with SIGKILL at random points and resumed, and the
emulator itself killed and restarted during a load. Afterwards every source row is in the store exactly
once (rows reported in doubt are allowed to be absent, never to be duplicated), and the store's SQLite
passes ``PRAGMA integrity_check``."""

from __future__ import annotations

import csv
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from reliability_helpers import connect, store_keys

from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import KineticError

ROWS = 3_000


def _env(org: LocalOrg, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env.update(
        {
            "SF_LOGIN_URL": org.login_url,
            "SF_CLIENT_ID": org.client_id,
            "SF_CLIENT_SECRET": org.client_secret,
            "SF_USERNAME": org.username,
            "SF_PASSWORD": org.password,
            "KINETIC_HOME": str(home),
        }
    )
    return env


def _source(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["key", "name", "employees"])
        for i in range(rows):
            writer.writerow([f"K{i:05d}", f"Name, {i}", i % 1000])
    return path


def _kinetic(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kinetic_core.cli", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _kill_and_resume(
    first: list[str], again: list[str], env: dict[str, str], cwd: Path, kills: int, seed: int
) -> tuple[int, int, str]:
    """Start, SIGKILL after a random delay, restart with ``again``; ``kills`` times; then run to the end.

    Returns (kills done, final exit code, final stderr)."""
    rng = random.Random(seed)
    done = 0
    args = first
    for _ in range(kills):
        proc = _kinetic(args, env, cwd)
        time.sleep(rng.uniform(0.8, 2.2))  # a real child process: let it reach a random point
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            done += 1
        proc.wait(timeout=60)
        assert proc.stderr is not None
        proc.stderr.close()
        args = again
    proc = _kinetic(again, env, cwd)
    _, err = proc.communicate(timeout=240)
    return done, proc.returncode, err.decode("utf-8", "replace")


@pytest.fixture
def crash_org(tmp_path: Path) -> Iterator[LocalOrg]:
    with LocalOrg(data_dir=tmp_path / "org", shuffle_results=True, bulk_rate=1500.0) as org:
        org.admin("faults", {"latency_ms": 2, "latency_jitter_ms": 4, "seed": 1})
        yield org


def _failure_keys(root: Path, codes: tuple[str, ...]) -> set[str]:
    keys: set[str] = set()
    for path in root.rglob("*.csv"):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                text = " ".join(str(v) for v in row.values())
                if any(c in text for c in codes):
                    keys.add(str(row.get("key") or row.get("External_Id__c") or ""))
    return keys


def _check_exactly_once(org: LocalOrg, rows: int, in_doubt: set[str]) -> None:
    stored = store_keys(org, "Account", prefix="K")
    assert max(stored.values(), default=1) == 1, f"duplicated: {[k for k, n in stored.items() if n > 1][:5]}"
    missing = {f"K{i:05d}" for i in range(rows)} - set(stored)
    assert missing <= in_doubt, (
        f"{len(missing)} rows lost without being reported in doubt: {sorted(missing)[:5]}"
    )


@pytest.mark.parametrize(
    "kills", [pytest.param(3, id="3-kills"), pytest.param(10, id="10-kills", marks=pytest.mark.slow)]
)
def test_sync_bulk_insert_killed_and_resumed(crash_org: LocalOrg, tmp_path: Path, kills: int) -> None:
    _source(tmp_path / "src.csv", ROWS)
    (tmp_path / "p.yaml").write_text(
        "object: Account\noperation: insert\nstrategy: bulk\nsource: {path: src.csv}\n"
        "mapping: {fields: {External_Id__c: key, Name: name, NumberOfEmployees: employees}}\n"
        "batch: {size: 500, max_records_per_job: 250, concurrency: 2}\nfailures: {dir: failures}\n",
        encoding="utf-8",
    )
    env = _env(crash_org, tmp_path / "home")
    done, code, err = _kill_and_resume(
        ["sync", "p.yaml"], ["sync", "p.yaml", "--resume"], env, tmp_path, kills, seed=kills
    )
    assert code == 0, err[-2000:]
    assert done >= 1, "no run was killed: the load finished before the first kill"
    in_doubt = _failure_keys(tmp_path / "failures", ("IN_DOUBT",))
    print(f"sync insert: {done} SIGKILLs, {done} resumes, {len(in_doubt)} rows reported in doubt")
    _check_exactly_once(crash_org, ROWS, in_doubt)


@pytest.mark.parametrize(
    "kills", [pytest.param(3, id="3-kills"), pytest.param(10, id="10-kills", marks=pytest.mark.slow)]
)
def test_load_upsert_killed_and_rerun(crash_org: LocalOrg, tmp_path: Path, kills: int) -> None:
    path = tmp_path / "src.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["External_Id__c", "Name", "NumberOfEmployees"])
        for i in range(ROWS):
            writer.writerow([f"K{i:05d}", f"Name, {i}", i % 1000])
    env = _env(crash_org, tmp_path / "home")
    args = ["load", "Account", "src.csv", "--operation", "upsert", "--external-id", "External_Id__c"]
    args += ["--strategy", "bulk", "--results-dir", "results", "--json"]
    done, code, err = _kill_and_resume(args, args, env, tmp_path, kills, seed=100 + kills)
    assert code == 0, err[-2000:]
    assert done >= 1
    print(f"load upsert: {done} SIGKILLs, {done} re-runs")
    _check_exactly_once(crash_org, ROWS, set())
    store = crash_org.org.store
    with store.read() as conn:
        table = store.schema.get("Account").table  # type: ignore[union-attr]
        wrong = conn.execute(
            f"SELECT COUNT(*) FROM \"{table}\" WHERE external_id__c LIKE 'K%' AND "
            "name != 'Name, ' || CAST(CAST(substr(external_id__c, 2) AS INTEGER) AS TEXT)"
        ).fetchone()[0]
    assert wrong == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_emulator(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kinetic_core.cli",
            "emulator",
            "start",
            "--bulk-rate",
            "8000",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/services/data", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the emulator did not start")


class _Remote:
    """Enough of a LocalOrg for ``connect``: the credentials of a subprocess emulator."""

    def __init__(self, port: int) -> None:
        self.login_url = self.instance_url = f"http://127.0.0.1:{port}"
        self.client_id, self.client_secret = "kinetic-local-client", "kinetic-local-secret"
        self.username, self.password, self.api_version = "admin@kinetic.local", "kinetic", "62.0"

    def verify(self) -> bool:
        return True


def test_emulator_killed_and_restarted_during_a_load(tmp_path: Path) -> None:
    data_dir, port = tmp_path / "org", _free_port()
    rows = [{"Name": f"E{i}", "External_Id__c": f"E{i:05d}"} for i in range(20_000)]
    server = _start_emulator(data_dir, port)
    outcome: dict[str, Any] = {}
    try:
        client = connect(_Remote(port), sleep=lambda s: time.sleep(min(s, 0.2)))  # type: ignore[arg-type]
        with client:
            client.limits()

            def load() -> None:
                try:
                    res = client.bulk.upsert(
                        "Account", rows, external_id_field="External_Id__c", max_records_per_job=1000
                    )
                    outcome["first"] = res.summary()
                    res.close()
                except (KineticError, OSError) as exc:
                    outcome["error"] = f"{type(exc).__name__}: {exc}"

            worker = threading.Thread(target=load)
            worker.start()
            time.sleep(1.0)
            assert worker.is_alive(), f"the load finished before the emulator was killed: {outcome}"
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=30)
            server = _start_emulator(data_dir, port)
            worker.join(timeout=240)
            assert not worker.is_alive()
            result = client.bulk.upsert(
                "Account", rows, external_id_field="External_Id__c", max_records_per_job=5000
            )
            with result:
                assert (result.total, result.successful) == (20_000, 20_000), result
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    with sqlite3.connect(data_dir / "org.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        keys = [
            r[0]
            for r in conn.execute(
                "SELECT external_id__c FROM sobj_account WHERE isdeleted = 0 AND external_id__c LIKE 'E%'"
            )
        ]
    conn.close()
    assert len(keys) == len(set(keys)) == 20_000, outcome
