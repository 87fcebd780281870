"""SOQL pages (``/query``, ``/queryAll``, locators) and SOSL searches (``/search``, ``/parameterizedSearch``).

Operations of the URL table, free of HTTP: the same functions answer a direct request and a
``/composite`` or ``/composite/batch`` sub-request.
"""

from __future__ import annotations

import re
from typing import Any

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.org import Org
from kinetic_core.emulator.service.calls import Call, Reply
from kinetic_core.emulator.soql.search import searchable

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_BATCH = 2000
_BATCH_RE = re.compile(r"batchsize\s*=\s*(\d+)", re.IGNORECASE)

SEARCH_RECORDS_SINCE = 36
"""From this API version on, search results are wrapped as ``{"searchRecords": [...]}`` (before: a bare
array). [D: the v35 docs show the array, the v37 docs the object; 36 is our choice]"""

_PARAMETERIZED_UNSUPPORTED = (
    "metadata", "netWorkIds", "networkIds", "snippet", "dataCategory", "dataCategories", "division",
    "pricebookId",
)  # fmt: skip


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
    page = org.query_engine.run(soql, include_deleted=include_deleted, batch_size=batch, api_version=ver)
    return page_body(page, ver)


def query_more(org: Org, ver: str, locator: str) -> Any:
    page = org.query_engine.more(locator, api_version=ver)
    return page_body(page, ver)


def search_body(org: Org, ver: str, sosl: str | None, *, user_id: str | None = None) -> Any:
    """Run SOSL: ``{"searchRecords": [...]}`` (a bare list below v36)."""
    if sosl is None or not sosl.strip():
        raise ApiError(
            400, "MALFORMED_SEARCH", "No search term found. The search term must be enclosed in braces."
        )
    records = org.query_engine.search(sosl, api_version=ver, user_id=user_id)
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


def parameterized_spec(call: Call) -> dict[str, Any]:
    """The search a parameterized request describes: its JSON body (POST) or its query parameters (GET)."""
    if call.method == "POST":
        spec = {} if call.body is None else call.body
        if not isinstance(spec, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        return spec
    out: dict[str, Any] = {k: v for k, v in dict(call.query).items() if "." not in k and k != "sobject"}
    out["sobjects"] = [
        {"name": name, "fields": call.arg(f"{name}.fields"), "limit": call.arg(f"{name}.limit")}
        for name in call.args("sobject")
    ]
    return out


# -- the URL table's operations ---------------------------------------------------------------------


def _query(call: Call, *, include_deleted: bool) -> Reply:
    if call.arg("explain") is not None:
        raise ApiError(
            400, "FUNCTIONALITY_NOT_ENABLED", "Query plans (explain) are not supported by this emulator"
        )
    soql = call.arg("q")
    if (call.arg("columns") or "").lower() == "true" and soql:
        return Reply(200, call.org.query_engine.columns(soql))
    batch = batch_size(call.header("sforce-query-options"))
    return Reply(200, run_query(call.org, call.ver, soql, include_deleted=include_deleted, batch=batch))


def op_query(call: Call) -> Reply:
    """``GET /query?q=`` (also ``columns=true``)."""
    return _query(call, include_deleted=False)


def op_query_all(call: Call) -> Reply:
    """``GET /queryAll?q=``."""
    return _query(call, include_deleted=True)


def op_more(call: Call) -> Reply:
    """``GET /query/{locator}`` and ``/queryAll/{locator}``."""
    return Reply(200, query_more(call.org, call.ver, call.param("locator")))


def op_search(call: Call) -> Reply:
    """``GET /search?q=FIND {...} ...``."""
    return Reply(200, search_body(call.org, call.ver, call.arg("q"), user_id=call.user_id))


def op_parameterized_search(call: Call) -> Reply:
    """``GET /parameterizedSearch?q=...&sobject=...`` and ``POST`` with a JSON body."""
    sosl = parameterized_sosl(call.org, parameterized_spec(call))
    records = call.org.query_engine.search(sosl, api_version=call.ver, user_id=call.user_id)
    return Reply(200, {"searchRecords": records})


__all__ = [
    "batch_size",
    "op_more",
    "op_parameterized_search",
    "op_query",
    "op_query_all",
    "op_search",
    "page_body",
    "parameterized_sosl",
    "query_more",
    "run_query",
    "search_body",
]
