"""The failures directory: checked before anything is sent; a failure file that cannot be written at the
end leaves the run unfinished, and ``--resume`` writes it without sending a row again."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import pytest

from kinetic_core import FieldMapper, SalesforceClient
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.errors import ConfigError, OutputNotWritableError, ResultsNotSavedError
from kinetic_core.pipeline import BatchSummary, SyncPipeline

FAST = PollPolicy(initial=0.02, maximum=0.1)
ROWS = 600
BAD = (5, 450)


def _source(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["company", "ref"])
        for n in range(1, ROWS + 1):
            writer.writerow(["" if n in BAD else f"Company {n}", f"R{n:05d}"])
    return path


def _pipeline(client: SalesforceClient, tmp_path: Path, strategy: str, **kwargs: object) -> SyncPipeline:
    return SyncPipeline(
        client,
        "Account",
        mapper=FieldMapper.from_dict({"fields": {"Name": "company", "External_Id__c": "ref"}}),
        strategy=strategy,
        batch_size=250,
        max_records_per_job=250,
        failure_dir=tmp_path / "failures",
        name="accounts",
        poll=FAST,
        **kwargs,  # type: ignore[arg-type]
    )


def _refs(client: SalesforceClient) -> Counter[str]:
    return Counter(str(r["External_Id__c"]) for r in client.query("SELECT External_Id__c FROM Account"))


@pytest.mark.parametrize("strategy", ["composite", "bulk"])
def test_a_failures_dir_that_is_a_file_is_refused_before_anything_is_sent(
    client: SalesforceClient, tmp_path: Path, strategy: str
) -> None:
    source = _source(tmp_path / "accounts.csv")
    (tmp_path / "failures").write_text("a file\n", encoding="utf-8")
    pipeline = _pipeline(client, tmp_path, strategy)
    with pytest.raises(OutputNotWritableError, match="nothing was sent") as refused:
        pipeline.run(source)
    assert refused.value.path == tmp_path / "failures"
    assert f"cannot write to the failures directory {tmp_path / 'failures'}" in str(refused.value)
    assert client.count("Account") == 0
    assert list(client.bulk.list_jobs()) == []
    assert not pipeline.journal_path.exists()  # nothing to resume: a plain run starts once it is fixed
    (tmp_path / "failures").unlink()
    report = pipeline.run(source)
    assert (report.successful, report.failed) == (ROWS - len(BAD), len(BAD))


@pytest.mark.parametrize("strategy", ["composite", "bulk"])
def test_a_failure_file_that_cannot_be_written_leaves_the_run_unfinished(
    client: SalesforceClient, tmp_path: Path, strategy: str
) -> None:
    source = _source(tmp_path / "accounts.csv")
    failures = tmp_path / "failures"

    def break_the_dir(summary: BatchSummary) -> None:
        if failures.is_dir():  # the dir passed the check at the start and goes away mid-run
            shutil.rmtree(failures)
            failures.write_text("now a file\n", encoding="utf-8")

    pipeline = _pipeline(client, tmp_path, strategy, on_batch_complete=break_the_dir)
    with pytest.raises(ResultsNotSavedError) as stopped:
        pipeline.run(source)
    err = stopped.value
    assert err.path == failures / "accounts-failures.csv"
    assert err.counts == {
        "rows": ROWS,
        "successful": ROWS - len(BAD),
        "failed": len(BAD),
        "unprocessed": 0,
        "in_doubt": 0,
    }
    assert "--resume" in str(err)
    if strategy == "bulk":
        assert err.job_ids
        assert all(j in str(err) for j in err.job_ids)
    assert sum(_refs(client).values()) == ROWS - len(BAD)
    failures.unlink()  # fixed
    with pytest.raises(ConfigError, match="did not finish: pass --resume"):
        _pipeline(client, tmp_path, strategy).run(source)  # a plain re-run would load everything again
    resumed = _pipeline(client, tmp_path, strategy).run(source, resume=True)
    assert resumed.rows_this_run == 0
    assert (resumed.rows, resumed.successful, resumed.failed) == (ROWS, ROWS - len(BAD), len(BAD))
    refs = _refs(client)
    assert len(refs) == ROWS - len(BAD)
    assert max(refs.values()) == 1  # not one row sent twice
    with (failures / "accounts-failures.csv").open(encoding="utf-8") as handle:
        assert [int(r["row_number"]) for r in csv.DictReader(handle)] == list(BAD)
    again = _pipeline(client, tmp_path, strategy).run(source)  # finished now: a plain run starts afresh
    assert again.resumed is False
