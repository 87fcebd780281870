"""The emulator's admin API (``/_emulator/...``): loopback clients with the admin token, no browsers.

* ``POST /_emulator/reset``: delete all records (seed rows stay), clear faults and stats;
* ``POST /_emulator/faults`` with any subset of :class:`FaultConfig` keys (``{}`` clears);
* ``GET /_emulator/faults``: the current configuration and injected-fault counts;
* ``GET /_emulator/stats``: requests by route kind, records per object, faults by kind.

Every request must come from a loopback address and carry the org's admin token (``admin_token`` in
``emulator.json``) in the ``X-Kinetic-Admin-Token`` header; a request with an ``Origin`` header (which
browsers add to cross-origin and POST requests) is refused, so no web page can reset the org or
inject faults, whatever the body's content type. Refusals answer 403 ``INSUFFICIENT_ACCESS``.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.faults import FaultConfig
from kinetic_core.emulator.web import get_org, json_response, read_json

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})
ADMIN_TOKEN_HEADER = "X-Kinetic-Admin-Token"


def _require_loopback(request: Request) -> None:
    host = request.client.host if request.client else None
    if host is not None and host not in LOOPBACK_HOSTS and not host.startswith("127."):
        raise ApiError(403, "INSUFFICIENT_ACCESS", "The emulator admin API only answers loopback clients")


def _require_admin(request: Request) -> None:
    """Loopback, not from a web page, and the admin token."""
    _require_loopback(request)
    if "origin" in request.headers:
        raise ApiError(403, "INSUFFICIENT_ACCESS", "The emulator admin API does not answer web pages")
    given = request.headers.get(ADMIN_TOKEN_HEADER, "").encode("utf-8", "surrogateescape")
    expected = get_org(request).admin_token.encode("utf-8")
    if not hmac.compare_digest(given, expected):
        raise ApiError(
            403,
            "INSUFFICIENT_ACCESS",
            f"The emulator admin API needs the {ADMIN_TOKEN_HEADER} header (admin_token in emulator.json)",
        )


async def reset(request: Request) -> Response:
    _require_admin(request)
    get_org(request).reset()
    return json_response({"reset": True})


async def faults(request: Request) -> Response:
    _require_admin(request)
    org = get_org(request)
    if request.method == "POST":
        org.faults.configure(FaultConfig.from_json(await read_json(request)))
    return json_response({"config": org.faults.config.to_json(), "injected": org.faults.injected()})


async def stats(request: Request) -> Response:
    _require_admin(request)
    org = get_org(request)
    return json_response(
        {
            "requests": org.request_counts(),
            "records": org.store.record_counts(),
            "faults": org.faults.injected(),
            "api_requests_24h": org.api_counter.used(),
        }
    )
