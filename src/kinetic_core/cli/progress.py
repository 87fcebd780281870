"""Progress bars (rich, on stderr) fed by the bulk client's ``on_event`` events and pipeline batches.

Shown only when stderr is a terminal and ``--json`` is off; otherwise every method is a no-op, so
commands call them unconditionally.
"""

from __future__ import annotations

import threading
from collections import Counter
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
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

from kinetic_core.bulk.events import JobCreated, JobStateChanged, LoadDone, RowsUploaded


class RateColumn(ProgressColumn):
    """Rows per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} rows/s", style="progress.data.speed")


class LoadProgress:
    """Rows read/uploaded, jobs and their states, processed/failed rows, rate and time left.

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
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        if self.enabled:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                RateColumn(),
                TimeRemainingColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
            self._tasks["read"] = self._progress.add_task(f"{label}: rows", total=total)
            self._tasks["uploaded"] = self._progress.add_task("uploaded", total=total, visible=False)
            self._tasks["processed"] = self._progress.add_task("processed", total=total, visible=False)
            self._tasks["jobs"] = self._progress.add_task("jobs: none yet", total=None, visible=False)

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

    def _jobs_line(self) -> str:
        states = Counter(self._states.values())
        failed = sum(self._failed.values())
        parts = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
        return f"jobs: {parts}" + (f"; {failed:,} rows failed" if failed else "")

    def on_event(self, event: Any) -> None:
        """Feed one bulk event or pipeline ``BatchSummary``."""
        with self._lock:
            if isinstance(event, JobCreated):
                self._states[event.job_id] = "Open"
                self._update("jobs", visible=True, description=self._jobs_line())
            elif isinstance(event, RowsUploaded):
                self._uploaded += event.rows
                self._update("uploaded", visible=True, completed=self._uploaded)
            elif isinstance(event, JobStateChanged):
                self._states[event.job_id] = event.state.value
                self._processed[event.job_id] = event.processed
                self._failed[event.job_id] = event.failed
                self._update("processed", visible=True, completed=sum(self._processed.values()))
                self._update("jobs", visible=True, description=self._jobs_line())
            elif isinstance(event, LoadDone):
                self._update("jobs", visible=True, description=self._jobs_line())
            elif type(event).__name__ == "BatchSummary" and _is_batch_summary(event):
                self._update("read", advance=event.rows)


def _is_batch_summary(event: Any) -> bool:
    """A pipeline's ``BatchSummary`` (imported here: only ``kinetic sync`` sends them, and the
    pipeline package is not loaded by the other commands)."""
    from kinetic_core.pipeline.report import BatchSummary

    return isinstance(event, BatchSummary)
