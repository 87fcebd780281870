"""REST API: single-record CRUD, upsert, describe, limits, SOQL and SOSL over one ``HttpSession``
(``crud``), lazy query pages (``QueryResult``), replication windows, and the SOQL builder.

Example:
    >>> from kinetic_core.rest import soql
    >>> soql("SELECT Id FROM Contact WHERE LastName = {}", "O'Hara")
    "SELECT Id FROM Contact WHERE LastName = 'O\\\\'Hara'"
"""

from __future__ import annotations

from kinetic_core.rest.crud import UpsertResult
from kinetic_core.rest.query import AsyncQueryResult, QueryResult
from kinetic_core.rest.soql import literal, quote_string, select, soql

__all__ = [
    "AsyncQueryResult",
    "QueryResult",
    "UpsertResult",
    "literal",
    "quote_string",
    "select",
    "soql",
]
