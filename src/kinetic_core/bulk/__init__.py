"""Bulk API 2.0: streamed, split, parallel ingest with row-mapped results; locator-paged query.

Example:
    >>> from kinetic_core.bulk import BulkClient
    >>> bulk = BulkClient(client)                             # doctest: +SKIP
    >>> bulk.upsert("Account", "accounts.csv", external_id_field="External_Id__c")  # doctest: +SKIP
"""

from __future__ import annotations

from kinetic_core.bulk.client import BulkClient
from kinetic_core.bulk.events import BulkEvent, JobCreated, JobStateChanged, LoadDone, RowsUploaded
from kinetic_core.bulk.manifest import BulkResumeWarning
from kinetic_core.bulk.models import ColumnDelimiter, JobInfo, JobKind, JobState, LineEnding, Operation
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.bulk.query import QueryExport
from kinetic_core.bulk.results import BulkResult, RowResult, RowStatus

__all__ = [
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
