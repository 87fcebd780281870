"""REST handlers that need more than an operation: no session, or conditional GETs.

Versions answer without a session; describe, describe global and sObject rows honour
``If-Modified-Since`` (and, on Account rows, ``If-None-Match``; see :mod:`.conditional`). The
operations behind them live in :mod:`kinetic_core.emulator.service.records` and
:mod:`kinetic_core.emulator.service.org_info`; the other REST endpoints are served by the URL table's
generic handler.
"""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from kinetic_core.emulator.org import Org
from kinetic_core.emulator.routes import conditional
from kinetic_core.emulator.routes.common import (
    api_version_of,
    get_org,
    json_response,
    read_json,
    render,
    require_session,
)
from kinetic_core.emulator.routing import call_of
from kinetic_core.emulator.service import org_info, records
from kinetic_core.emulator.service.calls import Reply


async def versions(request: Request) -> Response:
    """``GET /services/data`` (no auth, no limit header)."""
    return json_response(org_info.versions_body())


async def sobjects_global(request: Request) -> Response:
    require_session(request)
    org = get_org(request)
    headers = conditional.last_modified_header(org.schema_modified)
    if conditional.unchanged_since(org.schema_modified, conditional.if_modified_since(request)):
        return conditional.not_modified(headers)
    return json_response(org_info.describe_global_body(org, api_version_of(request)), headers=headers)


async def sobject_describe(request: Request) -> Response:
    require_session(request)
    org = get_org(request)
    name = request.path_params["sobject"]
    records.object_def(org, name)  # 404 before any 304
    headers = conditional.last_modified_header(org.schema_modified)
    if conditional.unchanged_since(org.schema_modified, conditional.if_modified_since(request)):
        return conditional.not_modified(headers)
    return json_response(org_info.describe_body(org, api_version_of(request), name), headers=headers)


async def sobject_row(request: Request) -> Response:
    """``/sobjects/{sobject}/{rid}``: a GET is conditional; the rest is :func:`records.op_row`."""
    session = require_session(request)
    org = get_org(request)
    creates = request.method == "POST" and request.path_params["rid"].lower() == "id"
    body = await read_json(request) if request.method == "PATCH" or creates else None
    reply = records.op_row(call_of(request, session.user_id, body))
    if request.method in ("GET", "HEAD"):
        return _conditional_row(request, org, reply)
    return render(reply)


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


__all__ = ["sobject_describe", "sobject_row", "sobjects_global", "versions"]
