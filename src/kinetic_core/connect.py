"""Opening an org for ``SalesforceClient.connect``: resolve the configuration, build the session, and
start (and later stop) the built-in local emulator when the org is ``local``."""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar

from kinetic_core._httpx import httpx
from kinetic_core.config import OrgConfig, resolve_org
from kinetic_core.home import kinetic_home
from kinetic_core.http.bounds import ResponseBounds
from kinetic_core.http.retry import RetryPolicy
from kinetic_core.http.session import HttpSession, Timeouts
from kinetic_core.localorg import local_config

if TYPE_CHECKING:
    from kinetic_core.http.asession import AsyncHttpSession

logger = logging.getLogger(__name__)

SESSION_OPTIONS = frozenset(
    {
        "transport",
        "timeouts",
        "connect_timeout",
        "read_timeout",
        "retry",
        "clock",
        "sleep",
        "rng",
        "monotonic",
        "bounds",
        "http_client",
    }
)
LOOKUP_OPTIONS = frozenset({"environ", "cwd", "home"})
ASYNC_OPTIONS = frozenset({"max_connections"})
"""Session options only an ``AsyncHttpSession`` takes."""


class OrgSettings(TypedDict, total=False):
    """The ``OrgConfig`` settings ``connect`` takes as keywords, and where configuration is looked up
    (``environ``, ``cwd``, ``home``)."""

    login_url: str
    client_id: str | None
    client_secret: str | None
    username: str | None
    password: str | None
    security_token: str | None
    private_key_path: str | None
    private_key: str | None
    refresh_token: str | None
    instance_url: str | None
    access_token: str | None
    api_version: str
    ca_bundle: str | None
    verify_tls: bool
    environ: Mapping[str, str] | None
    cwd: str | Path | None
    home: str | Path | None


class _Timing(TypedDict, total=False):
    timeouts: Timeouts | None
    connect_timeout: float | None
    read_timeout: float | None
    retry: RetryPolicy | None
    bounds: ResponseBounds | None
    clock: Callable[[], float]
    rng: random.Random | None
    monotonic: Callable[[], float]


class ConnectOptions(OrgSettings, _Timing, total=False):
    """The keywords of ``SalesforceClient.connect``: org settings and session options, typed so a
    misspelled one is a type error (and an unknown one a ``ConfigError`` naming it)."""

    transport: httpx.BaseTransport | None
    http_client: httpx.Client | None
    sleep: Callable[[float], None]


class AsyncConnectOptions(OrgSettings, _Timing, total=False):
    """The keywords of ``AsyncSalesforceClient.connect``: those of :class:`ConnectOptions` for an
    ``httpx.AsyncClient``, an awaited ``sleep``, and ``max_connections``."""

    transport: httpx.AsyncBaseTransport | None
    http_client: httpx.AsyncClient | None
    sleep: Callable[[float], Awaitable[None]]
    max_connections: int


S = TypeVar("S", "HttpSession", "AsyncHttpSession")


@dataclass(frozen=True)
class OpenedOrg(Generic[S]):
    """An org ready for a client: its session, its resolved configuration, and what to run on close.

    Attributes:
        session: the HTTP session every call of the client goes through (an ``AsyncHttpSession``
            when opened ``asynchronous``).
        config: the concrete configuration (for ``local``, the emulator's URL and credentials).
        closers: stop what opening started (an in-process emulator), in order.
    """

    session: S
    config: OrgConfig
    closers: tuple[Callable[[], None], ...]


def open_org(org: str | None, overrides: Mapping[str, Any]) -> OpenedOrg[HttpSession]:
    """Resolve ``org`` and build its session (see ``SalesforceClient.connect`` for ``overrides``).

    Example:
        >>> opened = open_org("local", {})    # doctest: +SKIP
        >>> opened.config.source               # doctest: +SKIP
        'in-process local emulator at http://127.0.0.1:...'
    """
    opened: OpenedOrg[HttpSession] = _open(org, overrides, HttpSession, SESSION_OPTIONS)
    return opened


def open_async_org(org: str | None, overrides: Mapping[str, Any]) -> OpenedOrg[AsyncHttpSession]:
    """``open_org`` for ``AsyncSalesforceClient``: the session is an ``AsyncHttpSession``, which also
    takes ``max_connections`` (calls in flight at most) and awaits ``sleep``."""
    from kinetic_core.http.asession import AsyncHttpSession

    opened: OpenedOrg[AsyncHttpSession] = _open(
        org, overrides, AsyncHttpSession, SESSION_OPTIONS | ASYNC_OPTIONS
    )
    return opened


def _open(org: str | None, overrides: Mapping[str, Any], session_type: Any, known: frozenset[str]) -> Any:
    settings = {k: v for k, v in overrides.items() if k not in known | LOOKUP_OPTIONS}
    options = {k: v for k, v in overrides.items() if k in known}
    environ: Mapping[str, str] = overrides.get("environ") or os.environ
    home = Path(overrides["home"]) if overrides.get("home") else kinetic_home(environ)
    cwd = Path(overrides["cwd"]) if overrides.get("cwd") else None
    config = resolve_org(org, settings, environ=environ, cwd=cwd, home=home)
    closers: list[Callable[[], None]] = []
    if config.local:
        config, stop = local_config(config, home)
        if stop is not None:
            closers.append(stop)
    try:
        timeouts = options.get("timeouts")
        if timeouts is None:
            defaults = Timeouts()
            timeouts = Timeouts(
                connect=float(options.get("connect_timeout") or defaults.connect),
                read=float(options.get("read_timeout") or defaults.read),
            )
        passed = ("clock", "sleep", "rng", "retry", "monotonic", "bounds", "max_connections")
        extra: dict[str, Any] = {k: options[k] for k in passed if k in options}
        session = session_type(
            config.authenticator(),
            api_version=config.api_version,
            http_client=options.get("http_client"),
            transport=options.get("transport"),
            verify=config.verify,
            timeouts=timeouts,
            **extra,
        )
    except BaseException:
        for closer in closers:
            closer()
        raise
    logger.info("org %s: %s (%s flow)", config.name, config.source, session.auth.flow)
    return OpenedOrg(session, config, tuple(closers))
