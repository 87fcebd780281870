"""Settling the batch in flight at a crash: the cost grows with the rows, not with their square."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kinetic_core import FieldMapper, SalesforceClient
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.pipeline import SyncPipeline, recover
from kinetic_core.router import Thresholds

FAST = PollPolicy(initial=0.02, maximum=0.1)


class Crash(BaseException):
    """Stands for the process dying at a journal step."""


def _crash_at(step: str, after: int = 1) -> Any:
    seen = Counter[str]()

    def checkpoint(name: str) -> None:
        seen[name] += 1
        if name == step and seen[name] == after:
            raise Crash(name)

    return checkpoint


def _refs(client: SalesforceClient) -> Counter[str]:
    return Counter(str(r["External_Id__c"]) for r in client.query("SELECT External_Id__c FROM Account"))


def test_bulk_recovery_encodes_each_row_once_per_column_set(
    client: SalesforceClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = 1500
    source = tmp_path / "a.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["company", "ref"])
        for n in range(1, rows + 1):
            writer.writerow([f'Company "{n}",\nline two é' if n % 7 == 0 else f"Company {n}", f"R{n:05d}"])
    mapper = FieldMapper.from_dict({"fields": {"Name": "company", "External_Id__c": "ref"}})
    kwargs: dict[str, Any] = {
        "mapper": mapper,
        "failure_dir": tmp_path / "f",
        "strategy": "bulk",
        "batch_size": rows,
        "max_records_per_job": 500,
        "poll": FAST,
        "thresholds": Thresholds(),
    }
    with pytest.raises(Crash):
        SyncPipeline(client, "Account", checkpoint=_crash_at("batch_sent"), **kwargs).run(source)
    calls = Counter[str]()
    real = recover.encode_record

    def counting(record: Any) -> dict[str, str]:
        calls["encode"] += 1
        return real(record)

    monkeypatch.setattr(recover, "encode_record", counting)
    report = SyncPipeline(client, "Account", **kwargs).run(source, resume=True)
    assert (report.rows, report.successful, report.recovered_batches) == (rows, rows, 1)
    # three jobs share one column set: one index over the batch, not one per result row
    assert 0 < calls["encode"] <= rows
    refs = _refs(client)
    assert len(refs) == rows
    assert max(refs.values()) == 1
