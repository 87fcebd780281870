"""Composite (``/composite``) and Composite Batch (``/composite/batch``): running sub-requests.

The rules live here: validation of the envelope, ``@{ref.path}`` references, allOrNone (through
:func:`~kinetic_core.emulator.service.transactions.run_atomic`) and ``haltOnError``. Each sub-request
goes to a :data:`Dispatch` function (the URL table's, see :mod:`kinetic_core.emulator.urls`), which
answers a :class:`Reply` for any URL and never raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.org import Org
from kinetic_core.emulator.service.calls import Reply
from kinetic_core.emulator.service.transactions import run_atomic
from kinetic_core.emulator.store import numbers

MAX_SUBREQUESTS = 25
_REF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)\.([^}]+)\}")
_FORBIDDEN_HEADERS = {"accept", "authorization", "content-type"}
_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
HALTED_MESSAGE = "The transaction was rolled back since another operation in the same transaction failed."

Dispatch = Callable[[str, str, Any, Mapping[str, str]], Reply]
"""``(method, url, body, headers) -> Reply``: runs one sub-request; errors come back as a Reply."""


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
        return _REFERENCE.sub(lambda m: _text(_resolve(m.group(1), m.group(2), done)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, done) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, done) for v in value]
    return value


def _text(value: Any) -> str:
    """A referenced value inside a string: numbers as their JSON text."""
    return numbers.json_text(value) if isinstance(value, Decimal) else str(value)


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


def run_composite(org: Org, body: Any, dispatch: Dispatch) -> dict[str, Any]:
    """Run a ``/composite`` request body; the ``compositeResponse`` document (always 200).

    Example:
        >>> run_composite(org, {"compositeRequest": [...]}, table.dispatcher(org, user_id))  # doctest: +SKIP
    """
    all_or_none, subs = _validate_composite(body)
    done: dict[str, Reply] = {}
    halted = Reply(400, [{"errorCode": "PROCESSING_HALTED", "message": HALTED_MESSAGE}])

    def run_all() -> bool:
        failed = False
        for sub in subs:
            ref = sub["referenceId"]
            if failed and all_or_none:
                done[ref] = halted
                continue
            try:
                url = _substitute(sub["url"], done)
                payload = _substitute(sub.get("body"), done)
                reply = dispatch(sub["method"], url, payload, _headers(sub))
            except ApiError as err:
                reply = Reply.error(err)
            done[ref] = reply
            failed = failed or reply.status >= 400
        return failed

    if run_atomic(org.store, run_all, atomic=all_or_none):
        for ref, reply in done.items():
            if reply.status < 400:
                done[ref] = halted
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


def _headers(sub: dict[str, Any]) -> dict[str, str]:
    raw = sub.get("httpHeaders") or {}
    return {str(k).lower(): str(v) for k, v in raw.items()}


def run_batch(body: Any, dispatch: Dispatch) -> dict[str, Any]:
    """Run a ``/composite/batch`` request body: each sub-request commits on its own.

    Example:
        >>> run_batch({"batchRequests": [...]}, table.dispatcher(org, user_id, batch=True))  # doctest: +SKIP
    """
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
        reply = dispatch(sub["method"], "/" + url, sub.get("richInput"), {})
        results.append({"statusCode": reply.status, "result": reply.body if reply.status != 204 else None})
        if reply.status >= 400 and halt:
            halted = True
    return {"hasErrors": any(r["statusCode"] >= 400 for r in results), "results": results}


__all__ = ["MAX_SUBREQUESTS", "Dispatch", "run_batch", "run_composite"]
