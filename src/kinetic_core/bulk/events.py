"""Progress events a bulk load reports through its ``on_event`` callback.

The callback is called from the thread that observed the change (the reading
thread for ``JobCreated``/``RowsUploaded``, worker threads for
``JobStateChanged``), always one call at a time: the load serialises calls with
a lock, so a callback needs no locking of its own. An exception raised by the
callback stops the load like any other error (see :class:`Emitter`).

Example:
    >>> seen = []
    >>> def on_event(event: BulkEvent) -> None:
    ...     seen.append(type(event).__name__)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from kinetic_core.bulk.models import JobState


@dataclass(frozen=True)
class JobCreated:
    """A job was created for part ``part`` (1-based) of the load."""

    job_id: str
    part: int
    object: str
    operation: str


@dataclass(frozen=True)
class RowsUploaded:
    """``rows`` data rows (``bytes`` bytes, header included) were uploaded to ``job_id``."""

    job_id: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class JobStateChanged:
    """A poll saw a new state or new counters for ``job_id``."""

    job_id: str
    state: JobState
    processed: int
    failed: int


@dataclass(frozen=True)
class ResultRowsWritten:
    """``rows`` of the load's ``total`` rows were written to its result files so far (``results_dir=``)."""

    rows: int
    total: int


@dataclass(frozen=True)
class LoadDone:
    """Every job of the load reached a terminal state and results were collected."""

    job_ids: tuple[str, ...]
    total: int
    successful: int
    failed: int
    unprocessed: int


BulkEvent = JobCreated | RowsUploaded | JobStateChanged | ResultRowsWritten | LoadDone


class Emitter:
    """Serialises ``on_event`` calls (one at a time, whatever thread a job runs in).

    An exception raised by the callback is not swallowed: it stops the load like any other
    error (unfinished jobs are aborted, the error is raised). Callers that record job ids
    (a resume journal) rely on that: a job whose id could not be recorded must not run.
    """

    def __init__(self, callback: Callable[[BulkEvent], None] | None) -> None:
        self._callback = callback
        self._lock = threading.Lock()

    def __call__(self, event: BulkEvent) -> None:
        if self._callback is None:
            return
        with self._lock:
            self._callback(event)
