"""Kinetic Core: move data in and out of Salesforce.

Example:
    >>> from kinetic_core import SalesforceClient
    >>> client = SalesforceClient.connect()          # doctest: +SKIP
    >>> client.query_one("SELECT Id FROM Account")   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

from kinetic_core.auth import (
    AuthFlow,
    ClientCredentialsAuth,
    JwtBearerAuth,
    PasswordAuth,
    RefreshTokenAuth,
    StaticTokenAuth,
    Token,
)
from kinetic_core.composite import ErrorDetail, RecordResult
from kinetic_core.config import OrgConfig, resolve_org
from kinetic_core.errors import (
    ApiError,
    AuthenticationError,
    BulkJobError,
    BulkTimeoutError,
    ConfigError,
    DuplicateValueError,
    EntityIsDeletedError,
    InvalidFieldError,
    InvalidQueryLocatorError,
    InvalidTypeError,
    KineticError,
    MalformedIdError,
    MalformedQueryError,
    MappingError,
    MultipleRecordsError,
    NotFoundError,
    RequestLimitExceeded,
    RequiredFieldMissingError,
    ServerUnavailableError,
    SessionExpiredError,
    TransportError,
)
from kinetic_core.http import ApiUsage, HttpSession, RetryPolicy, Timeouts
from kinetic_core.mapping import FieldMapper, FieldRule, Issue
from kinetic_core.records import flatten
from kinetic_core.rest import QueryResult, SalesforceClient, SObject, UpsertResult, soql

__version__ = "3.0.0.dev0"

_LAZY = {
    "BulkClient": "kinetic_core.bulk",
    "BulkResult": "kinetic_core.bulk",
    "LoadResult": "kinetic_core.router",
    "RunReport": "kinetic_core.pipeline",
    "Strategy": "kinetic_core.router",
    "SyncPipeline": "kinetic_core.pipeline",
    "Thresholds": "kinetic_core.router",
}
"""Names served from modules imported on first use (they pull in more dependencies)."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kinetic_core' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "ApiError",
    "ApiUsage",
    "AuthFlow",
    "AuthenticationError",
    "BulkClient",
    "BulkJobError",
    "BulkResult",
    "BulkTimeoutError",
    "ClientCredentialsAuth",
    "ConfigError",
    "DuplicateValueError",
    "EntityIsDeletedError",
    "ErrorDetail",
    "FieldMapper",
    "FieldRule",
    "HttpSession",
    "InvalidFieldError",
    "InvalidQueryLocatorError",
    "InvalidTypeError",
    "Issue",
    "JwtBearerAuth",
    "KineticError",
    "LoadResult",
    "MalformedIdError",
    "MalformedQueryError",
    "MappingError",
    "MultipleRecordsError",
    "NotFoundError",
    "OrgConfig",
    "PasswordAuth",
    "QueryResult",
    "RecordResult",
    "RefreshTokenAuth",
    "RequestLimitExceeded",
    "RequiredFieldMissingError",
    "RetryPolicy",
    "RunReport",
    "SObject",
    "SalesforceClient",
    "ServerUnavailableError",
    "SessionExpiredError",
    "StaticTokenAuth",
    "Strategy",
    "SyncPipeline",
    "Thresholds",
    "Timeouts",
    "Token",
    "TransportError",
    "UpsertResult",
    "__version__",
    "flatten",
    "resolve_org",
    "soql",
]
