"""Composite APIs: sObject Collections (any number of records, 200 per call), composite requests,
batches and trees.

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
from kinetic_core.composite.subrequests import SubRequest, SubResponse, TreeResult, batch, composite, tree

__all__ = [
    "CHUNK_SIZE",
    "IN_DOUBT",
    "NOT_SENT",
    "ErrorDetail",
    "RecordResult",
    "SubRequest",
    "SubResponse",
    "TreeResult",
    "batch",
    "chunked",
    "composite",
    "create_batch",
    "delete_batch",
    "tree",
    "update_batch",
    "upsert_batch",
]
