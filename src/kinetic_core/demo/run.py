"""The demo itself, without any rendering: generate, load through the router, collect failures, export.

The command line (``kinetic demo``) draws the progress bars and tables from the callbacks and the
returned :class:`DemoSummary`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.demo.data import DemoFiles, generate
from kinetic_core.load import load as load_records

EXPORT_SOQL = (
    "SELECT Id, FirstName, LastName, Email, Title, Account.Name, Account.External_Id__c FROM Contact"
)
DEMO_POLL = PollPolicy(initial=0.2, maximum=1.0)
SHOWN_FAILURES = 12


@dataclass(frozen=True)
class StepResult:
    """One step of the demo: what ran, through which API, how many rows, how long."""

    step: str
    api: str
    rows: int
    successful: int
    failed: int
    seconds: float
    detail: str = ""

    @property
    def rate(self) -> float:
        """Rows per second."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class DemoFailure:
    """A row the org refused, with its reason."""

    object: str
    row_number: int
    error_code: str
    message: str


@dataclass
class DemoSummary:
    """Everything the demo did."""

    workdir: Path
    steps: list[StepResult] = field(default_factory=list)
    failures: list[DemoFailure] = field(default_factory=list)
    failure_counts: dict[str, int] = field(default_factory=dict)
    export_file: Path | None = None
    export_rows: int = 0
    seconds: float = 0.0

    @property
    def loaded(self) -> int:
        """Records loaded successfully."""
        return sum(s.successful for s in self.steps if s.step.startswith("load"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {
            "workdir": str(self.workdir),
            "seconds": round(self.seconds, 2),
            "loaded": self.loaded,
            "steps": [
                {
                    "step": s.step,
                    "api": s.api,
                    "rows": s.rows,
                    "successful": s.successful,
                    "failed": s.failed,
                    "seconds": round(s.seconds, 2),
                    "rows_per_second": round(s.rate),
                    "detail": s.detail,
                }
                for s in self.steps
            ],
            "failure_counts": dict(self.failure_counts),
            "failures": [f.__dict__ for f in self.failures],
            "export_file": str(self.export_file) if self.export_file else None,
            "export_rows": self.export_rows,
        }


def _load(
    client: Any,
    sobject: str,
    path: Path,
    rows: int,
    summary: DemoSummary,
    on_event: Callable[[Any], None] | None,
    clock: Callable[[], float],
) -> None:
    started = clock()
    result = load_records(
        client,
        sobject,
        path,
        operation="insert",
        on_event=on_event,
        poll=DEMO_POLL,
        results_dir=summary.workdir / "results",
    )
    try:
        for outcome in result:
            if outcome.success:
                continue
            code = outcome.error_code or "UNKNOWN"
            summary.failure_counts[code] = summary.failure_counts.get(code, 0) + 1
            if len(summary.failures) < SHOWN_FAILURES:
                summary.failures.append(
                    DemoFailure(sobject, outcome.row_number, code, outcome.error_message or "")
                )
        summary.steps.append(
            StepResult(
                f"load {sobject}",
                result.strategy.value,
                rows,
                result.successful,
                result.failed + result.unprocessed,
                clock() - started,
                result.reason,
            )
        )
    finally:
        result.close()


def run_demo(
    client: Any,
    workdir: Path,
    records: int = 100_000,
    *,
    on_step: Callable[[str], None] | None = None,
    on_event: Callable[[str], Callable[[Any], None] | None] | None = None,
    seed: int = 20240601,
    clock: Callable[[], float] = time.monotonic,
) -> DemoSummary:
    """Generate ``records`` Accounts + Contacts, load them, collect the failures, export the Contacts.

    Args:
        client: a client of the (local) org.
        workdir: where the CSV files, result files and the export go.
        records: total records to load (one Account for every four Contacts).
        on_step: told the name of each step as it starts.
        on_event: ``fn(step) -> callback`` giving the bulk progress callback of a step.
        seed: the random seed of the generated data.
        clock: monotonic clock.

    Example:
        >>> summary = run_demo(client, Path("/tmp/demo"), 10_000)  # doctest: +SKIP
        >>> summary.loaded                                          # doctest: +SKIP
        9989
    """
    started = clock()
    summary = DemoSummary(workdir)
    client.bulk.poll = DEMO_POLL

    def begin(step: str) -> Callable[[Any], None] | None:
        if on_step is not None:
            on_step(step)
        return on_event(step) if on_event is not None else None

    begin("generate")
    t0 = clock()
    files: DemoFiles = generate(workdir, records, seed=seed)
    summary.steps.append(
        StepResult(
            "generate",
            "-",
            files.account_rows + files.contact_rows,
            files.account_rows + files.contact_rows,
            0,
            clock() - t0,
            f"{files.invalid_rows} invalid rows planted",
        )
    )
    _load(client, "Account", files.accounts, files.account_rows, summary, begin("load Account"), clock)
    _load(client, "Contact", files.contacts, files.contact_rows, summary, begin("load Contact"), clock)
    callback = begin("export Contact")
    t0 = clock()
    export = client.bulk.query(EXPORT_SOQL, out=workdir / "contacts-export.csv", on_event=callback)
    summary.export_file = export.path
    summary.export_rows = export.rows
    summary.steps.append(
        StepResult(
            "export Contact", "bulk query", export.rows, export.rows, 0, clock() - t0, f"job {export.job_id}"
        )
    )
    summary.seconds = clock() - started
    return summary
