"""The run journal: open/resume rules, batch steps, totals and failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinetic_core.errors import ConfigError
from kinetic_core.pipeline import FailureRow, Journal
from kinetic_core.pipeline.journal import BatchCounts

PRINT = {"object": "Account", "source": {"path": "a.csv"}}


def test_steps_totals_and_failures(tmp_path: Path) -> None:
    steps: list[str] = []
    journal = Journal(tmp_path / "j.sqlite", checkpoint=steps.append)
    assert journal.open(PRINT, resume=False) is False
    first = journal.begin_batch(1, 3, 3, "composite")
    assert journal.inflight() is not None
    journal.complete_batch(
        first,
        BatchCounts(successful=2, failed=1),
        [FailureRow(2, "failed", "REQUIRED_FIELD_MISSING", "no Name", ("Name",), {"n": ""})],
    )
    second = journal.begin_batch(4, 9, 5, "bulk")
    journal.add_job(second, "750A", 1)
    journal.add_job(second, "750A", 1)  # recorded once
    assert journal.jobs(second) == ["750A"]
    assert journal.inflight() is not None
    assert journal.done_through() == 9
    assert journal.totals() == {
        "batches": 1,
        "rows": 3,
        "successful": 2,
        "failed": 1,
        "unprocessed": 0,
        "in_doubt": 0,
        "recovered": 0,
    }
    assert journal.error_counts() == {"REQUIRED_FIELD_MISSING": 1}
    assert list(journal.iter_failures()) == [
        FailureRow(2, "failed", "REQUIRED_FIELD_MISSING", "no Name", ("Name",), {"n": ""})
    ]
    assert steps == ["batch_started", "batch_done", "batch_started", "job_created", "job_created"]
    journal.abandon_batch(second)
    assert journal.inflight() is None
    assert journal.done_through() == 3
    journal.close()


def test_unfinished_run_needs_resume_with_the_same_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    journal.open(PRINT, resume=False)
    journal.begin_batch(1, 10, 10, "bulk")
    journal.close()
    with pytest.raises(ConfigError, match="did not finish: pass --resume"):
        Journal(path).open(PRINT, resume=False)
    with pytest.raises(ConfigError, match="different object"):
        Journal(path).open({**PRINT, "object": "Contact"}, resume=True)
    again = Journal(path)
    assert again.open(PRINT, resume=True) is True
    batch = again.inflight()
    assert batch is not None
    assert (batch.first_row, batch.last_row, batch.strategy) == (1, 10, "bulk")
    again.finish()
    again.close()
    fresh = Journal(path)
    assert fresh.open(PRINT, resume=False) is False  # a finished run is replaced
    assert fresh.totals()["batches"] == 0
    fresh.close()
