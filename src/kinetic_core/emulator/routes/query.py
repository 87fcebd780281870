"""SOQL over REST: ``/query``, ``/queryAll`` and locator paging."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.org import Org
from kinetic_core.emulator.routes.common import api_version_of, get_org, json_response, require_session
from kinetic_core.emulator.soql.search import searchable

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


SEARCH_RECORDS_SINCE = 36
"""From this API version on, search results are wrapped as ``{"searchRecords": [...]}`` (before: a bare
array). [D: the v35 docs show the array, the v37 docs the object; 36 is our choice]"""

_PARAMETERIZED_UNSUPPORTED = (
    "metadata", "netWorkIds", "networkIds", "snippet", "dataCategory", "dataCategories", "division",
    "pricebookId",
)  # fmt: skip


def search_body(org: Org, ver: str, sosl: str | None) -> Any:
    """Run SOSL: ``{"searchRecords": [...]}`` (a bare list below v36)."""
    if sosl is None or not sosl.strip():
        raise ApiError(
            400, "MALFORMED_SEARCH", "No search term found. The search term must be enclosed in braces."
        )
    records = _engine(org).search(sosl, api_version=ver)
    if int(ver.split(".")[0]) < SEARCH_RECORDS_SINCE:
        return records
    return {"searchRecords": records}


def _escape_term(text: str) -> str:
    return text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise ApiError(400, "INVALID_SEARCH", f"Expected a list of names, got {value!r}")


def parameterized_sosl(org: Org, spec: dict[str, Any]) -> str:
    """A parameterized search (GET parameters or POST body) as the SOSL statement it stands for.

    ``q``, ``in``, ``fields``, ``sobjects`` (``[{"name", "fields", "limit", "where", "orderBy"}]``;
    GET: ``sobject=Account&Account.fields=Id,Name&Account.limit=5``), ``defaultLimit``,
    ``overallLimit``. ``spellCorrection`` is accepted and changes nothing (no spell correction here). [I]
    """
    for key in _PARAMETERIZED_UNSUPPORTED:
        if key in spec:
            raise ApiError(400, "INVALID_SEARCH", f"The parameter '{key}' is not supported by this emulator")
    q = spec.get("q")
    if not isinstance(q, str) or not q.strip():
        raise ApiError(400, "MISSING_ARGUMENT", "Missing argument: q")
    group = str(spec.get("in") or "ALL").upper()
    default_fields = _list(spec.get("fields"))
    default_limit = spec.get("defaultLimit")
    items: list[str] = []
    wanted = spec.get("sobjects") or []
    if not isinstance(wanted, list):
        raise ApiError(400, "INVALID_SEARCH", "sobjects must be a list")
    if not wanted and default_fields:
        schema = org.store.schema
        wanted = [
            {"name": o.name} for o in schema
            if searchable(o) and all(o.field(f) is not None for f in default_fields)
        ]  # fmt: skip
    for entry in wanted:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ApiError(400, "INVALID_SEARCH", "Each sobjects entry needs a name")
        fields = _list(entry.get("fields")) or default_fields or ["Id"]
        inner = ", ".join(fields)
        if entry.get("where"):
            inner += f" WHERE {entry['where']}"
        if entry.get("orderBy"):
            inner += f" ORDER BY {entry['orderBy']}"
        limit = entry.get("limit", default_limit)
        if limit is not None:
            inner += f" LIMIT {int(limit)}"
        items.append(f"{entry['name']}({inner})")
    sosl = f"FIND {{{_escape_term(q)}}} IN {group} FIELDS"
    if items:
        sosl += " RETURNING " + ", ".join(items)
    if spec.get("overallLimit") is not None:
        sosl += f" LIMIT {int(spec['overallLimit'])}"
    return sosl


async def search(request: Request) -> Response:
    """``GET /search?q=FIND {...} ...``."""
    require_session(request)
    org, ver = get_org(request), api_version_of(request)
    return json_response(search_body(org, ver, request.query_params.get("q")))


async def parameterized_search(request: Request) -> Response:
    """``GET /parameterizedSearch?q=...&sobject=...`` and ``POST`` with a JSON body."""
    require_session(request)
    org, ver = get_org(request), api_version_of(request)
    if request.method == "POST":
        try:
            spec = json.loads(await request.body() or b"{}")
        except ValueError:
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON") from None
        if not isinstance(spec, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    else:
        params = request.query_params
        spec = {k: v for k, v in params.items() if "." not in k and k != "sobject"}
        spec["sobjects"] = [
            {"name": name, "fields": params.get(f"{name}.fields"), "limit": params.get(f"{name}.limit")}
            for name in params.getlist("sobject")
        ]
    sosl = parameterized_sosl(org, spec)
    records = _engine(org).search(sosl, api_version=ver)
    return json_response({"searchRecords": records})


def routes() -> list[BaseRoute]:
    """Query and search routes."""
    v = "/services/data/v{ver}"
    return [
        Route(f"{v}/search", search, methods=["GET"]),
        Route(f"{v}/search/", search, methods=["GET"]),
        Route(f"{v}/parameterizedSearch", parameterized_search, methods=["GET", "POST"]),
        Route(f"{v}/parameterizedSearch/", parameterized_search, methods=["GET", "POST"]),
        Route(f"{v}/query", query, methods=["GET"]),
        Route(f"{v}/queryAll", query, methods=["GET"]),
        Route(f"{v}/query/{{locator}}", more, methods=["GET"]),
        Route(f"{v}/queryAll/{{locator}}", more, methods=["GET"]),
    ]
