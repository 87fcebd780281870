"""REST API: ``SalesforceClient`` (CRUD, upsert, describe, limits, SOQL), the SOQL builder.

Example:
    >>> from kinetic_core.rest import soql
    >>> soql("SELECT Id FROM Contact WHERE LastName = {}", "O'Hara")
    "SELECT Id FROM Contact WHERE LastName = 'O\\\\'Hara'"
"""

from __future__ import annotations

from kinetic_core.rest.client import SalesforceClient, UpsertResult
from kinetic_core.rest.query import QueryResult
from kinetic_core.rest.sobject import SObject
from kinetic_core.rest.soql import literal, quote_string, select, soql

__all__ = [
    "QueryResult",
    "SObject",
    "SalesforceClient",
    "UpsertResult",
    "literal",
    "quote_string",
    "select",
    "soql",
]
