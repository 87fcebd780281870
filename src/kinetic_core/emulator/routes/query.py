"""SOQL over REST: ``/query``, ``/queryAll`` and locator paging."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.org import Org
from kinetic_core.emulator.routes.common import api_version_of, get_org, json_response, require_session

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_BATCH = 2000
_BATCH_RE = re.compile(r"batchsize\s*=\s*(\d+)", re.IGNORECASE)


def batch_size(header: str | None) -> int:
    """``Sforce-Query-Options: batchSize=N`` clamped to 200..2000 (default 2000).

    Example:
        >>> batch_size("batchSize=500")
        500
    """
    if not header:
        return DEFAULT_BATCH
    m = _BATCH_RE.search(header)
    if not m:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(MAX_BATCH, int(m.group(1))))


def _engine(org: Org) -> Any:
    if org.query_engine is None:
        raise ApiError(
            400, "FUNCTIONALITY_NOT_ENABLED", "SOQL queries are not available in this emulator build"
        )
    return org.query_engine


def page_body(page: Any, ver: str) -> dict[str, Any]:
    body: dict[str, Any] = {"totalSize": page.total_size, "done": page.done}
    if page.next_locator:
        body["nextRecordsUrl"] = f"/services/data/v{ver}/query/{page.next_locator}"
    body["records"] = page.records
    return body


def run_query(
    org: Org, ver: str, soql: str | None, *, include_deleted: bool, batch: int = DEFAULT_BATCH
) -> Any:
    """Run SOQL and return the first page body."""
    if soql is None or not soql.strip():
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    page = _engine(org).run(soql, include_deleted=include_deleted, batch_size=batch, api_version=ver)
    return page_body(page, ver)


def query_more(org: Org, ver: str, locator: str) -> Any:
    page = _engine(org).more(locator, api_version=ver)
    return page_body(page, ver)


async def query(request: Request) -> Response:
    """``GET /query?q=`` and ``/queryAll?q=`` (also ``columns=true``)."""
    require_session(request)
    org, ver = get_org(request), api_version_of(request)
    params = request.query_params
    if "explain" in params:
        raise ApiError(
            400, "FUNCTIONALITY_NOT_ENABLED", "Query plans (explain) are not supported by this emulator"
        )
    soql = params.get("q")
    if params.get("columns", "").lower() == "true" and soql:
        return json_response(_engine(org).columns(soql))
    include_deleted = request.url.path.rstrip("/").endswith("queryAll")
    batch = batch_size(request.headers.get("sforce-query-options"))
    return json_response(run_query(org, ver, soql, include_deleted=include_deleted, batch=batch))


async def more(request: Request) -> Response:
    """``GET /query/{locator}`` and ``/queryAll/{locator}``, under any version."""
    require_session(request)
    org, ver = get_org(request), api_version_of(request)
    return json_response(query_more(org, ver, request.path_params["locator"]))


def routes() -> list[BaseRoute]:
    """Query routes."""
    v = "/services/data/v{ver}"
    return [
        Route(f"{v}/query", query, methods=["GET"]),
        Route(f"{v}/queryAll", query, methods=["GET"]),
        Route(f"{v}/query/{{locator}}", more, methods=["GET"]),
        Route(f"{v}/queryAll/{{locator}}", more, methods=["GET"]),
    ]
