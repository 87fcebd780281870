"""Bulk API 2.0 for the emulator: job engine, state machine, CSV processing and result files.

The engine knows nothing of HTTP: ``routes/bulk_ingest.py`` and ``routes/bulk_query.py``
parse requests, call :class:`BulkEngine` and render its answers.
"""

from __future__ import annotations

from kinetic_core.emulator.bulk.engine import BulkEngine
from kinetic_core.emulator.bulk.files import gzip_chunks
from kinetic_core.emulator.bulk.models import (
    BulkLimits,
    ColumnDelimiter,
    Job,
    JobKind,
    JobPage,
    JobState,
    LineEnding,
    Operation,
    ResultKind,
)
from kinetic_core.emulator.bulk.query import ResultPage

__all__ = [
    "BulkEngine",
    "BulkLimits",
    "ColumnDelimiter",
    "Job",
    "JobKind",
    "JobPage",
    "JobState",
    "LineEnding",
    "Operation",
    "ResultKind",
    "ResultPage",
    "gzip_chunks",
]
