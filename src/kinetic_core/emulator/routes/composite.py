"""Composite resources: ``/composite``, ``/composite/batch``, ``/composite/tree`` and the Collections routes.

Sub-requests never go back through HTTP: :func:`dispatch` maps a method and URL
to the same transport-free operations the direct routes use.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.org import Org
from kinetic_core.emulator.routes import collections, query, rest
from kinetic_core.emulator.routes.common import (
    Reply,
    api_version_of,
    get_org,
    json_response,
    read_json,
    render,
    require_session,
)
from kinetic_core.emulator.routes.tree import create_tree

MAX_SUBREQUESTS = 25
_REF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)\.([^}]+)\}")
_PATH = re.compile(r"^/services/data/v(\d+\.\d)/(.*)$")
_FORBIDDEN_HEADERS = {"accept", "authorization", "content-type"}
_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
HALTED_MESSAGE = "The transaction was rolled back since another operation in the same transaction failed."


def _route(
    org: Org, user_id: str, method: str, ver: str, parts: list[str], params: dict[str, str], body: Any
) -> Reply:
    """Map a sub-request path (split after ``/services/data/vX``) to an operation."""
    head = parts[0] if parts else ""
    n = len(parts)
    if head == "sobjects" and n >= 2:
        name = parts[1]
        if n == 2 and method == "POST":
            return rest.create(org, ver, name, body, user_id)
        if n == 2 and method == "GET":
            obj = rest.object_def(org, name)
            return Reply(
                200, {"objectDescribe": {"name": obj.name, "keyPrefix": obj.key_prefix}, "recentItems": []}
            )
        if n == 3 and parts[2] == "describe" and method == "GET":
            from kinetic_core.emulator.store.describe import describe_sobject

            return Reply(
                200,
                describe_sobject(
                    org.store.schema, rest.object_def(org, name), ver, instance_url=org.base_url
                ),
            )
        if n == 3:
            rid = parts[2]
            if method == "GET":
                return rest.retrieve(org, ver, name, rid, rest.parse_fields(params.get("fields")))
            if method == "PATCH":
                return rest.update(org, ver, name, rid, body, user_id)
            if method == "DELETE":
                return rest.delete(org, ver, name, rid)
        if n == 4:
            field, value = parts[2], parts[3]
            if method == "GET":
                return rest.get_by_external_id(
                    org, ver, name, field, value, rest.parse_fields(params.get("fields"))
                )
            if method == "PATCH":
                update_only = params.get("updateOnly", "").lower() == "true"
                return rest.upsert(org, ver, name, field, value, body, user_id, update_only=update_only)
            if method == "DELETE":
                return rest.delete_by_external_id(org, ver, name, field, value)
    if head in ("query", "queryAll") and method == "GET":
        if n == 1:
            return Reply(200, query.run_query(org, ver, params.get("q"), include_deleted=head == "queryAll"))
        if n == 2:
            return Reply(200, query.query_more(org, ver, parts[1]))
    if head == "composite" and n >= 2 and parts[1] == "sobjects":
        if n == 2 and method == "POST":
            return collections.create_many(org, ver, body, user_id)
        if n == 2 and method == "PATCH":
            return collections.update_many(org, ver, body, user_id)
        if n == 2 and method == "DELETE":
            return collections.delete_many(org, ver, params.get("ids"), params.get("allOrNone"))
        if n == 3 and method in ("GET", "POST"):
            src = body if method == "POST" and isinstance(body, dict) else params
            return collections.retrieve_many(org, ver, parts[2], src.get("ids"), src.get("fields"))
        if n == 4 and method == "PATCH":
            return collections.upsert_many(org, ver, parts[2], parts[3], body, user_id)
    path = "/".join(parts)
    raise ApiError(
        404,
        "NOT_FOUND",
        "The requested resource does not exist or is not supported by this emulator in a composite "
        f"request: {method} /services/data/v{ver}/{path}",
    )


def dispatch(org: Org, user_id: str, method: str, url: str, body: Any) -> Reply:
    """Run one sub-request; every error becomes an error :class:`Reply` (never raises ApiError)."""
    split = urlsplit(url)
    path = re.sub(r"/{2,}", "/", split.path).rstrip("/")
    m = _PATH.match(path)
    if not m:
        return Reply.error(ApiError(404, "NOT_FOUND", "The requested resource does not exist"))
    ver = m.group(1)
    parts = [unquote(p) for p in m.group(2).split("/")] if m.group(2) else []
    params = dict(parse_qsl(split.query, keep_blank_values=True))
    try:
        return _route(org, user_id, method.upper(), ver, parts, params, body)
    except ApiError as err:
        return Reply.error(err)


# -- /composite --------------------------------------------------------------------------------------


def _lookup(value: Any, path: str) -> Any:
    """Walk ``records[0].Id``-style paths through a prior sub-response body."""
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if token.startswith("["):
            idx = int(token[1:-1])
            if not isinstance(value, list) or idx >= len(value):
                raise KeyError(path)
            value = value[idx]
        elif isinstance(value, dict) and token in value:
            value = value[token]
        else:
            raise KeyError(path)
    return value


def _substitute(value: Any, done: dict[str, Reply]) -> Any:
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _resolve(whole.group(1), whole.group(2), done)
        return _REFERENCE.sub(lambda m: str(_resolve(m.group(1), m.group(2), done)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, done) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, done) for v in value]
    return value


def _resolve(ref: str, path: str, done: dict[str, Reply]) -> Any:
    reply = done.get(ref)
    try:
        if reply is None or reply.status >= 400:
            raise KeyError(path)
        return _lookup(reply.body, path)
    except KeyError:
        raise ApiError(
            400,
            "PROCESSING_HALTED",
            f"Invalid reference specified. No value for {ref}.{path} found in {ref}. Provided referenceId "
            f"('{ref}') must be a previous operation that was successful.",
        ) from None


def _validate_composite(body: Any) -> tuple[bool, list[dict[str, Any]]]:
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise ApiError(
            400, "JSON_PARSER_ERROR", "The request body must be an object with a 'compositeRequest' array"
        )
    subs = body["compositeRequest"]
    if not subs:
        raise ApiError(400, "INVALID_FIELD", "compositeRequest must contain at least 1 subrequest")
    if len(subs) > MAX_SUBREQUESTS:
        raise ApiError(
            400, "LIMIT_EXCEEDED", f"A composite request may contain at most {MAX_SUBREQUESTS} subrequests"
        )
    seen: set[str] = set()
    for sub in subs:
        if not isinstance(sub, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Each subrequest must be a JSON object")
        ref, method, url = sub.get("referenceId"), sub.get("method"), sub.get("url")
        if not isinstance(ref, str) or not _REF_ID.match(ref):
            raise ApiError(400, "INVALID_FIELD", f"Invalid referenceId: {ref!r}", ["referenceId"])
        if ref in seen:
            raise ApiError(
                400, "INVALID_FIELD", f"Duplicate referenceId provided in the request: {ref}", ["referenceId"]
            )
        seen.add(ref)
        if method not in _METHODS:
            raise ApiError(400, "INVALID_FIELD", f"Invalid HTTP method: {method!r}", ["method"])
        if not isinstance(url, str) or not url.startswith("/services/data/v"):
            raise ApiError(400, "INVALID_FIELD", "The url must start with /services/data/vXX.X/", ["url"])
        headers = sub.get("httpHeaders") or {}
        if not isinstance(headers, dict) or _FORBIDDEN_HEADERS & {str(h).lower() for h in headers}:
            raise ApiError(
                400, "INVALID_FIELD", "httpHeaders may not contain Accept, Authorization or Content-Type"
            )
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise ApiError(400, "JSON_PARSER_ERROR", "allOrNone must be true or false")
    return all_or_none, subs


def run_composite(org: Org, user_id: str, body: Any) -> dict[str, Any]:
    all_or_none, subs = _validate_composite(body)
    done: dict[str, Reply] = {}
    halted = Reply(400, [{"errorCode": "PROCESSING_HALTED", "message": HALTED_MESSAGE}])
    failed = False

    def run_all() -> None:
        nonlocal failed
        for sub in subs:
            ref = sub["referenceId"]
            if failed and all_or_none:
                done[ref] = halted
                continue
            try:
                url = _substitute(sub["url"], done)
                payload = _substitute(sub.get("body"), done)
                reply = dispatch(org, user_id, sub["method"], url, payload)
            except ApiError as err:
                reply = Reply.error(err)
            done[ref] = reply
            if reply.status >= 400 and all_or_none:
                failed = True

    if all_or_none:
        try:
            with org.store.transaction():
                run_all()
                if failed:
                    raise collections._Rollback()
        except collections._Rollback:
            for ref, reply in done.items():
                if reply.status < 400:
                    done[ref] = halted
    else:
        run_all()
    return {
        "compositeResponse": [
            {
                "body": done[s["referenceId"]].body if done[s["referenceId"]].status != 204 else None,
                "httpHeaders": done[s["referenceId"]].headers,
                "httpStatusCode": done[s["referenceId"]].status,
                "referenceId": s["referenceId"],
            }
            for s in subs
        ]
    }


def run_batch(org: Org, user_id: str, outer_ver: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("batchRequests"), list):
        raise ApiError(
            400, "JSON_PARSER_ERROR", "The request body must be an object with a 'batchRequests' array"
        )
    reqs = body["batchRequests"]
    if not reqs or len(reqs) > MAX_SUBREQUESTS:
        raise ApiError(
            400, "LIMIT_EXCEEDED", f"A batch must contain between 1 and {MAX_SUBREQUESTS} subrequests"
        )
    halt = bool(body.get("haltOnError", False))
    results: list[dict[str, Any]] = []
    halted = False
    for sub in reqs:
        if (
            not isinstance(sub, dict)
            or sub.get("method") not in _METHODS
            or not isinstance(sub.get("url"), str)
        ):
            raise ApiError(400, "JSON_PARSER_ERROR", "Each batch request needs a method and a url")
        if halted:
            results.append(
                {
                    "statusCode": 412,
                    "result": [
                        {
                            "errorCode": "BATCH_PROCESSING_HALTED",
                            "message": "Batch processing halted per request",
                        }
                    ],
                }
            )
            continue
        url = sub["url"].lstrip("/")
        url = url if url.startswith("services/data/") else f"services/data/{url}"
        if sub["method"] == "GET" and re.fullmatch(r"services/data/v\d+\.\d+/limits/?", url):
            reply = Reply(200, rest.limits_body(org))  # batchable, unlike in /composite [D]
        else:
            reply = dispatch(org, user_id, sub["method"], "/" + url, sub.get("richInput"))
        results.append({"statusCode": reply.status, "result": reply.body if reply.status != 204 else None})
        if reply.status >= 400 and halt:
            halted = True
    return {"hasErrors": any(r["statusCode"] >= 400 for r in results), "results": results}


# -- handlers ---------------------------------------------------------------------------------------------


async def composite_root(request: Request) -> Response:
    session = require_session(request)
    org, ver = get_org(request), api_version_of(request)
    if request.method == "GET":
        base = f"/services/data/v{ver}/composite"
        return json_response(
            {
                "tree": f"{base}/tree",
                "batch": f"{base}/batch",
                "sobjects": f"{base}/sobjects",
                "graph": f"{base}/graph",
            }
        )
    return json_response(run_composite(org, session.user_id, await read_json(request)))


async def composite_batch(request: Request) -> Response:
    session = require_session(request)
    org = get_org(request)
    return json_response(run_batch(org, session.user_id, api_version_of(request), await read_json(request)))


async def composite_tree(request: Request) -> Response:
    session = require_session(request)
    org = get_org(request)
    status, body = create_tree(org, request.path_params["sobject"], await read_json(request), session.user_id)
    return json_response(body, status)


async def composite_graph(request: Request) -> Response:
    require_session(request)
    raise ApiError(400, "FUNCTIONALITY_NOT_ENABLED", "Composite graph is not supported by this emulator")


async def sobjects_collection(request: Request) -> Response:
    session = require_session(request)
    org, ver = get_org(request), api_version_of(request)
    params = request.query_params
    if request.method == "DELETE":
        return render(collections.delete_many(org, ver, params.get("ids"), params.get("allOrNone")))
    body = await read_json(request)
    if request.method == "POST":
        return render(collections.create_many(org, ver, body, session.user_id))
    return render(collections.update_many(org, ver, body, session.user_id))


async def sobjects_retrieve(request: Request) -> Response:
    require_session(request)
    org, ver = get_org(request), api_version_of(request)
    name = request.path_params["sobject"]
    if request.method == "POST":
        body = await read_json(request)
        if not isinstance(body, dict):
            raise ApiError(
                400, "JSON_PARSER_ERROR", "The request body must be an object with 'ids' and 'fields'"
            )
        return render(collections.retrieve_many(org, ver, name, body.get("ids"), body.get("fields")))
    params = request.query_params
    return render(collections.retrieve_many(org, ver, name, params.get("ids"), params.get("fields")))


async def sobjects_upsert(request: Request) -> Response:
    session = require_session(request)
    org, ver = get_org(request), api_version_of(request)
    p = request.path_params
    body = await read_json(request)
    return render(collections.upsert_many(org, ver, p["sobject"], p["field"], body, session.user_id))


def routes() -> list[BaseRoute]:
    """Composite routes."""
    c = "/services/data/v{ver}/composite"
    return [
        Route(c, composite_root, methods=["GET", "POST"]),
        Route(f"{c}/batch", composite_batch, methods=["POST"]),
        Route(f"{c}/tree/{{sobject}}", composite_tree, methods=["POST"]),
        Route(f"{c}/graph", composite_graph, methods=["POST"]),
        Route(f"{c}/sobjects", sobjects_collection, methods=["POST", "PATCH", "DELETE"]),
        Route(f"{c}/sobjects/{{sobject}}", sobjects_retrieve, methods=["GET", "POST"]),
        Route(f"{c}/sobjects/{{sobject}}/{{field}}", sobjects_upsert, methods=["PATCH"]),
    ]


__all__ = ["dispatch", "routes", "run_batch", "run_composite"]
