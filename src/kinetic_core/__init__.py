"""Kinetic Core: move data in and out of Salesforce.

Every public name is imported from its module on first use, so ``import kinetic_core`` (or
``from kinetic_core.bulk import BulkClient``) pulls in only what the program touches: no JWT or
cryptography without JWT auth, no YAML without mappings or pipelines, no DataFrame libraries.
Only the names of ``__all__`` are handed out; the subpackages are imported as usual
(``import kinetic_core.bulk``).

Example:
    >>> from kinetic_core import SalesforceClient
    >>> client = SalesforceClient.connect()          # doctest: +SKIP
    >>> client.query_one("SELECT Id FROM Account")   # doctest: +SKIP
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING as _TYPE_CHECKING

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
    from kinetic_core.bulk import AsyncBulkClient, AsyncRows, BulkClient, BulkResult
    from kinetic_core.client import SalesforceClient, SObject
    from kinetic_core.composite import (
        ErrorDetail,
        RecordResult,
        SubRequest,
        SubResponse,
        TreeResult,
    )
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
    from kinetic_core.http import (
        ApiUsage,
        HttpSession,
        ResponseBounds,
        RetryPolicy,
        Timeouts,
    )
    from kinetic_core.inputs import LoadInput
    from kinetic_core.load import LoadResult, RowOutcome, Strategy, Thresholds
    from kinetic_core.mapping import FieldMapper, FieldRule, Issue
    from kinetic_core.pipeline import RunReport, SyncPipeline
    from kinetic_core.records import flatten
    from kinetic_core.rest import AsyncQueryResult, QueryResult, UpsertResult, soql
    from kinetic_core.rest.replication import DeletedRecords, UpdatedRecords

_LAZY = {
    "ApiError": "kinetic_core.errors",
    "ApiUsage": "kinetic_core.http",
    "AsyncBulkClient": "kinetic_core.bulk",
    "AsyncQueryResult": "kinetic_core.rest",
    "AsyncRows": "kinetic_core.bulk",
    "AsyncSalesforceClient": "kinetic_core.aclient",
    "AuthFlow": "kinetic_core.auth",
    "AuthenticationError": "kinetic_core.errors",
    "BulkClient": "kinetic_core.bulk",
    "BulkJobError": "kinetic_core.errors",
    "BulkResult": "kinetic_core.bulk",
    "BulkTimeoutError": "kinetic_core.errors",
    "ClientCredentialsAuth": "kinetic_core.auth",
    "ConfigError": "kinetic_core.errors",
    "DeletedRecords": "kinetic_core.rest.replication",
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
    "LoadInput": "kinetic_core.inputs",
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
    "RowOutcome": "kinetic_core.load",
    "RunLockedError": "kinetic_core.errors",
    "RunReport": "kinetic_core.pipeline",
    "SObject": "kinetic_core.client",
    "SalesforceClient": "kinetic_core.client",
    "ServerUnavailableError": "kinetic_core.errors",
    "SessionExpiredError": "kinetic_core.errors",
    "StaticTokenAuth": "kinetic_core.auth",
    "Strategy": "kinetic_core.load",
    "SubRequest": "kinetic_core.composite",
    "SubResponse": "kinetic_core.composite",
    "SyncPipeline": "kinetic_core.pipeline",
    "Thresholds": "kinetic_core.load",
    "Timeouts": "kinetic_core.http",
    "Token": "kinetic_core.auth",
    "TransportError": "kinetic_core.errors",
    "TreeResult": "kinetic_core.composite",
    "UnsafeUrlError": "kinetic_core.errors",
    "UpdatedRecords": "kinetic_core.rest.replication",
    "UpsertResult": "kinetic_core.rest",
    "flatten": "kinetic_core.records",
    "resolve_org": "kinetic_core.config",
    "soql": "kinetic_core.rest",
}
"""Public name -> the module that defines it (imported on first access, by ``_module``)."""


def _module(name: str) -> ModuleType:
    """Import one module of ``_LAZY`` with an ordinary import statement (visible to the import linter)."""
    match name:
        case "kinetic_core.aclient":
            import kinetic_core.aclient

            return kinetic_core.aclient
        case "kinetic_core.auth":
            import kinetic_core.auth

            return kinetic_core.auth
        case "kinetic_core.bulk":
            import kinetic_core.bulk

            return kinetic_core.bulk
        case "kinetic_core.client":
            import kinetic_core.client

            return kinetic_core.client
        case "kinetic_core.composite":
            import kinetic_core.composite

            return kinetic_core.composite
        case "kinetic_core.config":
            import kinetic_core.config

            return kinetic_core.config
        case "kinetic_core.errors":
            import kinetic_core.errors

            return kinetic_core.errors
        case "kinetic_core.http":
            import kinetic_core.http

            return kinetic_core.http
        case "kinetic_core.inputs":
            import kinetic_core.inputs

            return kinetic_core.inputs
        case "kinetic_core.mapping":
            import kinetic_core.mapping

            return kinetic_core.mapping
        case "kinetic_core.pipeline":
            import kinetic_core.pipeline

            return kinetic_core.pipeline
        case "kinetic_core.records":
            import kinetic_core.records

            return kinetic_core.records
        case "kinetic_core.rest":
            import kinetic_core.rest

            return kinetic_core.rest
        case "kinetic_core.rest.replication":
            import kinetic_core.rest.replication

            return kinetic_core.rest.replication
        case "kinetic_core.load":
            import kinetic_core.load

            return kinetic_core.load
    raise AssertionError(f"no import for {name}")  # _LAZY names a module missing above


def __getattr__(name: str) -> object:
    if name == "__version__":
        from importlib.metadata import version

        return version("kinetic-core")  # one source of truth: pyproject.toml, via the installed metadata
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kinetic_core' has no attribute {name!r}")
    value = getattr(_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ApiError",
    "ApiUsage",
    "AsyncBulkClient",
    "AsyncQueryResult",
    "AsyncRows",
    "AsyncSalesforceClient",
    "AuthFlow",
    "AuthenticationError",
    "BulkClient",
    "BulkJobError",
    "BulkResult",
    "BulkTimeoutError",
    "ClientCredentialsAuth",
    "ConfigError",
    "DeletedRecords",
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
    "LoadInput",
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
    "RowOutcome",
    "RunLockedError",
    "RunReport",
    "SObject",
    "SalesforceClient",
    "ServerUnavailableError",
    "SessionExpiredError",
    "StaticTokenAuth",
    "Strategy",
    "SubRequest",
    "SubResponse",
    "SyncPipeline",
    "Thresholds",
    "Timeouts",
    "Token",
    "TransportError",
    "TreeResult",
    "UnsafeUrlError",
    "UpdatedRecords",
    "UpsertResult",
    "__version__",
    "flatten",
    "resolve_org",
    "soql",
]
