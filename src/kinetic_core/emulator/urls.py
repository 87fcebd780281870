"""The URL table: every endpoint of the emulator, once.

This one list drives Starlette routing, ``/composite`` and ``/composite/batch`` sub-request dispatch
and the request statistics (see :mod:`kinetic_core.emulator.routing`). A new endpoint is one line
here: its path, methods, statistics kind, operation and/or handler, and where it may be a
sub-request. Order matters where templates overlap (the first full match wins): ``/describe``,
``/deleted`` and ``/updated`` come before ``/sobjects/{sobject}/{rid}``.

Sub-requests follow Salesforce's lists [D]: ``/composite`` serves the sObject resources, Query,
QueryAll and sObject Collections; ``/composite/batch`` serves Limits, the sObject resources, Query,
QueryAll and Search. What the emulator does not reach as a sub-request (replication, Parameterized
Search, the related-record URLs' relatives served by other handlers) answers 404 saying so.
"""

from __future__ import annotations

from kinetic_core.emulator.routes import (
    admin,
    bulk_ingest,
    bulk_query,
    bulk_v1,
    composite,
    identity,
    oauth,
    oauth_device,
    query,
    replication,
    rest,
    soap,
)
from kinetic_core.emulator.routing import Endpoint, Sub, UrlTable
from kinetic_core.emulator.service import collections, conditional, org_info, queries, records, tree
from kinetic_core.emulator.service.oauth_device import VERIFICATION_PATH

V = "/services/data/v{ver}"
_GET = ("GET",)
_POST = ("POST",)
_ROW = ("GET", "PATCH", "DELETE", "POST")
_INGEST = f"{V}/jobs/ingest"
_QUERY_JOBS = f"{V}/jobs/query"
_ASYNC = "/services/async/{ver}/job"
_ANY = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _rest() -> list[Endpoint]:
    both = Sub.BOTH
    return [
        Endpoint("/services/data", _GET, "versions", handler=rest.versions),
        Endpoint(V, _GET, "resources", op=org_info.op_resources),
        Endpoint(f"{V}/sobjects", _GET, "sobjects", conditional.op_describe_global, sub=both),
        Endpoint(f"{V}/sobjects/{{sobject}}/deleted", _GET, "sobjects", handler=replication.deleted),
        Endpoint(f"{V}/sobjects/{{sobject}}/updated", _GET, "sobjects", handler=replication.updated),
        Endpoint(f"{V}/sobjects/{{sobject}}", ("GET", "POST"), "sobjects", org_info.op_sobject, sub=both),
        Endpoint(f"{V}/sobjects/{{sobject}}/describe", _GET, "sobjects", conditional.op_describe, sub=both),
        Endpoint(
            f"{V}/sobjects/{{sobject}}/{{rid}}", _ROW, "sobjects", conditional.op_row, rest.sobject_row, both
        ),
        Endpoint(
            f"{V}/sobjects/{{sobject}}/{{field}}/{{value}}",
            ("GET", "PATCH", "DELETE"),
            "sobjects",
            records.op_external,
            sub=both,
        ),
        Endpoint(f"{V}/limits", _GET, "limits", org_info.op_limits, sub=Sub.BATCH),
        Endpoint(f"{V}/limits/recordCount", _GET, "limits", org_info.op_record_count, sub=Sub.BATCH),
    ]


def _query() -> list[Endpoint]:
    both = Sub.BOTH
    return [
        Endpoint(f"{V}/search", _GET, "search", queries.op_search, sub=Sub.BATCH),
        Endpoint(
            f"{V}/parameterizedSearch",
            ("GET", "POST"),
            "search",
            queries.op_parameterized_search,
            query.parameterized_search,
        ),
        Endpoint(f"{V}/query", _GET, "query", queries.op_query, sub=both),
        Endpoint(f"{V}/queryAll", _GET, "query", queries.op_query_all, sub=both),
        Endpoint(f"{V}/query/{{locator}}", _GET, "query", queries.op_more, sub=both),
        Endpoint(f"{V}/queryAll/{{locator}}", _GET, "query", queries.op_more, sub=both),
    ]


def _composite() -> list[Endpoint]:
    c = f"{V}/composite"
    return [
        Endpoint(c, ("GET", "POST"), "composite", handler=composite.composite_root),
        Endpoint(f"{c}/batch", _POST, "composite", handler=composite.composite_batch),
        Endpoint(f"{c}/tree/{{sobject}}", _POST, "composite", tree.op_tree),
        Endpoint(f"{c}/graph", _POST, "composite", handler=composite.composite_graph),
        Endpoint(
            f"{c}/sobjects",
            ("POST", "PATCH", "DELETE"),
            "composite",
            collections.op_collection,
            sub=Sub.COMPOSITE,
        ),
        Endpoint(
            f"{c}/sobjects/{{sobject}}",
            ("GET", "POST"),
            "composite",
            collections.op_retrieve,
            sub=Sub.COMPOSITE,
        ),
        Endpoint(
            f"{c}/sobjects/{{sobject}}/{{field}}",
            ("PATCH",),
            "composite",
            collections.op_upsert,
            sub=Sub.COMPOSITE,
        ),
    ]


def _bulk() -> list[Endpoint]:
    i, q, k = _INGEST, _QUERY_JOBS, "bulk_ingest"
    return [
        Endpoint(i, _POST, k, handler=bulk_ingest.create_job),
        Endpoint(i, _GET, k, handler=bulk_ingest.list_jobs),
        Endpoint(f"{i}/{{job_id}}", _GET, k, handler=bulk_ingest.job_info),
        Endpoint(f"{i}/{{job_id}}", ("PATCH",), k, handler=bulk_ingest.patch_job),
        Endpoint(f"{i}/{{job_id}}", ("DELETE",), k, handler=bulk_ingest.delete_job),
        Endpoint(f"{i}/{{job_id}}/batches", ("PUT",), k, handler=bulk_ingest.upload),
        Endpoint(f"{i}/{{job_id}}/{{result}}", _GET, k, handler=bulk_ingest.results),
        Endpoint(q, _POST, "bulk_query", handler=bulk_query.create_job),
        Endpoint(q, _GET, "bulk_query", handler=bulk_query.list_jobs),
        Endpoint(f"{q}/{{job_id}}", _GET, "bulk_query", handler=bulk_query.job_info),
        Endpoint(f"{q}/{{job_id}}", ("PATCH",), "bulk_query", handler=bulk_query.patch_job),
        Endpoint(f"{q}/{{job_id}}", ("DELETE",), "bulk_query", handler=bulk_query.delete_job),
        Endpoint(f"{q}/{{job_id}}/results", _GET, "bulk_query", handler=bulk_query.results),
        Endpoint(f"{q}/{{job_id}}/resultPages", _GET, "bulk_query", handler=bulk_query.result_pages),
    ]


def _bulk_v1() -> list[Endpoint]:
    j, k = _ASYNC, "bulk_v1"
    return [
        Endpoint(j, _POST, k, handler=bulk_v1.create_job),
        Endpoint(f"{j}/{{job_id}}", ("GET", "POST"), k, handler=bulk_v1.job),
        Endpoint(f"{j}/{{job_id}}/batch", ("GET", "POST"), k, handler=bulk_v1.batches),
        Endpoint(f"{j}/{{job_id}}/batch/{{batch_id}}", _GET, k, handler=bulk_v1.batch),
        Endpoint(f"{j}/{{job_id}}/batch/{{batch_id}}/request", _GET, k, handler=bulk_v1.batch_request),
        Endpoint(f"{j}/{{job_id}}/batch/{{batch_id}}/result", _GET, k, handler=bulk_v1.batch_result),
        Endpoint(
            f"{j}/{{job_id}}/batch/{{batch_id}}/result/{{result_id}}", _GET, k, handler=bulk_v1.query_result
        ),
        Endpoint("/services/async/{rest:path}", _ANY, k, handler=bulk_v1.unknown),
    ]


def _auth_and_admin() -> list[Endpoint]:
    return [
        Endpoint("/services/oauth2/token", _POST, "oauth", handler=oauth.token),
        Endpoint("/services/oauth2/revoke", ("POST", "GET"), "oauth", handler=oauth.revoke),
        Endpoint("/services/oauth2/authorize", ("GET", "POST"), "oauth", handler=oauth.authorize),
        Endpoint(VERIFICATION_PATH, ("GET", "POST"), "oauth", handler=oauth_device.verify),
        Endpoint("/services/Soap/u/{ver}", _POST, "soap", handler=soap.partner),
        Endpoint("/services/Soap/u/{ver}/{org_id}", _POST, "soap", handler=soap.partner),
        Endpoint("/id/{org_id}/{user_id}", ("GET", "POST"), "identity", handler=identity.identity),
        Endpoint("/services/oauth2/userinfo", ("GET", "POST"), "identity", handler=identity.userinfo),
        Endpoint("/_emulator/reset", _POST, "admin", handler=admin.reset),
        Endpoint("/_emulator/faults", ("GET", "POST"), "admin", handler=admin.faults),
        Endpoint("/_emulator/stats", _GET, "admin", handler=admin.stats),
    ]


def url_table() -> UrlTable:
    """The emulator's URL table (a new one per app: no module-level state).

    Example:
        >>> url_table().kind_of("/services/data/v62.0/sobjects/Account")
        'sobjects'
    """
    return UrlTable([*_rest(), *_query(), *_composite(), *_bulk(), *_bulk_v1(), *_auth_and_admin()])


__all__ = ["url_table"]
