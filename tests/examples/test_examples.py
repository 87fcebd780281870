"""Every script under examples/ runs as it is against the embedded org and prints what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

EXPECTED = {
    "async_client.py": [
        "created 50 accounts concurrently",
        "read back: Async 00 +1 415 555 0100",
        "query: 50 energy accounts, first Async 00",
        "count: 51",
        "create_batch: 449 created, 1 failed",
        "composite: acct 201, check 200",
        "bulk upsert: 1199 ok, 1 failed in 3 jobs",
        "input row 42: REQUIRED_FIELD_MISSING",
        "bulk query: 1199 rows to bulk-accounts.csv, 1199 rows read, first Bulk 0001",
        "load: bulk, 3000 of 3000 saved",
        "after delete: ENTITY_IS_DELETED",
        "async_client: done",
    ],
    "rest_crud.py": [
        "read back: Acme +1 415 555 0100",
        "upsert created=True, then created=False, same id=True",
        "contacts of Acme: Ng, Okafor, Silva",
        "after delete: ENTITY_IS_DELETED",
        "rest_crud: done",
    ],
    "composite_batch.py": [
        "create_batch: 448 created, 2 failed",
        "record 7: REQUIRED_FIELD_MISSING",
        "upsert_batch: 10 inserted, 10 updated",
        "all_or_none: successes=0",
        "accounts left: 358",
    ],
    "composite_requests.py": [
        "composite: acct 201, boss 201, check 200",
        "contact's account is the new one: True",
        "rolled back: acct PROCESSING_HALTED, bad REQUIRED_FIELD_MISSING",
        "batch: [200, 200], DailyApiRequests max",
        "tree: ok=True, 5 records created",
        "accounts changed: 2, deleted: 1",
        "composite_requests: done",
    ],
    "bulk_load_export.py": [
        "load done: 2495 ok, 5 failed in 3 jobs",
        "input row 2500: REQUIRED_FIELD_MISSING",
        "-failed-records.csv",
        "exported 2495 rows to contacts.csv",
        "bulk_load_export: done",
    ],
    "field_mapper.py": [
        "'Account': {'External_Id__c': 'A-1'}",
        "mapping error: record 2, field Birthdate",
        "loaded 2 of 2 mapped contacts",
        "stored: Ada ada@example.com 2023-12-10 Analytical Engines",
    ],
    "smart_router.py": [
        "decide(50000): bulk",
        "load     2: composite",
        "load   300: composite ok=299 failed=1",
        "load  1500: bulk      ok=1499 failed=1 jobs=1",
        "101 created, 298 updated",  # through whichever API the router predicts faster here
    ],
    "sync_pipeline.py": [
        "nothing was written",
        "run: 3 loaded, 1 failed, errors {'REQUIRED_FIELD_MISSING': 1}",
        "3,failed,REQUIRED_FIELD_MISSING",
        "python pipeline: 1 loaded, 1 failed",
        "sync_pipeline: done",
    ],
}


def test_every_example_is_checked() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env["KINETIC_HOME"] = str(tmp_path / "kinetic-home")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for line in EXPECTED[name]:
        assert line in proc.stdout, f"{line!r} missing from the output of {name}:\n{proc.stdout}"
    # The examples keep to their own temporary homes: the Kinetic home given to them stays untouched.
    assert not (tmp_path / "kinetic-home").exists()
