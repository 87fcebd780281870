"""Run the emulator: in a background thread (:class:`LocalOrg`) or in the foreground (the CLI).

Both bind a socket first (so ``port=0`` gives a free port before the server starts),
build the :class:`Org` and its app, and serve it with uvicorn over HTTP or HTTPS.
``emulator.json`` in the data dir describes a running server (URLs, credentials,
key paths, ``pid``); it is removed on a clean shutdown.

One emulator per data dir: before anything else, a server takes the advisory lock
``emulator.lock`` in its data dir (see :mod:`kinetic_core.lockfile`) and holds it until it
stops. A second server on the same data dir (another process, or another ``LocalOrg`` in this
one) is refused with :class:`EmulatorRunningError` before it binds a port or opens the SQLite
files: two servers would hand out the same record ids. A lock left by a killed server is free.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from kinetic_core.emulator.app import create_app
from kinetic_core.emulator.org import Org, OrgSettings
from kinetic_core.emulator.private import private_dir, write_private
from kinetic_core.emulator.routes.admin import ADMIN_TOKEN_HEADER
from kinetic_core.emulator.tls import ensure_server_tls
from kinetic_core.lockfile import LockFile, LockHeld

logger = logging.getLogger(__name__)

EMULATOR_JSON = "emulator.json"
EMULATOR_LOCK = "emulator.lock"
DEFAULT_DATA_DIR = Path("~/.kinetic/local")
_START_TIMEOUT = 15.0
_SHUTDOWN_GRACE = 2.0  # seconds running requests get to finish when the server stops
# [I] How long an idle keep-alive connection stays open. uvicorn's default (5 s) is exactly the poll
# interval of simple-salesforce's bulk2 (wait=5), so a reused connection raced its own closing.
# 120 s outlasts the poll intervals of the common clients (jsforce 1 s, simple-salesforce 5 s) many
# times over; shutdown does not wait for idle connections (see _QuietServer.shutdown).
KEEP_ALIVE_SECONDS = 120


@dataclass(frozen=True)
class EmulatorInfo:
    """What a client needs to reach a running emulator (the content of ``emulator.json``)."""

    instance_url: str
    login_url: str
    username: str
    password: str
    security_token: str
    client_id: str
    client_secret: str
    admin_token: str
    jwt_private_key: Path
    jwt_certificate: Path
    ca_cert: Path | None
    api_version: str
    data_dir: Path
    pid: int
    standalone: bool = False
    """True when the process exists only to serve the emulator (``kinetic emulator start``), so
    stopping the emulator may stop the process; False inside a host program (a ``LocalOrg``)."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}
        return data


def describe_org(org: Org, ca_cert: Path | None) -> EmulatorInfo:
    s = org.settings
    return EmulatorInfo(
        instance_url=org.base_url,
        login_url=org.base_url,
        username=s.username,
        password=s.password,
        security_token=s.security_token,
        client_id=s.client_id,
        client_secret=s.client_secret,
        admin_token=org.admin_token,
        jwt_private_key=org.jwt.private_key,
        jwt_certificate=org.jwt.certificate,
        ca_cert=ca_cert,
        api_version=s.api_version,
        data_dir=s.data_dir,
        pid=os.getpid(),
    )


def write_emulator_json(info: EmulatorInfo) -> Path:
    """Write ``emulator.json`` atomically into the data dir."""
    path = info.data_dir / EMULATOR_JSON
    write_private(path, json.dumps(info.to_json(), indent=2).encode("utf-8"))
    return path


def remove_emulator_json(data_dir: Path, pid: int) -> None:
    """Remove ``emulator.json`` if it still describes process ``pid``."""
    path = data_dir / EMULATOR_JSON
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


class EmulatorRunningError(RuntimeError):
    """Another emulator is running on this data dir (the message names its pid and URL).

    Attributes:
        data_dir: the data dir in use.
        pid: the running emulator's process id, when known.
        url: its URL from ``emulator.json``, when that file names it.
    """

    def __init__(self, data_dir: Path, pid: int | None, url: str | None, who: str) -> None:
        at = f" at {url}" if url else ""
        super().__init__(
            f"an emulator is already running on the data dir {data_dir}{at} ({who}): stop it first, "
            "use it (clients find it through emulator.json), or pass another --data-dir"
        )
        self.data_dir = data_dir
        self.pid = pid
        self.url = url


def lock_data_dir(data_dir: Path) -> LockFile:
    """Take the data dir's ``emulator.lock`` for this server, or raise :class:`EmulatorRunningError`."""
    private_dir(data_dir)  # made 0700 before the lock file appears in it
    lock = LockFile(data_dir / EMULATOR_LOCK, "kinetic emulator")
    try:
        lock.acquire()
    except LockHeld as held:
        who = held.holder.describe() if held.holder is not None else "another process"
        url = None
        try:
            info = json.loads((data_dir / EMULATOR_JSON).read_text(encoding="utf-8"))
            if held.holder is None or info.get("pid") == held.holder.pid:
                url = str(info.get("instance_url") or "") or None
        except (OSError, ValueError, AttributeError):
            pass
        raise EmulatorRunningError(data_dir, held.holder.pid if held.holder else None, url, who) from None
    return lock


def _advertised_host(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto is TCP,
    # and without it every response waits ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class _QuietServer(uvicorn.Server):
    """A uvicorn server that shuts down on SIGINT/SIGTERM and then returns normally (no re-raise)."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop accepting, let running requests finish briefly, then drop every connection.

        uvicorn's own shutdown waits for idle keep-alive connections to go away; over TLS they
        linger until the peer answers the close, which leaks transports. Here they are aborted.
        """
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _SHUTDOWN_GRACE
        while self.server_state.tasks and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for task in list(self.server_state.tasks):
            task.cancel()
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await asyncio.sleep(0)

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


class _Prepared:
    """A bound socket, the org and a configured uvicorn server, not yet running."""

    def __init__(self, settings: OrgSettings, *, log_config: dict[str, Any] | None = None) -> None:
        self.lock = lock_data_dir(settings.data_dir)
        try:
            self.sock = _bind(settings.host, settings.port)
        except BaseException:
            self.lock.release()
            raise
        try:
            port = self.sock.getsockname()[1]
            settings = OrgSettings(**{**settings.__dict__, "port": port})
            self.ca_cert: Path | None = None
            ssl_kwargs: dict[str, Any] = {}
            if settings.tls:
                files = ensure_server_tls(settings.data_dir)
                self.ca_cert = files.ca_cert
                ssl_kwargs = {"ssl_certfile": str(files.cert), "ssl_keyfile": str(files.key)}
            self.org = Org(settings)
            self.org.base_url = (
                f"{'https' if settings.tls else 'http'}://{_advertised_host(settings.host)}:{port}"
            )
        except BaseException:
            self.sock.close()
            self.lock.release()
            raise
        config = uvicorn.Config(
            create_app(self.org),
            log_config=log_config,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            # h11 writes header names as the app spells them (httptools lower-cases them); the app
            # adds Date itself, since uvicorn's own Date and Server headers are lower-case.
            http="h11",
            date_header=False,
            server_header=False,
            **ssl_kwargs,
        )
        self.server = _QuietServer(config)
        self.info = describe_org(self.org, self.ca_cert)

    def close(self) -> None:
        try:
            self.org.close()
        finally:
            self.sock.close()
            self.lock.release()


class LocalOrg:
    """A real emulator server in a background thread, for tests and embedded use.

    Args:
        tls: serve HTTPS with a generated CA (``ca_cert``) instead of HTTP.
        data_dir: where the SQLite files and keys live; a temporary dir (deleted on stop) when None.
        schema: a YAML file of custom objects.
        **settings: any other :class:`OrgSettings` field (``token_ttl_seconds``, ``bulk_rate``, ...).

    Example:
        >>> with LocalOrg() as org:  # doctest: +SKIP
        ...     r = httpx.post(f"{org.login_url}/services/oauth2/token", data={
        ...         "grant_type": "password", "client_id": org.client_id, "client_secret": org.client_secret,
        ...         "username": org.username, "password": org.password})
        ...     r.json()["instance_url"] == org.instance_url
        True
    """

    def __init__(
        self, tls: bool = False, data_dir: Path | None = None, schema: Path | None = None, **settings: Any
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kinetic-org-")
            data_dir = Path(self._tmp.name)
        settings.setdefault("host", "127.0.0.1")
        settings.setdefault("port", 0)
        self._settings = OrgSettings(data_dir=Path(data_dir), tls=tls, schema_file=schema, **settings)
        self._prepared: _Prepared | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LocalOrg:
        """Start serving; returns self once the server accepts connections."""
        if self._prepared is not None:
            return self
        prepared = _Prepared(self._settings)
        self._prepared = prepared
        prepared.org.start()
        thread = threading.Thread(
            target=prepared.server.run,
            kwargs={"sockets": [prepared.sock]},
            name="kinetic-emulator",
            daemon=True,
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not prepared.server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.005)
        write_emulator_json(prepared.info)
        return self

    def stop(self) -> None:
        """Stop the server, close the org and remove a temporary data dir; idempotent."""
        prepared, self._prepared = self._prepared, None
        if prepared is not None:
            prepared.server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=_START_TIMEOUT)
                self._thread = None
            remove_emulator_json(prepared.info.data_dir, prepared.info.pid)
            prepared.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> LocalOrg:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- what clients need ---------------------------------------------------------------------------

    def _info(self) -> EmulatorInfo:
        if self._prepared is None:
            raise RuntimeError("LocalOrg is not running; use it as a context manager or call start()")
        return self._prepared.info

    @property
    def org(self) -> Org:
        if self._prepared is None:
            raise RuntimeError("LocalOrg is not running")
        return self._prepared.org

    @property
    def instance_url(self) -> str:
        return self._info().instance_url

    @property
    def login_url(self) -> str:
        return self._info().login_url

    @property
    def username(self) -> str:
        return self._settings.username

    @property
    def password(self) -> str:
        return self._settings.password

    @property
    def security_token(self) -> str:
        return self._settings.security_token

    @property
    def client_id(self) -> str:
        return self._settings.client_id

    @property
    def client_secret(self) -> str:
        return self._settings.client_secret

    @property
    def api_version(self) -> str:
        return self._settings.api_version

    @property
    def admin_token(self) -> str:
        """The secret of the admin API (sent as the ``X-Kinetic-Admin-Token`` header)."""
        return self._info().admin_token

    @property
    def admin_headers(self) -> dict[str, str]:
        """The headers an admin API request needs."""
        return {ADMIN_TOKEN_HEADER: self.admin_token}

    @property
    def data_dir(self) -> Path:
        return self._settings.data_dir

    @property
    def jwt_private_key(self) -> Path:
        return self._info().jwt_private_key

    @property
    def ca_cert(self) -> Path | None:
        return self._info().ca_cert

    @property
    def info(self) -> EmulatorInfo:
        """Everything ``emulator.json`` holds."""
        return self._info()

    def verify(self) -> ssl.SSLContext | bool:
        """The ``verify=`` value for httpx: an SSL context trusting the local CA under TLS, else True."""
        return ssl.create_default_context(cafile=str(self.ca_cert)) if self.ca_cert else True

    def admin(self, path: str, json: Any = None) -> Any:
        """Call the admin API (``reset``, ``faults``, ``stats``): POST when ``json`` is given, else GET.

        Example:
            >>> org.admin("faults", {"error_rate": 0.5, "seed": 3})  # doctest: +SKIP
        """
        url = f"{self.instance_url}/_emulator/{path.lstrip('/')}"
        with httpx.Client(verify=self.verify(), timeout=30, headers=self.admin_headers) as client:
            if json is None and path.strip("/") != "reset":
                response = client.get(url)
            else:
                response = client.post(url, json={} if json is None else json)
        response.raise_for_status()
        return response.json()

    def token(self) -> str:
        """A fresh access token for the admin user (password flow)."""
        with httpx.Client(verify=self.verify(), timeout=30) as client:
            response = client.post(
                f"{self.login_url}/services/oauth2/token",
                data={
                    "grant_type": "password",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "username": self.username,
                    "password": self.password,
                },
            )
        response.raise_for_status()
        return str(response.json()["access_token"])


def serve_foreground(settings: OrgSettings, *, announce: Any = print) -> None:
    """Run the emulator in this thread until interrupted (SIGINT/SIGTERM), then clean up.

    Example:
        >>> serve_foreground(OrgSettings(data_dir=Path("~/.kinetic/local").expanduser()))  # doctest: +SKIP
    """
    prepared = _Prepared(settings, log_config=uvicorn.config.LOGGING_CONFIG)
    try:
        prepared.org.start()
        prepared.info = dataclasses.replace(prepared.info, standalone=True)
        write_emulator_json(prepared.info)
        announce(prepared.info.instance_url)
        prepared.server.run(sockets=[prepared.sock])
    finally:
        remove_emulator_json(prepared.info.data_dir, prepared.info.pid)
        prepared.close()
