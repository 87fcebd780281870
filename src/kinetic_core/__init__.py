"""Kinetic Core: move data in and out of Salesforce.

Every public name is imported from its module on first use, so ``import kinetic_core`` (or
``from kinetic_core.bulk import BulkClient``) pulls in only what the program touches: no JWT or
cryptography without JWT auth, no YAML without mappings or pipelines, no DataFrame libraries.

Example:
    >>> from kinetic_core import SalesforceClient
    >>> client = SalesforceClient.connect()          # doctest: +SKIP
    >>> client.query_one("SELECT Id FROM Account")   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any

if _TYPE_CHECKING:
    from kinetic_core.aclient import AsyncSalesforceClient
    from kinetic_core.auth import (
        AuthFlow,
        ClientCredentialsAuth,
        JwtBearerAuth,
        PasswordAuth,
        RefreshTokenAuth,
        StaticTokenAuth,
        Token,
    )
    from kinetic_core.bulk import BulkClient, BulkResult
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
        InvalidNameError,
        InvalidQueryLocatorError,
        InvalidTypeError,
        KineticError,
        MalformedIdError,
        MalformedQueryError,
        MappingError,
        MultipleRecordsError,
        NotFoundError,
        OutputNotWritableError,
        QueryPagingError,
        RequestLimitExceeded,
        RequiredFieldMissingError,
        ResponseLimitError,
        ResultsNotSavedError,
        RunLockedError,
        ServerUnavailableError,
        SessionExpiredError,
        TransportError,
        UnsafeUrlError,
    )
    from kinetic_core.http import ApiUsage, HttpSession, ResponseBounds, RetryPolicy, Timeouts
    from kinetic_core.load import LoadResult, Strategy, Thresholds
    from kinetic_core.mapping import FieldMapper, FieldRule, Issue
    from kinetic_core.pipeline import RunReport, SyncPipeline
    from kinetic_core.records import flatten
    from kinetic_core.rest import QueryResult, SalesforceClient, SObject, UpsertResult, soql

__version__ = "3.0.0.dev0"

_LAZY = {
    "ApiError": "kinetic_core.errors",
    "ApiUsage": "kinetic_core.http",
    "AsyncSalesforceClient": "kinetic_core.aclient",
    "AuthFlow": "kinetic_core.auth",
    "AuthenticationError": "kinetic_core.errors",
    "BulkClient": "kinetic_core.bulk",
    "BulkJobError": "kinetic_core.errors",
    "BulkResult": "kinetic_core.bulk",
    "BulkTimeoutError": "kinetic_core.errors",
    "ClientCredentialsAuth": "kinetic_core.auth",
    "ConfigError": "kinetic_core.errors",
    "DuplicateValueError": "kinetic_core.errors",
    "EntityIsDeletedError": "kinetic_core.errors",
    "ErrorDetail": "kinetic_core.composite",
    "FieldMapper": "kinetic_core.mapping",
    "FieldRule": "kinetic_core.mapping",
    "HttpSession": "kinetic_core.http",
    "InvalidFieldError": "kinetic_core.errors",
    "InvalidNameError": "kinetic_core.errors",
    "InvalidQueryLocatorError": "kinetic_core.errors",
    "InvalidTypeError": "kinetic_core.errors",
    "Issue": "kinetic_core.mapping",
    "JwtBearerAuth": "kinetic_core.auth",
    "KineticError": "kinetic_core.errors",
    "LoadResult": "kinetic_core.load",
    "MalformedIdError": "kinetic_core.errors",
    "MalformedQueryError": "kinetic_core.errors",
    "MappingError": "kinetic_core.errors",
    "MultipleRecordsError": "kinetic_core.errors",
    "NotFoundError": "kinetic_core.errors",
    "OrgConfig": "kinetic_core.config",
    "OutputNotWritableError": "kinetic_core.errors",
    "PasswordAuth": "kinetic_core.auth",
    "QueryPagingError": "kinetic_core.errors",
    "QueryResult": "kinetic_core.rest",
    "RecordResult": "kinetic_core.composite",
    "RefreshTokenAuth": "kinetic_core.auth",
    "RequestLimitExceeded": "kinetic_core.errors",
    "RequiredFieldMissingError": "kinetic_core.errors",
    "ResponseBounds": "kinetic_core.http",
    "ResponseLimitError": "kinetic_core.errors",
    "ResultsNotSavedError": "kinetic_core.errors",
    "RetryPolicy": "kinetic_core.http",
    "RunLockedError": "kinetic_core.errors",
    "RunReport": "kinetic_core.pipeline",
    "SObject": "kinetic_core.rest",
    "SalesforceClient": "kinetic_core.rest",
    "ServerUnavailableError": "kinetic_core.errors",
    "SessionExpiredError": "kinetic_core.errors",
    "StaticTokenAuth": "kinetic_core.auth",
    "Strategy": "kinetic_core.load",
    "SyncPipeline": "kinetic_core.pipeline",
    "Thresholds": "kinetic_core.load",
    "Timeouts": "kinetic_core.http",
    "Token": "kinetic_core.auth",
    "TransportError": "kinetic_core.errors",
    "UnsafeUrlError": "kinetic_core.errors",
    "UpsertResult": "kinetic_core.rest",
    "flatten": "kinetic_core.records",
    "resolve_org": "kinetic_core.config",
    "soql": "kinetic_core.rest",
}
"""Public name -> the module that defines it (imported on first access)."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        return getattr(importlib.import_module(module), name)
    if not name.startswith("_") and importlib.util.find_spec(f"kinetic_core.{name}") is not None:
        return importlib.import_module(f"kinetic_core.{name}")  # a subpackage, e.g. kinetic_core.bulk
    raise AttributeError(f"module 'kinetic_core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ApiError",
    "ApiUsage",
    "AsyncSalesforceClient",
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
    "InvalidNameError",
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
    "OutputNotWritableError",
    "PasswordAuth",
    "QueryPagingError",
    "QueryResult",
    "RecordResult",
    "RefreshTokenAuth",
    "RequestLimitExceeded",
    "RequiredFieldMissingError",
    "ResponseBounds",
    "ResponseLimitError",
    "ResultsNotSavedError",
    "RetryPolicy",
    "RunLockedError",
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
    "UnsafeUrlError",
    "UpsertResult",
    "__version__",
    "flatten",
    "resolve_org",
    "soql",
]
