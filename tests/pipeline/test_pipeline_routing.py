"""The pipeline chooses its API once, on the whole source, and a resumed run keeps that choice."""

from __future__ import annotations

import csv
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kinetic_core import SalesforceClient
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.load import Thresholds
from kinetic_core.pipeline import SyncPipeline
from kinetic_core.pipeline.routing import SAMPLE_BYTES, file_size

FAST = PollPolicy(initial=0.02, maximum=0.1)


@pytest.fixture
def org(tmp_path: Path) -> Iterator[LocalOrg]:
    with LocalOrg(data_dir=tmp_path / "home" / "local") as running:
        yield running


@pytest.fixture
def sf(org: LocalOrg, tmp_path: Path) -> Iterator[SalesforceClient]:
    with SalesforceClient.connect("local", home=tmp_path / "home") as client:
        client.bulk.poll = FAST
        yield client


def _csv(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Name", "External_Id__c"])
        writer.writerows([f"Company {n}", f"E{n:06d}"] for n in range(1, count + 1))
    return path


def _route(journal: Path) -> str:
    with sqlite3.connect(journal) as conn:
        return str(conn.execute("SELECT value FROM meta WHERE key = 'route'").fetchone()[0])


@pytest.mark.slow
def test_a_100k_row_pipeline_at_default_settings_runs_bulk(
    org: LocalOrg, sf: SalesforceClient, tmp_path: Path
) -> None:
    source = _csv(tmp_path / "big.csv", 100_000)
    assert source.stat().st_size > SAMPLE_BYTES  # the size is estimated, not counted
    pipeline = SyncPipeline(sf, "Account", failure_dir=tmp_path / "failures", poll=FAST)
    plan = pipeline.dry_run(source)
    assert (plan.strategy, plan.rows, plan.batches, plan.jobs) == ("bulk", 100_000, 10, 10)
    assert "Bulk API 2.0" in plan.reason
    assert "estimated from the file's" in plan.reason
    assert "strategy: bulk (" in plan.render()
    org.org.reset()  # count only the run's requests
    report = pipeline.run(source)
    assert (report.rows, report.successful, report.strategies) == (100_000, 100_000, {"bulk": 100_000})
    assert report.batches == 10
    assert len(report.job_ids) == 10
    assert report.reason is not None
    assert "Bulk API 2.0" in report.reason
    assert '"strategy": "bulk"' in _route(report.journal_path or Path())
    requests = org.org.request_counts()
    assert requests.get("composite", 0) == 0
    assert requests.get("sobjects", 0) == 0
    assert requests["bulk_ingest"] >= 10 * 3  # create, upload, close per job, then polls and results
    assert sf.count("SELECT COUNT() FROM Account") == 100_000


@pytest.mark.parametrize(
    ("count", "strategy", "batches"),
    [(2, "composite", 1), (450, "composite", 3)],  # one Composite call beats two REST calls
)
def test_small_pipelines_stay_rest_or_composite(
    org: LocalOrg, sf: SalesforceClient, tmp_path: Path, count: int, strategy: str, batches: int
) -> None:
    source = _csv(tmp_path / "small.csv", count)
    report = SyncPipeline(sf, "Account", failure_dir=tmp_path / "f").run(source)
    assert (report.successful, report.strategies, report.batches) == (count, {strategy: count}, batches)
    assert report.reason is not None
    assert f"{count:,} rows counted in the file" in report.reason
    assert org.org.request_counts().get("bulk_ingest", 0) == 0


def test_sized_inputs_are_measured_and_generators_read_ahead(sf: SalesforceClient, tmp_path: Path) -> None:
    small = Thresholds(bulk_min_records=300)
    rows = [{"Name": f"N{n}", "External_Id__c": f"L{n}"} for n in range(1, 401)]

    def run(source: Any, name: str) -> Any:
        return SyncPipeline(
            sf, "Account", batch_size=100, thresholds=small, failure_dir=tmp_path / name, name=name
        ).run(source)

    as_list = run(rows, "list")
    assert as_list.strategies == {"bulk": 400}
    assert "400 records in the list" in str(as_list.reason)
    frame = pd.DataFrame([{**r, "External_Id__c": "F" + r["External_Id__c"]} for r in rows])
    as_frame = run(frame, "frame")
    assert as_frame.strategies == {"bulk": 400}
    assert "400 rows in the DataFrame" in str(as_frame.reason)
    generated = run(({**r, "External_Id__c": "G" + r["External_Id__c"]} for r in rows), "gen")
    assert generated.strategies == {"bulk": 400}
    assert "at least 300 rows read ahead" in str(generated.reason)
    assert generated.successful == 400  # the rows read ahead were all sent
    few = run(({"Name": f"S{n}"} for n in range(150)), "few")
    assert few.strategies == {"composite": 150}
    assert "whole source" in str(few.reason)
    assert sf.count("SELECT COUNT() FROM Account") == 1350


class Crash(BaseException):
    """Stands for the process dying at a journal step."""


def test_a_resumed_run_keeps_the_recorded_decision(sf: SalesforceClient, tmp_path: Path) -> None:
    source = _csv(tmp_path / "rows.csv", 1000)
    seen = Counter[str]()

    def crash(step: str) -> None:
        seen[step] += 1
        if step == "batch_done" and seen[step] == 2:
            raise Crash(step)

    kwargs: dict[str, Any] = {"batch_size": 250, "failure_dir": tmp_path / "f", "poll": FAST}
    first = SyncPipeline(
        sf, "Account", thresholds=Thresholds(bulk_min_records=500), checkpoint=crash, **kwargs
    )
    with pytest.raises(Crash):
        first.run(source)
    # default thresholds would send 1,000 rows through Composite: the recorded Bulk decision wins
    report = SyncPipeline(sf, "Account", **kwargs).run(source, resume=True)
    assert (report.successful, report.strategies, report.batches) == (1000, {"bulk": 1000}, 4)
    assert report.reason is not None
    assert "1,000 rows counted in the file" in report.reason
    assert sf.count("SELECT COUNT() FROM Account") == 1000


def test_file_size_counts_small_files_and_estimates_big_ones(tmp_path: Path) -> None:
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('a,b\n1,"two\nlines"\n\n3,x\n4,"y"', encoding="utf-8")
    assert file_size(quoted, skip_header=True, quotes=True).rows == 3
    lines = tmp_path / "rows.jsonl"
    lines.write_text("".join(f'{{"n": {n}}}\n' for n in range(100_000)), encoding="utf-8")
    size = file_size(lines, skip_header=False, quotes=False)
    assert 95_000 <= size.rows <= 105_000
    assert size.basis.startswith("about ")
