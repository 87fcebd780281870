"""The built-in ``local`` org: a running ``kinetic emulator start``, else an emulator started in-process.

A running emulator announces itself in ``<kinetic home>/local/emulator.json`` (URL and credentials of
the local, throw-away org). When that file names no live server, ``LocalOrg`` is started on the SQLite
file under ``<kinetic home>/local`` for the life of the client. Only one server may run on a data dir
(it holds ``emulator.lock``): when another process started one a moment earlier, this one is refused
and waits (up to ``wait`` seconds) for that server's ``emulator.json``, then uses it.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from kinetic_core._httpx import httpx
from kinetic_core.config import OrgConfig
from kinetic_core.errors import ConfigError

logger = logging.getLogger(__name__)

EMULATOR_FILE = "emulator.json"


def read_emulator_file(data_dir: Path) -> dict[str, Any] | None:
    """The parsed ``emulator.json`` of a data dir, or None when absent/unreadable."""
    try:
        info = json.loads((data_dir / EMULATOR_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (signal 0 probes without signalling; a zombie has exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no /proc (macOS): the signal probe has to do
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return True  # no pid recorded: let the HTTP probe decide
    return pid_alive(pid)


def _instance_of(info: Mapping[str, Any]) -> str | None:
    url = info.get("instance_url") or info.get("url") or info.get("login_url")
    return str(url).rstrip("/") if url else None


def is_live(info: Mapping[str, Any], timeout: float = 1.0) -> bool:
    """True when the emulator ``info`` describes answers ``GET /services/data``."""
    url = _instance_of(info)
    if not url or not _pid_alive(info.get("pid")):
        return False
    ca = info.get("ca_cert")
    verify: bool | ssl.SSLContext = ssl.create_default_context(cafile=str(ca)) if ca else True
    try:
        with httpx.Client(verify=verify, timeout=timeout) as probe:
            return probe.get(f"{url}/services/data").status_code < 500
    except (httpx.HTTPError, OSError, ssl.SSLError):
        return False


def config_from_info(base: OrgConfig, info: Mapping[str, Any]) -> OrgConfig:
    """The password-flow configuration for an emulator described by ``info``."""
    url = _instance_of(info) or ""
    ca = info.get("ca_cert")
    return replace(
        base,
        login_url=str(info.get("login_url") or url).rstrip("/"),
        client_id=str(info.get("client_id") or "kinetic-local-client"),
        client_secret=str(info.get("client_secret") or "kinetic-local-secret"),
        username=str(info.get("username") or "admin@kinetic.local"),
        password=str(info.get("password") or "kinetic"),
        ca_bundle=str(ca) if ca else base.ca_bundle,
        api_version=str(info.get("api_version") or base.api_version),
        source=f"local emulator at {url}",
        local=False,
    )


def _await_running(
    data_dir: Path, wait: float, clock: Callable[[], float], sleep: Callable[[float], None]
) -> dict[str, Any] | None:
    """The ``emulator.json`` of a server another process is starting on ``data_dir``, once it answers."""
    deadline = clock() + wait
    while True:
        info = read_emulator_file(data_dir)
        if info is not None and is_live(info):
            return info
        if clock() >= deadline:
            return None
        sleep(0.1)


def local_config(
    base: OrgConfig,
    home: Path,
    *,
    wait: float = 15.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[OrgConfig, Callable[[], None] | None]:
    """Resolve the ``local`` org: reuse a live emulator, else start one in-process.

    Returns the concrete configuration and a closer that stops an emulator this call started.

    Raises:
        ConfigError: another process holds the data dir but its server never answered within ``wait``.
    """
    data_dir = home / "local"
    info = read_emulator_file(data_dir)
    if info is not None and is_live(info):
        logger.info("using the running local emulator at %s", _instance_of(info))
        return config_from_info(base, info), None
    data_dir.mkdir(parents=True, exist_ok=True)
    # Imported here, not at the top: the emulator (a web server, SQLite, the SOQL grammar) is loaded
    # only by a program that talks to the local org. This is the one import of the emulator by the client.
    from kinetic_core.emulator.server import EmulatorRunningError, LocalOrg

    org = LocalOrg(data_dir=data_dir)
    try:
        org.__enter__()
    except EmulatorRunningError as exc:
        # another process is starting (or runs) the emulator on this data dir: use that one
        running = _await_running(data_dir, wait, clock, sleep)
        if running is None:
            raise ConfigError(f"the local org is unavailable: {exc}") from None
        logger.info("using the local emulator another process started at %s", _instance_of(running))
        return config_from_info(base, running), None
    logger.info("started an in-process local emulator at %s", org.instance_url)
    ca = org.ca_cert
    started = {
        "instance_url": org.instance_url,
        "login_url": org.login_url,
        "username": org.username,
        "password": org.password,
        "client_id": org.client_id,
        "client_secret": org.client_secret,
        "ca_cert": str(ca) if ca else None,
        "api_version": org.api_version,
    }

    def stop() -> None:
        org.__exit__(None, None, None)

    cfg = config_from_info(base, started)
    return replace(cfg, source=f"in-process local emulator at {org.instance_url}"), stop
