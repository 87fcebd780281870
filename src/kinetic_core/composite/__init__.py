"""Composite sObject Collections: create/update/upsert/delete any number of records, 200 per call.

Example:
    >>> from kinetic_core.composite import chunked
    >>> [len(c) for _, c in chunked(range(201))]
    [200, 1]
"""

from __future__ import annotations

from kinetic_core.composite.collections import (
    CHUNK_SIZE,
    chunked,
    create_batch,
    delete_batch,
    update_batch,
    upsert_batch,
)
from kinetic_core.composite.results import IN_DOUBT, NOT_SENT, ErrorDetail, RecordResult

__all__ = [
    "CHUNK_SIZE",
    "IN_DOUBT",
    "NOT_SENT",
    "ErrorDetail",
    "RecordResult",
    "chunked",
    "create_batch",
    "delete_batch",
    "update_batch",
    "upsert_batch",
]
