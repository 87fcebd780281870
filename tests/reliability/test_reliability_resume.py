"""``kinetic sync`` at its default batch settings, SIGKILLed in the middle of a Bulk batch and of a Composite
batch (right after ``batch_sent``: the rows reached the org, the journal does not know their outcome), then
resumed: every source row is stored exactly once with its values and nothing is reported in doubt.

The source is realistic rather than tidy (quoted line breaks, quotes, commas, non-ASCII text, empty
cells). The 100,000-row versions are the slow suite's; a 1,500-row version of each runs by default.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from kinetic_core.emulator.server import LocalOrg

PIPELINE = """\
name: accounts
object: Account
operation: insert
strategy: {strategy}
source: {{path: accounts.csv}}
mapping:
  fields:
    External_Id__c: ref
    Name: name
    Description: description
    Phone: phone
    NumberOfEmployees: employees
    BillingCity: city
failures: {{dir: failures}}
"""
CITIES = ("Zürich", "São Paulo", "Łódź", "Malmö", "Osaka 大阪")


def _row(i: int) -> dict[str, str]:
    return {
        "ref": f"R{i:07d}",
        "name": f'Müller & Söhne "No. {i}", GmbH' if i % 5 == 0 else f"Account {i}",
        "description": f'one {i}\ntwo, "quoted"\r\nthree: café ✓' if i % 3 == 0 else f"plain {i}",
        "phone": "" if i % 4 == 0 else f"+41 44 {i % 1000:03d} {i % 100:02d}",
        "employees": "" if i % 6 == 0 else str(i % 5000),
        "city": CITIES[i % len(CITIES)],
    }


def _env(org: LocalOrg, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_") and k != "KINETIC_TEST_CRASH_AT"}
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


def _sync(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kinetic_core.cli", "sync", "pipe.yaml", "--json", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _kill_and_resume(tmp_path: Path, strategy: str, rows: int, crash: str) -> None:
    with (tmp_path / "accounts.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(_row(0)), lineterminator="\n")
        writer.writeheader()
        writer.writerows(_row(i) for i in range(rows))
    (tmp_path / "pipe.yaml").write_text(PIPELINE.format(strategy=strategy), encoding="utf-8")
    with LocalOrg(data_dir=tmp_path / "org") as org:
        env = _env(org, tmp_path / "home")
        killed = _sync(tmp_path, {**env, "KINETIC_TEST_CRASH_AT": crash})
        assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
        resumed = _sync(tmp_path, env, "--resume")
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        report = json.loads(resumed.stdout)
        assert report["resumed"] is True
        assert report["recovered_batches"] == 1
        assert (report["rows"], report["successful"], report["in_doubt"]) == (rows, rows, 0)
        assert report["strategies"] == {strategy: rows}
        store = org.org.store
        table = store.schema.get("Account").table  # type: ignore[union-attr]
        seen: Counter[str] = Counter()
        wrong: list[str] = []
        with store.read() as conn:
            query = f'SELECT external_id__c, name, description FROM "{table}" WHERE isdeleted = 0'
            for key, name, description in conn.execute(query):
                seen[str(key)] += 1
                expected = _row(int(str(key)[1:]))
                text = expected["description"].replace("\r\n", "\n")
                if name != expected["name"] or (description or "").replace("\r\n", "\n") != text:
                    wrong.append(str(key))
    duplicates = [k for k, n in seen.items() if n > 1]
    losses = {f"R{i:07d}" for i in range(rows)} - set(seen)
    print(f"{strategy} {rows} rows killed at {crash}: {len(duplicates)} duplicates, {len(losses)} losses")
    assert not duplicates, duplicates[:5]
    assert not losses, sorted(losses)[:5]
    assert not wrong, wrong[:5]


@pytest.mark.parametrize(
    ("rows", "crash"),
    [
        pytest.param(1_500, "batch_sent:1", id="1500"),
        pytest.param(100_000, "batch_sent:5", id="100k", marks=[pytest.mark.slow, pytest.mark.timeout(900)]),
    ],
)
def test_sync_killed_during_a_bulk_batch_then_resumed(tmp_path: Path, rows: int, crash: str) -> None:
    _kill_and_resume(tmp_path, "bulk", rows, crash)


@pytest.mark.parametrize(
    ("rows", "crash"),
    [
        pytest.param(1_500, "batch_sent:4", id="1500"),
        pytest.param(
            100_000, "batch_sent:250", id="100k", marks=[pytest.mark.slow, pytest.mark.timeout(900)]
        ),
    ],
)
def test_sync_killed_during_a_composite_batch_then_resumed(tmp_path: Path, rows: int, crash: str) -> None:
    _kill_and_resume(tmp_path, "composite", rows, crash)
