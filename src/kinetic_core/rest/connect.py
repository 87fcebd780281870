"""``SalesforceClient.connect``: resolve the configuration, build the session, own a local emulator."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kinetic_core.config import OrgConfig, kinetic_home, resolve_org
from kinetic_core.http.session import HttpSession, Timeouts
from kinetic_core.rest.local import local_config

if TYPE_CHECKING:
    from kinetic_core.http.asession import AsyncHttpSession
    from kinetic_core.rest.client import SalesforceClient

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

C = TypeVar("C", bound="SalesforceClient")


@dataclass(frozen=True)
class OpenedOrg:
    """An org ready for a client: its session, its resolved configuration, and what to run on close."""

    session: HttpSession | AsyncHttpSession
    config: OrgConfig
    closers: tuple[Callable[[], None], ...]


def connect_client(cls: type[C], org: str | None, overrides: Mapping[str, Any]) -> C:
    """Build a client of type ``cls`` for ``org`` (see ``SalesforceClient.connect``)."""
    opened = open_org(org, overrides)
    assert isinstance(opened.session, HttpSession)
    config = opened.config
    return cls(
        opened.session,
        closers=opened.closers,
        org_name=config.name,
        org_source=config.source,
        org_local=config.local,
    )


def open_org(org: str | None, overrides: Mapping[str, Any], *, asynchronous: bool = False) -> OpenedOrg:
    """Resolve ``org`` and build its session: an ``HttpSession``, or with ``asynchronous`` an
    ``AsyncHttpSession`` (which also takes ``max_connections``; its ``sleep`` is awaited)."""
    options_known = SESSION_OPTIONS | ASYNC_OPTIONS if asynchronous else SESSION_OPTIONS
    settings = {k: v for k, v in overrides.items() if k not in options_known | LOOKUP_OPTIONS}
    options = {k: v for k, v in overrides.items() if k in options_known}
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
        session_type: Any = HttpSession
        if asynchronous:
            from kinetic_core.http.asession import AsyncHttpSession

            session_type = AsyncHttpSession
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
