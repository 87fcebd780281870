"""The emulator's admin API (``/_emulator/...``), answered only for loopback clients.

* ``POST /_emulator/reset``: delete all records (seed rows stay), clear faults and stats;
* ``POST /_emulator/faults`` with any subset of :class:`FaultConfig` keys (``{}`` clears);
* ``GET /_emulator/faults``: the current configuration and injected-fault counts;
* ``GET /_emulator/stats``: requests by route kind, records per object, faults by kind.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.faults import FaultConfig
from kinetic_core.emulator.routes.common import get_org, json_response, read_json

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})


def _require_loopback(request: Request) -> None:
    host = request.client.host if request.client else None
    if host is not None and host not in LOOPBACK_HOSTS and not host.startswith("127."):
        raise ApiError(403, "INSUFFICIENT_ACCESS", "The emulator admin API only answers loopback clients")


async def reset(request: Request) -> Response:
    _require_loopback(request)
    get_org(request).reset()
    return json_response({"reset": True})


async def faults(request: Request) -> Response:
    _require_loopback(request)
    org = get_org(request)
    if request.method == "POST":
        org.faults.configure(FaultConfig.from_json(await read_json(request)))
    return json_response({"config": org.faults.config.to_json(), "injected": org.faults.injected()})


async def stats(request: Request) -> Response:
    _require_loopback(request)
    org = get_org(request)
    return json_response(
        {
            "requests": org.request_counts(),
            "records": org.store.record_counts(),
            "faults": org.faults.injected(),
            "api_requests_24h": org.api_counter.used(),
        }
    )


def routes() -> list[BaseRoute]:
    """Admin routes."""
    return [
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/faults", faults, methods=["GET", "POST"]),
        Route("/_emulator/stats", stats, methods=["GET"]),
    ]
