"""What a pipeline run reports: per-batch summaries, the run report and the failure CSV."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinetic_core.pipeline.journal import FailureRow
from kinetic_core.records import cell_text

FAILURE_COLUMNS = ("row_number", "status", "error_code", "error_message", "error_fields")


@dataclass(frozen=True)
class BatchSummary:
    """One batch's outcome, passed to ``on_batch_complete``.

    Example:
        >>> BatchSummary(1, 1, 200, 200, "composite", successful=199, failed=1).rows
        200
    """

    batch_no: int
    first_row: int
    last_row: int
    rows: int
    strategy: str
    successful: int = 0
    failed: int = 0
    unprocessed: int = 0
    in_doubt: int = 0
    job_ids: tuple[str, ...] = ()
    recovered: bool = False


@dataclass(frozen=True)
class RecordError:
    """One failed row, passed to ``on_record_error``."""

    row_number: int
    status: str
    error_code: str | None
    error_message: str | None
    record: dict[str, Any] | None


@dataclass
class RunReport:
    """The outcome of a pipeline run (all of it, resumed parts included).

    Attributes:
        rows: source rows accounted for (``successful + failed + unprocessed + in_doubt``).
        failed: rows refused by Salesforce plus rows that never mapped (``mapping_errors``).
        in_doubt: insert rows whose REST/Composite call was in flight when an earlier run stopped.
        error_counts: failed/unprocessed/in-doubt rows by error code.
        strategies: rows by API used.
        reason: why the run uses that API (the router's reason, with the source size it used).
        elapsed_seconds / rows_per_second: this invocation only.

    Example:
        >>> report = pipeline.run()                                   # doctest: +SKIP
        >>> report.ok, report.successful, report.error_counts         # doctest: +SKIP
        (False, 9998, {'REQUIRED_FIELD_MISSING': 2})
    """

    name: str
    object: str
    operation: str
    rows: int = 0
    successful: int = 0
    failed: int = 0
    unprocessed: int = 0
    in_doubt: int = 0
    mapping_errors: int = 0
    batches: int = 0
    recovered_batches: int = 0
    error_counts: dict[str, int] = field(default_factory=dict)
    strategies: dict[str, int] = field(default_factory=dict)
    reason: str | None = None
    job_ids: list[str] = field(default_factory=list)
    resumed: bool = False
    rows_this_run: int = 0
    elapsed_seconds: float = 0.0
    failure_file: Path | None = None
    journal_path: Path | None = None

    @property
    def ok(self) -> bool:
        """True when every row loaded."""
        return self.failed == 0 and self.unprocessed == 0 and self.in_doubt == 0

    @property
    def rows_per_second(self) -> float:
        """Rows settled per second in this invocation."""
        return self.rows_this_run / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "name": self.name,
            "object": self.object,
            "operation": self.operation,
            "rows": self.rows,
            "successful": self.successful,
            "failed": self.failed,
            "unprocessed": self.unprocessed,
            "in_doubt": self.in_doubt,
            "mapping_errors": self.mapping_errors,
            "batches": self.batches,
            "recovered_batches": self.recovered_batches,
            "error_counts": dict(self.error_counts),
            "strategies": dict(self.strategies),
            "reason": self.reason,
            "job_ids": list(self.job_ids),
            "resumed": self.resumed,
            "rows_this_run": self.rows_this_run,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "failure_file": str(self.failure_file) if self.failure_file else None,
            "journal": str(self.journal_path) if self.journal_path else None,
            "ok": self.ok,
        }


def write_failure_csv(
    path: Path, failures: Iterable[FailureRow], columns: Iterable[str] | None, reread: Any = None
) -> int:
    """Write the failure CSV atomically; returns the number of rows written.

    Columns: ``row_number, status, error_code, error_message, error_fields``, then the source columns
    (the CSV header when known, else every key seen in the failed records, in first-seen order: the
    failures are read twice for that, through ``reread()``).
    """
    cols = list(columns or ())
    if not cols and reread is not None:
        seen: dict[str, None] = {}
        for failure in reread():
            for key in failure.record or {}:
                seen.setdefault(key, None)
        cols = list(seen)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    try:
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow([*FAILURE_COLUMNS, *cols])
            for failure in failures:
                record = failure.record or {}
                writer.writerow(
                    [
                        failure.row_number,
                        failure.status,
                        failure.error_code or "",
                        failure.error_message or "",
                        ",".join(failure.error_fields),
                        *(cell_text(record.get(c)) for c in cols),
                    ]
                )
                count += 1
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # never a half-written file left behind
        raise
    return count
