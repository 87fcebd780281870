"""Progress bars (rich, on stderr) fed by the bulk client's ``on_event`` events and pipeline batches.

Shown only when stderr is a terminal and ``--json`` is off; otherwise every method is a no-op, so
commands call them unconditionally.

What a load shows, one line each: the rows read from the file, the rows uploaded, the jobs (their
states, and the records Salesforce has processed so far, from each job's ``numberRecordsProcessed``),
then, once every job has finished, the results phase: the result files downloaded and matched to the
input rows, then the rows written to the result files. Counts carry thousands separators
(``200,000/200,000``), as tables do.
"""

from __future__ import annotations

import threading
from collections import Counter
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from kinetic_core.bulk.events import JobCreated, JobStateChanged, LoadDone, ResultRowsWritten, RowsUploaded

RESULTS_WAITING = "results: downloading and matching to rows"
RESULTS_WRITING = "results: rows written"


class RateColumn(ProgressColumn):
    """Rows per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s", style="progress.data.speed")


class CountColumn(ProgressColumn):
    """``done/total`` with thousands separators (``done`` alone while the total is unknown)."""

    def render(self, task: Task) -> Text:
        done = int(task.completed)
        text = f"{done:,}" if task.total is None else f"{done:,}/{int(task.total):,}"
        return Text(text, style="progress.download")


def count_text(done: int, total: int | None) -> str:
    """What :class:`CountColumn` prints.

    Example:
        >>> count_text(200000, 200000), count_text(1234, None)
        ('200,000/200,000', '1,234')
    """
    return f"{done:,}" if total is None else f"{done:,}/{total:,}"


class LoadProgress:
    """Rows read/uploaded, jobs and their processed records, the results phase, rate and time left.

    Example:
        >>> with LoadProgress(Console(stderr=True), "Contact", total=1000) as progress:  # doctest: +SKIP
        ...     client.bulk.insert("Contact", rows, on_event=progress.on_event)
    """

    def __init__(
        self, console: Console, label: str, *, total: int | None = None, enabled: bool = True
    ) -> None:
        self.enabled = enabled and console.is_terminal
        self.total = total
        self._lock = threading.Lock()
        self._states: dict[str, str] = {}
        self._processed: dict[str, int] = {}
        self._failed: dict[str, int] = {}
        self._uploaded = 0
        self._written = 0
        self._results_shown = False
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        if self.enabled:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                CountColumn(),
                RateColumn(),
                TimeRemainingColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
            self._tasks["read"] = self._progress.add_task(f"{label}: rows", total=total)
            self._tasks["uploaded"] = self._progress.add_task("uploaded", total=total, visible=False)
            self._tasks["jobs"] = self._progress.add_task("jobs: none yet", total=total, visible=False)
            self._tasks["results"] = self._progress.add_task(RESULTS_WAITING, total=total, visible=False)

    def __enter__(self) -> LoadProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _update(self, name: str, **fields: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._tasks[name], **fields)

    def rows_read(self, count: int) -> None:
        """``count`` more rows read from the source (or settled, for pipelines)."""
        self._update("read", advance=count)

    def jobs_line(self) -> str:
        """``jobs: 1 InProgress, 2 JobComplete; 12 rows failed``."""
        states = Counter(self._states.values())
        failed = sum(self._failed.values())
        parts = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
        return f"jobs: {parts}" + (f"; {failed:,} rows failed" if failed else "")

    @property
    def processed(self) -> int:
        """Records processed so far, over every job (from the jobs' ``numberRecordsProcessed``)."""
        return sum(self._processed.values())

    def _all_done(self) -> bool:
        """Every job of a load has finished and every row was uploaded: results are being fetched."""
        if not self._uploaded or not self._states:  # nothing uploaded: an export, or a job being awaited
            return False
        if any(s not in ("JobComplete", "Failed", "Aborted") for s in self._states.values()):
            return False
        return self.total is None or self._uploaded >= self.total

    def on_event(self, event: Any) -> None:
        """Feed one bulk event or pipeline ``BatchSummary``."""
        with self._lock:
            if isinstance(event, JobCreated):
                self._states[event.job_id] = "Open"
                self._update("jobs", visible=True, description=self.jobs_line())
            elif isinstance(event, RowsUploaded):
                self._uploaded += event.rows
                self._update("uploaded", visible=True, completed=self._uploaded)
            elif isinstance(event, JobStateChanged):
                self._states[event.job_id] = event.state.value
                self._processed[event.job_id] = event.processed
                self._failed[event.job_id] = event.failed
                self._update("jobs", visible=True, description=self.jobs_line(), completed=self.processed)
                if self._all_done() and not self._results_shown:
                    self._results_shown = True
                    self._update("results", visible=True, total=self.total or self._uploaded or None)
            elif isinstance(event, ResultRowsWritten):
                self._written = event.rows
                self._update(
                    "results",
                    visible=True,
                    description=RESULTS_WRITING,
                    completed=event.rows,
                    total=event.total,
                )
            elif isinstance(event, LoadDone):
                self._update("jobs", visible=True, description=self.jobs_line())
                if self._results_shown:
                    self._update(
                        "results", description=RESULTS_WRITING, completed=event.total, total=event.total
                    )
            elif type(event).__name__ == "BatchSummary" and _is_batch_summary(event):
                self._update("read", advance=event.rows)


def _is_batch_summary(event: Any) -> bool:
    """A pipeline's ``BatchSummary`` (imported here: only ``kinetic sync`` sends them, and the
    pipeline package is not loaded by the other commands)."""
    from kinetic_core.pipeline.report import BatchSummary

    return isinstance(event, BatchSummary)
