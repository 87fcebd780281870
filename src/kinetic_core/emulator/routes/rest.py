"""REST basics: versions, resources, describe, sObject rows, external ids, limits.

The operations are plain functions returning a :class:`Reply` so that composite
sub-requests reuse them; the Starlette handlers at the bottom only parse and render.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinetic_core.emulator.errors import ApiError, not_found
from kinetic_core.emulator.org import MAX_API_VERSION, MIN_API_VERSION, Org
from kinetic_core.emulator.routes import conditional, related
from kinetic_core.emulator.routes.common import (
    Reply,
    api_version_of,
    get_org,
    json_response,
    read_json,
    render,
    require_session,
)
from kinetic_core.emulator.store.ids import is_well_formed, to18
from kinetic_core.emulator.store.messages import MultipleMatches
from kinetic_core.emulator.store.schema import ObjectDef

_SEASONS = ("Summer", "Winter", "Spring")


def version_label(major: int) -> str:
    """Release name of an API version: 31 -> ``Summer '14``, 62 -> ``Winter '25``.

    Example:
        >>> version_label(62)
        "Winter '25"
    """
    season = _SEASONS[(major - 31) % 3]
    year = 14 + (major - 31) // 3 + (0 if season == "Summer" else 1)
    return f"{season} '{year:02d}"


def versions_body() -> list[dict[str, str]]:
    return [
        {"label": version_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(MIN_API_VERSION, MAX_API_VERSION + 1)
    ]


def resources_body(org: Org, ver: str, user_id: str) -> dict[str, str]:
    base = f"/services/data/v{ver}"
    names = [
        *("tooling", "metadata", "eclair", "folders", "prechatForms", "chatter", "tabs", "appMenu"),
        *("quickActions", "queryAll", "commerce", "wave", "iot", "analytics", "search", "composite"),
        *("smartdatadiscovery", "parameterizedSearch", "fingerprint", "theme", "nouns", "recent"),
        *("licensing", "limits", "async-queries", "query", "sobjects", "actions", "support", "jobs"),
        *("localizedvalue", "scheduling", "connect", "ui-api", "consent", "dedupe", "jsonxform", "process"),
    ]
    body = {name: f"{base}/{name}" for name in dict.fromkeys(names)}
    body["identity"] = org.identity_url(user_id)
    return body


# -- lookups -----------------------------------------------------------------------------------------


def object_def(org: Org, name: str) -> ObjectDef:
    """The sObject named in a URL (case-insensitive); 404 NOT_FOUND if unknown."""
    obj = org.store.schema.get(name)
    if obj is None:
        raise not_found()
    return obj


def record_id(obj: ObjectDef, raw: str) -> str:
    """Validate an id from a URL against its object; the 18-char form."""
    if not is_well_formed(raw):
        raise not_found(f"Provided external ID field does not exist or is not accessible: {raw}")
    rid = to18(raw)
    if rid[:3] != obj.key_prefix:
        raise ApiError(
            400, "MALFORMED_ID", f"{obj.label or obj.name} ID: id value of incorrect type: {raw}", ["Id"]
        )
    return rid


def record_url(ver: str, sobject: str, rid: str) -> str:
    return f"/services/data/v{ver}/sobjects/{sobject}/{rid}"


def field_values(body: Any, *, allow_id: str | None = None) -> dict[str, Any]:
    """The field map of a record body (``attributes`` dropped; ``Id`` refused unless it equals allow_id)."""
    if not isinstance(body, dict):
        raise ApiError(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject from a non-object value"
        )
    values = {k: v for k, v in body.items() if k != "attributes"}
    for key in [k for k in values if k.lower() == "id"]:
        value = values.pop(key)
        if (
            allow_id is None
            or not isinstance(value, str)
            or not is_well_formed(value)
            or to18(value) != allow_id
        ):
            raise ApiError(
                400, "INVALID_FIELD", "The Id field should not be specified in the sobject data.", ["Id"]
            )
    return values


def parse_fields(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    names = [f.strip() for f in raw.split(",") if f.strip()]
    return names or None


def _multiple(ver: str, obj: ObjectDef, err: MultipleMatches) -> Reply:
    urls = [u if u.startswith("/") else record_url(ver, obj.name, u) for u in err.urls_or_ids]
    return Reply(300, urls)


# -- operations (shared with composite) ----------------------------------------------------------------


def create(org: Org, ver: str, sobject: str, body: Any, user_id: str) -> Reply:
    obj = object_def(org, sobject)
    values = field_values(body)
    new_id = org.store.insert(obj.name, values, user_id=user_id)
    return Reply(
        201, {"id": new_id, "success": True, "errors": []}, {"Location": record_url(ver, obj.name, new_id)}
    )


def retrieve(org: Org, ver: str, sobject: str, raw_id: str, fields: Sequence[str] | None) -> Reply:
    obj = object_def(org, sobject)
    rid = record_id(obj, raw_id)
    return Reply(200, org.store.get(obj.name, rid, fields, api_version=ver))


def update(org: Org, ver: str, sobject: str, raw_id: str, body: Any, user_id: str) -> Reply:
    obj = object_def(org, sobject)
    rid = record_id(obj, raw_id)
    org.store.update(obj.name, rid, field_values(body, allow_id=rid), user_id=user_id)
    return Reply(204)


def delete(org: Org, ver: str, sobject: str, raw_id: str) -> Reply:
    obj = object_def(org, sobject)
    rid = record_id(obj, raw_id)
    org.store.delete(obj.name, rid)
    return Reply(204)


def _ext_field(obj: ObjectDef, field: str) -> str:
    f = obj.field(field)
    if f is None or not (f.external_id or f.id_lookup or f.name == "Id"):
        raise not_found(f"Provided external ID field does not exist or is not accessible: {field}")
    return f.name


def _single_match(org: Org, ver: str, obj: ObjectDef, field: str, value: str) -> str | Reply:
    ids = org.store.find_ids(obj.name, _ext_field(obj, field), value)
    if not ids:
        raise not_found()
    if len(ids) > 1:
        return Reply(300, [record_url(ver, obj.name, i) for i in ids])
    return ids[0]


def get_by_external_id(
    org: Org, ver: str, sobject: str, field: str, value: str, fields: Sequence[str] | None
) -> Reply:
    obj = object_def(org, sobject)
    rel = related.find(org, ver, obj, field, value)
    if rel is not None:
        return related.get(org, ver, rel, fields)
    match = _single_match(org, ver, obj, field, value)
    if isinstance(match, Reply):
        return match
    return Reply(200, org.store.get(obj.name, match, fields, api_version=ver))


def delete_by_external_id(org: Org, ver: str, sobject: str, field: str, value: str) -> Reply:
    obj = object_def(org, sobject)
    rel = related.find(org, ver, obj, field, value)
    if rel is not None:
        return related.delete(org, rel)
    match = _single_match(org, ver, obj, field, value)
    if isinstance(match, Reply):
        return match
    org.store.delete(obj.name, match)
    return Reply(204)


def upsert(
    org: Org,
    ver: str,
    sobject: str,
    field: str,
    value: str,
    body: Any,
    user_id: str,
    *,
    update_only: bool = False,
) -> Reply:
    obj = object_def(org, sobject)
    rel = related.find(org, ver, obj, field, value)
    if rel is not None:
        return related.update(org, ver, rel, field_values(body), user_id)
    ext = _ext_field(obj, field)
    values = field_values(body)
    if ext == "Id" and value and is_well_formed(value):
        value = to18(value)
    if update_only and not org.store.find_ids(obj.name, ext, value):
        raise not_found()
    try:
        outcome = org.store.upsert(obj.name, ext, value, values, user_id=user_id)
    except MultipleMatches as err:
        return _multiple(ver, obj, err)
    if not outcome.created and float(ver) < 46.0:
        return Reply(204)
    status = 201 if outcome.created else 200
    headers = {"Location": record_url(ver, obj.name, outcome.id)} if outcome.created else {}
    return Reply(
        status, {"id": outcome.id, "success": True, "errors": [], "created": outcome.created}, headers
    )


def _limit(max_value: int, used: int = 0) -> dict[str, int]:
    return {"Max": max_value, "Remaining": max(0, max_value - used)}


def limits_body(org: Org) -> dict[str, Any]:
    """The ``/limits`` document; API, bulk batch and bulk query job figures are real counts."""
    store = org.store
    records = sum(store.record_counts().values())
    data_mb = 1024
    used_mb = min(data_mb, records * 2 // 1024)  # Salesforce counts ~2 KB per record
    return {
        "ActiveScratchOrgs": _limit(3),
        "AnalyticsExternalDataSizeMB": _limit(40960),
        "ConcurrentAsyncGetReportInstances": _limit(200),
        "ConcurrentSyncReportRuns": _limit(20),
        "DailyAnalyticsDataflowJobExecutions": _limit(60),
        "DailyApiRequests": _limit(org.api_request_limit(), org.api_counter.used()),
        "DailyAsyncApexExecutions": _limit(250000),
        "DailyAsyncApexTests": _limit(500),
        "DailyBulkApiBatches": _limit(15000, store.count_last_24h("bulk_batches")),
        "DailyBulkV2QueryFileStorageMB": _limit(976562),
        "DailyBulkV2QueryJobs": _limit(10000, store.count_last_24h("bulk_query_jobs")),
        "DailyDeliveredPlatformEvents": _limit(10000),
        "DailyDurableGenericStreamingApiEvents": _limit(10000),
        "DailyDurableStreamingApiEvents": _limit(10000),
        "DailyScratchOrgs": _limit(6),
        "DailyStandardVolumePlatformEvents": _limit(10000),
        "DailyStreamingApiEvents": _limit(10000),
        "DailyWorkflowEmails": _limit(405),
        "DataStorageMB": _limit(data_mb, used_mb),
        "DurableStreamingApiConcurrentClients": _limit(20),
        "FileStorageMB": _limit(20),
        "HourlyAsyncReportRuns": _limit(1200),
        "HourlyDashboardRefreshes": _limit(200),
        "HourlyDashboardResults": _limit(5000),
        "HourlyDashboardStatuses": _limit(999999999),
        "HourlyLongTermIdMapping": _limit(100000),
        "HourlyManagedContentPublicRequests": _limit(50000),
        "HourlyODataCallout": _limit(10000),
        "HourlyPublishedPlatformEvents": _limit(50000),
        "HourlyPublishedStandardVolumePlatformEvents": _limit(50000),
        "HourlyShortTermIdMapping": _limit(100000),
        "HourlySyncReportRuns": _limit(500),
        "HourlyTimeBasedWorkflow": _limit(50),
        "MassEmail": _limit(10),
        "Package2VersionCreates": _limit(6),
        "Package2VersionCreatesWithoutValidation": _limit(500),
        "PermissionSets": _limit(1500),
        "PrivateConnectOutboundCalloutHourlyLimitMB": _limit(0),
        "SingleEmail": _limit(15),
        "StreamingApiConcurrentClients": _limit(20),
    }


def record_count_body(org: Org, names: Sequence[str] | None) -> dict[str, Any]:
    counts = org.store.record_counts()
    wanted: Mapping[str, int]
    if names:
        lower = {k.lower(): (k, v) for k, v in counts.items()}
        wanted = dict(lower[n.lower()] for n in names if n.lower() in lower)
    else:
        wanted = counts
    return {"sObjects": [{"count": c, "name": n} for n, c in wanted.items() if c > 0]}


# -- handlers --------------------------------------------------------------------------------------------


async def versions(request: Request) -> Response:
    """``GET /services/data`` (no auth, no limit header)."""
    return json_response(versions_body())


async def resources(request: Request) -> Response:
    session = require_session(request)
    return json_response(resources_body(get_org(request), api_version_of(request), session.user_id))


async def sobjects_global(request: Request) -> Response:
    from kinetic_core.emulator.store.describe import describe_global

    require_session(request)
    org = get_org(request)
    headers = conditional.last_modified_header(org.schema_modified)
    if conditional.unchanged_since(org.schema_modified, conditional.if_modified_since(request)):
        return conditional.not_modified(headers)
    return json_response(describe_global(org.store.schema, api_version_of(request)), headers=headers)


async def sobject_root(request: Request) -> Response:
    session = require_session(request)
    org, ver = get_org(request), api_version_of(request)
    name = request.path_params["sobject"]
    if request.method == "POST":
        return render(create(org, ver, name, await read_json(request), session.user_id))
    from kinetic_core.emulator.store.describe import describe_global

    obj = object_def(org, name)
    entry = next(
        (e for e in describe_global(org.store.schema, ver)["sobjects"] if e["name"] == obj.name),
        {"name": obj.name},
    )
    return json_response({"objectDescribe": entry, "recentItems": []})


async def sobject_describe(request: Request) -> Response:
    from kinetic_core.emulator.store.describe import describe_sobject

    require_session(request)
    org = get_org(request)
    obj = object_def(org, request.path_params["sobject"])
    headers = conditional.last_modified_header(org.schema_modified)
    if conditional.unchanged_since(org.schema_modified, conditional.if_modified_since(request)):
        return conditional.not_modified(headers)
    return json_response(
        describe_sobject(org.store.schema, obj, api_version_of(request), instance_url=org.base_url),
        headers=headers,
    )


async def sobject_row(request: Request) -> Response:
    session = require_session(request)
    org, ver = get_org(request), api_version_of(request)
    name, rid = request.path_params["sobject"], request.path_params["rid"]
    method = request.method
    if method in ("GET", "HEAD"):
        return _conditional_row(
            request, org, retrieve(org, ver, name, rid, parse_fields(request.query_params.get("fields")))
        )
    if method == "PATCH":
        return render(update(org, ver, name, rid, await read_json(request), session.user_id))
    if method == "DELETE":
        return render(delete(org, ver, name, rid))
    if rid.lower() == "id":  # POST /sobjects/X/Id creates
        return render(create(org, ver, name, await read_json(request), session.user_id))
    raise ApiError(
        405, "METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed. Allowed are HEAD,GET,PATCH,DELETE"
    )


def _conditional_row(request: Request, org: Org, reply: Reply) -> Response:
    """A record GET with its ETag (Account) and the If-None-Match / If-Modified-Since checks."""
    body = reply.body
    sobject = body["attributes"]["type"]
    headers: dict[str, str] = {}
    if sobject in conditional.ETAG_OBJECTS:
        headers["ETag"] = conditional.etag_of(body)
        if conditional.etag_matches(request, headers["ETag"]):
            return conditional.not_modified(headers)
    since = conditional.if_modified_since(request)
    if since is not None:
        rid = body["attributes"]["url"].rsplit("/", 1)[-1]
        stamp = org.store.get(sobject, rid, ["LastModifiedDate"]).get("LastModifiedDate")
        if stamp and conditional.unchanged_since(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z"), since):
            return conditional.not_modified(headers)
    return json_response(body, headers=headers)


async def sobject_external(request: Request) -> Response:
    session = require_session(request)
    org, ver = get_org(request), api_version_of(request)
    p = request.path_params
    name, field, value = p["sobject"], p["field"], p["value"]
    if request.method in ("GET", "HEAD"):
        fields = parse_fields(request.query_params.get("fields"))
        return render(get_by_external_id(org, ver, name, field, value, fields))
    if request.method == "DELETE":
        return render(delete_by_external_id(org, ver, name, field, value))
    update_only = request.query_params.get("updateOnly", "").lower() == "true"
    body = await read_json(request)
    return render(upsert(org, ver, name, field, value, body, session.user_id, update_only=update_only))


async def limits(request: Request) -> Response:
    require_session(request)
    return json_response(limits_body(get_org(request)))


async def record_count(request: Request) -> Response:
    require_session(request)
    return json_response(
        record_count_body(get_org(request), parse_fields(request.query_params.get("sObjects")))
    )


def routes() -> list[BaseRoute]:
    """REST basics routes."""
    v = "/services/data/v{ver}"
    return [
        Route("/services/data", versions, methods=["GET"]),
        Route(v, resources, methods=["GET"]),
        Route(f"{v}/sobjects", sobjects_global, methods=["GET"]),
        Route(f"{v}/sobjects/{{sobject}}", sobject_root, methods=["GET", "POST"]),
        Route(f"{v}/sobjects/{{sobject}}/describe", sobject_describe, methods=["GET"]),
        Route(f"{v}/sobjects/{{sobject}}/{{rid}}", sobject_row, methods=["GET", "PATCH", "DELETE", "POST"]),
        Route(
            f"{v}/sobjects/{{sobject}}/{{field}}/{{value}}",
            sobject_external,
            methods=["GET", "PATCH", "DELETE"],
        ),
        Route(f"{v}/limits", limits, methods=["GET"]),
        Route(f"{v}/limits/recordCount", record_count, methods=["GET"]),
    ]
