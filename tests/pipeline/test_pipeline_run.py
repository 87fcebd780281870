"""SyncPipeline against a running emulator: strategies, failures, callbacks, dry run, resume."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kinetic_core import FieldMapper, SalesforceClient
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.errors import ConfigError
from kinetic_core.load import Thresholds
from kinetic_core.pipeline import BatchSummary, RecordError, SyncPipeline

FAST = PollPolicy(initial=0.02, maximum=0.1)


def _accounts_csv(path: Path, count: int, *, bad: tuple[int, ...] = ()) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["company", "ref", "staff"])
        for n in range(1, count + 1):
            writer.writerow(["" if n in bad else f"Company {n}", f"R{n:05d}", "many" if n == 2 else str(n)])
    return path


def _mapper() -> FieldMapper:
    return FieldMapper.from_dict(
        {
            "fields": {
                "Name": "company",
                "External_Id__c": "ref",
                "NumberOfEmployees": {"source": "staff", "transform": "int"},
            }
        }
    )


def _refs(client: SalesforceClient, sobject: str = "Account") -> Counter[str]:
    return Counter(str(r["External_Id__c"]) for r in client.query(f"SELECT External_Id__c FROM {sobject}"))


def _failure_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_bulk_insert_with_failures_callbacks_and_report(client: SalesforceClient, tmp_path: Path) -> None:
    source = _accounts_csv(tmp_path / "accounts.csv", 2500, bad=(7, 2400))
    successes: list[int] = []
    errors: list[RecordError] = []
    batches: list[BatchSummary] = []
    pipeline = SyncPipeline(
        client,
        "Account",
        mapper=_mapper(),
        strategy="bulk",
        batch_size=1000,
        max_records_per_job=400,
        failure_dir=tmp_path / "failures",
        poll=FAST,
        on_record_success=lambda n, rec, rid: successes.append(n),
        on_record_error=errors.append,
        on_batch_complete=batches.append,
    )
    report = pipeline.run(source)
    assert (report.rows, report.successful, report.failed, report.mapping_errors) == (2500, 2497, 3, 1)
    assert report.error_counts == {"REQUIRED_FIELD_MISSING": 2, "MAPPING_ERROR": 1}
    assert report.strategies == {"bulk": 2500}
    assert len(report.job_ids) == 8  # windows of 1000, 1000, 500 rows; jobs of <= 400: 3 + 3 + 2
    assert report.rows_per_second > 0
    assert not report.ok
    assert len(successes) == 2497
    assert sorted(e.row_number for e in errors) == [2, 7, 2400]
    assert [b.rows for b in batches] == [1000, 1000, 500]
    assert report.failure_file == tmp_path / "failures" / "account-insert-failures.csv"
    rows = _failure_rows(report.failure_file)
    assert [(r["row_number"], r["error_code"]) for r in rows] == [
        ("2", "MAPPING_ERROR"),
        ("7", "REQUIRED_FIELD_MISSING"),
        ("2400", "REQUIRED_FIELD_MISSING"),
    ]
    assert rows[0]["staff"] == "many"
    assert "NumberOfEmployees" in rows[0]["error_message"]
    assert rows[1]["ref"] == "R00007"
    assert report.journal_path == tmp_path / "account-insert.journal.sqlite"
    refs = _refs(client)
    assert len(refs) == 2497
    assert max(refs.values()) == 1
    assert report.to_dict()["error_counts"] == report.error_counts


def test_composite_upsert_then_delete(client: SalesforceClient, tmp_path: Path) -> None:
    rows = [{"company": f"C{n}", "ref": f"U{n}", "staff": str(n)} for n in range(1, 451)]
    upsert = SyncPipeline(
        client,
        "Account",
        operation="upsert",
        external_id_field="External_Id__c",
        mapper=_mapper(),
        failure_dir=tmp_path / "f",
    )
    first = upsert.run(rows)
    assert (first.successful, first.failed, first.batches) == (450, 0, 3)  # auto: Composite, 200 per call
    assert first.strategies == {"composite": 450}
    assert first.failure_file is None
    second = upsert.run(rows)  # a finished run starts afresh: the upsert updates in place
    assert second.successful == 450
    assert len(_refs(client)) == 450
    ids = [{"Id": r["Id"]} for r in client.query("SELECT Id FROM Account")]
    delete = SyncPipeline(client, "Account", operation="delete", failure_dir=tmp_path / "d")
    report = delete.run([*ids, {"Name": "no id"}])
    assert (report.successful, report.failed) == (450, 1)
    assert report.error_counts == {"MISSING_KEY": 1}
    assert client.count("Account") == 0


def test_dataframe_source_rest_and_dry_run_writes_nothing(client: SalesforceClient, tmp_path: Path) -> None:
    frame = pd.DataFrame({"company": ["A", "B"], "ref": ["D1", "D2"], "staff": [1, None]})
    few = Thresholds(rest_max_records=3)  # the cost model would pick one Composite call for two rows
    pipeline = SyncPipeline(
        client, "Account", mapper=_mapper(), failure_dir=tmp_path / "out" / "f", thresholds=few
    )
    plan = pipeline.dry_run(frame)
    assert plan.ok
    assert plan.rows == 2
    assert plan.strategy == "rest"
    assert plan.sample_records[0] == {"Name": "A", "External_Id__c": "D1", "NumberOfEmployees": 1}
    assert not (tmp_path / "out").exists()
    bad = SyncPipeline(client, "Account", mapper=FieldMapper({"company": "Nmae"}), failure_dir=tmp_path / "x")
    plan = bad.dry_run([{"company": "A"}])
    assert not plan.ok
    assert {i.code.value for i in plan.issues} >= {"UNKNOWN_FIELD", "REQUIRED_NOT_MAPPED"}
    assert "nothing was written" in plan.render()
    assert plan.to_dict()["ok"] is False
    assert not (tmp_path / "x").exists()
    report = pipeline.run(frame)
    assert (report.successful, report.strategies) == (2, {"rest": 2})


class Crash(BaseException):
    """Stands for the process dying at a journal step."""


def _crash_at(step: str, after: int = 1) -> Any:
    seen = Counter[str]()

    def checkpoint(name: str) -> None:
        seen[name] += 1
        if name == step and seen[name] == after:
            raise Crash(name)

    return checkpoint


def test_unfinished_run_refuses_to_start_again(client: SalesforceClient, tmp_path: Path) -> None:
    rows = [{"company": f"C{n}", "ref": f"X{n}"} for n in range(1, 6)]
    pipeline = SyncPipeline(
        client, "Account", mapper=_mapper(), failure_dir=tmp_path / "f", checkpoint=_crash_at("batch_done")
    )
    with pytest.raises(Crash):
        pipeline.run(rows)
    again = SyncPipeline(client, "Account", mapper=_mapper(), failure_dir=tmp_path / "f")
    with pytest.raises(ConfigError, match="--resume"):
        again.run(rows)
    report = again.run(rows, resume=True)
    assert report.resumed
    assert report.successful == 5
    assert report.rows_this_run == 0  # everything had been done before the crash
    assert len(_refs(client)) == 5


def test_composite_insert_in_flight_is_reported_in_doubt(client: SalesforceClient, tmp_path: Path) -> None:
    rows = [{"company": f"C{n}", "ref": f"Q{n}"} for n in range(1, 501)]
    # no external id among the mapped fields (AccountNumber is plain text): nothing to look the rows up by
    mapper = FieldMapper.from_dict({"fields": {"Name": "company", "AccountNumber": "ref"}})
    kwargs: dict[str, Any] = {"mapper": mapper, "failure_dir": tmp_path / "f", "strategy": "composite"}
    crashing = SyncPipeline(client, "Account", checkpoint=_crash_at("batch_sent", 2), **kwargs)
    with pytest.raises(Crash):
        crashing.run(rows)
    report = SyncPipeline(client, "Account", **kwargs).run(rows, resume=True)
    assert (report.rows, report.successful, report.in_doubt) == (500, 300, 200)
    assert report.recovered_batches == 1
    assert report.error_counts == {"IN_DOUBT": 200}
    assert report.failure_file is not None
    doubtful = _failure_rows(report.failure_file)
    assert {r["status"] for r in doubtful} == {"in_doubt"}
    assert [int(r["row_number"]) for r in doubtful] == list(range(201, 401))
    numbers = Counter(str(r["AccountNumber"]) for r in client.query("SELECT AccountNumber FROM Account"))
    assert max(numbers.values()) == 1  # never re-sent
    assert len(numbers) == 500  # the crash came after the call, so the in-doubt rows did get saved


def test_composite_upsert_in_flight_is_sent_again(client: SalesforceClient, tmp_path: Path) -> None:
    rows = [{"company": f"C{n}", "ref": f"P{n}"} for n in range(1, 301)]
    kwargs: dict[str, Any] = {
        "mapper": _mapper(),
        "failure_dir": tmp_path / "f",
        "operation": "upsert",
        "external_id_field": "External_Id__c",
    }
    with pytest.raises(Crash):
        SyncPipeline(client, "Account", checkpoint=_crash_at("batch_sent", 1), **kwargs).run(rows)
    report = SyncPipeline(client, "Account", **kwargs).run(rows, resume=True)
    assert (report.successful, report.in_doubt, report.recovered_batches) == (300, 0, 1)
    refs = _refs(client)
    assert len(refs) == 300
    assert max(refs.values()) == 1


def test_bulk_batch_in_flight_is_reattached_not_resent(client: SalesforceClient, tmp_path: Path) -> None:
    source = _accounts_csv(tmp_path / "a.csv", 1200, bad=(5,))
    kwargs: dict[str, Any] = {
        "mapper": _mapper(),
        "failure_dir": tmp_path / "f",
        "strategy": "bulk",
        "batch_size": 600,
        "max_records_per_job": 300,
        "poll": FAST,
        "thresholds": Thresholds(),
    }
    with pytest.raises(Crash):
        SyncPipeline(client, "Account", checkpoint=_crash_at("batch_sent", 2), **kwargs).run(source)
    jobs_before = {j.id for j in client.bulk.list_jobs()}
    report = SyncPipeline(client, "Account", **kwargs).run(source, resume=True)
    assert (report.rows, report.successful, report.failed) == (1200, 1198, 2)
    assert report.recovered_batches == 1
    assert {j.id for j in client.bulk.list_jobs()} == jobs_before  # nothing sent again
    refs = _refs(client)
    assert len(refs) == 1198
    assert max(refs.values()) == 1
