"""Bulk API 2.0: streamed, split, parallel ingest with row-mapped results; locator-paged query.

Names are imported from their modules on first use, so a program that only queries never loads
the ingest machinery (splitting, spooling, manifests, result mapping).

Example:
    >>> from kinetic_core.bulk import BulkClient
    >>> bulk = BulkClient(client)                             # doctest: +SKIP
    >>> bulk.upsert("Account", "accounts.csv", external_id_field="External_Id__c")  # doctest: +SKIP
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kinetic_core.bulk.aclient import AsyncBulkClient, AsyncRows
    from kinetic_core.bulk.client import BulkClient
    from kinetic_core.bulk.events import BulkEvent, JobCreated, JobStateChanged, LoadDone, RowsUploaded
    from kinetic_core.bulk.manifest import BulkResumeWarning
    from kinetic_core.bulk.models import ColumnDelimiter, JobInfo, JobKind, JobState, LineEnding, Operation
    from kinetic_core.bulk.poller import PollPolicy
    from kinetic_core.bulk.query import QueryExport
    from kinetic_core.bulk.results import BulkResult, RowResult, RowStatus

_LAZY = {
    "AsyncBulkClient": "kinetic_core.bulk.aclient",
    "AsyncRows": "kinetic_core.bulk.aclient",
    "BulkClient": "kinetic_core.bulk.client",
    "BulkEvent": "kinetic_core.bulk.events",
    "BulkResult": "kinetic_core.bulk.results",
    "BulkResumeWarning": "kinetic_core.bulk.manifest",
    "ColumnDelimiter": "kinetic_core.bulk.models",
    "JobCreated": "kinetic_core.bulk.events",
    "JobInfo": "kinetic_core.bulk.models",
    "JobKind": "kinetic_core.bulk.models",
    "JobState": "kinetic_core.bulk.models",
    "JobStateChanged": "kinetic_core.bulk.events",
    "LineEnding": "kinetic_core.bulk.models",
    "LoadDone": "kinetic_core.bulk.events",
    "Operation": "kinetic_core.bulk.models",
    "PollPolicy": "kinetic_core.bulk.poller",
    "QueryExport": "kinetic_core.bulk.query",
    "RowResult": "kinetic_core.bulk.results",
    "RowStatus": "kinetic_core.bulk.results",
    "RowsUploaded": "kinetic_core.bulk.events",
}

__all__ = [
    "AsyncBulkClient",
    "AsyncRows",
    "BulkClient",
    "BulkEvent",
    "BulkResult",
    "BulkResumeWarning",
    "ColumnDelimiter",
    "JobCreated",
    "JobInfo",
    "JobKind",
    "JobState",
    "JobStateChanged",
    "LineEnding",
    "LoadDone",
    "Operation",
    "PollPolicy",
    "QueryExport",
    "RowResult",
    "RowStatus",
    "RowsUploaded",
]


def _module(name: str) -> ModuleType:
    """Import one module of ``_LAZY`` with an ordinary import statement (visible to the import linter)."""
    match name:
        case "kinetic_core.bulk.aclient":
            import kinetic_core.bulk.aclient

            return kinetic_core.bulk.aclient
        case "kinetic_core.bulk.client":
            import kinetic_core.bulk.client

            return kinetic_core.bulk.client
        case "kinetic_core.bulk.events":
            import kinetic_core.bulk.events

            return kinetic_core.bulk.events
        case "kinetic_core.bulk.manifest":
            import kinetic_core.bulk.manifest

            return kinetic_core.bulk.manifest
        case "kinetic_core.bulk.models":
            import kinetic_core.bulk.models

            return kinetic_core.bulk.models
        case "kinetic_core.bulk.poller":
            import kinetic_core.bulk.poller

            return kinetic_core.bulk.poller
        case "kinetic_core.bulk.query":
            import kinetic_core.bulk.query

            return kinetic_core.bulk.query
        case "kinetic_core.bulk.results":
            import kinetic_core.bulk.results

            return kinetic_core.bulk.results
    raise AssertionError(f"no import for {name}")  # _LAZY names a module missing above


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
