"""``kinetic emulator start | stop | status``: run the local org emulator and find it again.

A running emulator is found through ``DATA_DIR/emulator.json`` (written at start, removed on a clean
stop; it holds the URL and the pid) and a check that the pid is alive.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from kinetic_core.cli.common import JsonOption, emit_json, exit_codes_help
from kinetic_core.config import kinetic_home
from kinetic_core.localorg import pid_alive

emulator_app = typer.Typer(help="Run the local Salesforce org emulator.", no_args_is_help=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where the org's SQLite files, keys and emulator.json live (default: KINETIC_HOME/local).",
        show_default=False,
    ),
]
STOP_TIMEOUT = 15.0
"""Seconds ``emulator stop`` waits for the process to exit after SIGTERM."""


@dataclass(frozen=True)
class Running:
    """An emulator found through its data dir's ``emulator.json``."""

    url: str
    pid: int
    data_dir: Path
    started: dt.datetime
    standalone: bool = True
    """False when the emulator runs inside another program (a ``LocalOrg``): stopping it would stop
    that program, so ``emulator stop`` refuses."""

    def uptime(self, now: dt.datetime) -> str:
        seconds = max(0, int((now - self.started).total_seconds()))
        hours, rest = divmod(seconds, 3600)
        return f"{hours}h{rest // 60:02d}m{rest % 60:02d}s" if hours else f"{rest // 60}m{rest % 60:02d}s"


def _data_dir(value: Path | None) -> Path:
    return (value or kinetic_home() / "local").expanduser()


def find_running(data_dir: Path) -> Running | None:
    """The emulator described by ``data_dir/emulator.json`` if its process is alive, else None."""
    path = data_dir / "emulator.json"  # the emulator's EMULATOR_JSON (not imported: see start)
    try:
        info: Any = json.loads(path.read_text(encoding="utf-8"))
        started = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    pid = info.get("pid")
    if not isinstance(pid, int) or pid <= 0 or not pid_alive(pid):
        return None
    standalone = info.get("standalone") is not False
    return Running(str(info.get("instance_url") or ""), pid, data_dir, started, standalone)


@emulator_app.command(
    "start",
    epilog=exit_codes_help(failed="could not start (port in use)")
    + " A data dir whose emulator is running is exit code 2.",
)
def start(
    host: Annotated[
        str, typer.Option(help="Interface to bind (loopback unless told otherwise).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on; 0 picks a free one.")] = 8555,
    tls: Annotated[bool, typer.Option("--tls", help="Serve HTTPS with a generated local CA.")] = False,
    data_dir: DataDirOption = None,
    schema: Annotated[Path | None, typer.Option(help="YAML file of custom objects and fields.")] = None,
    bulk_rate: Annotated[
        float | None,
        typer.Option("--bulk-rate", help="Bulk records processed per second (default: unlimited)."),
    ] = None,
    bulk_job_delay: Annotated[
        float, typer.Option("--bulk-job-delay", help="Seconds a bulk job waits before processing starts.")
    ] = 0.0,
    shuffle_results: Annotated[
        bool, typer.Option("--shuffle-results", help="Return bulk result rows in a shuffled order.")
    ] = False,
    token_ttl: Annotated[
        float, typer.Option("--token-ttl", help="Access token lifetime in seconds.")
    ] = 7200.0,
    callback_url: Annotated[
        list[str] | None,
        typer.Option(
            "--callback-url",
            help="The connected app's OAuth callback URL (repeatable); /services/oauth2/authorize "
            "redirects only to these. Default: http://localhost:1717/OauthRedirect.",
        ),
    ] = None,
) -> None:
    """Start the emulator in the foreground.

    Prints its URL on stdout and writes DATA_DIR/emulator.json (URL, credentials, pid) for the other
    commands; Ctrl-C or kinetic emulator stop ends it.

    One emulator per data dir: a second one on the same DATA_DIR is refused (exit 2), naming the
    running one's pid and URL and how to reach or stop it; a port in use is exit 1.

    Example:
        $ kinetic emulator start --port 0 --data-dir /tmp/org --tls
    """
    # the emulator is imported here, not with the module: every other command starts without it
    from kinetic_core.emulator.org import OrgSettings
    from kinetic_core.emulator.server import EMULATOR_JSON, EmulatorRunningError, serve_foreground
    from kinetic_core.emulator.store.custom import SchemaError

    if schema is not None and not schema.is_file():
        typer.echo(f"error: schema file not found: {schema}", err=True)
        raise typer.Exit(2)
    directory = _data_dir(data_dir)
    settings = OrgSettings(
        data_dir=directory,
        host=host,
        port=port,
        tls=tls,
        schema_file=schema,
        bulk_rate=bulk_rate,
        bulk_job_delay_seconds=bulk_job_delay,
        shuffle_results=shuffle_results,
        token_ttl_seconds=token_ttl,
        callback_urls=tuple(callback_url) if callback_url else OrgSettings.callback_urls,
    )

    def announce(url: str) -> None:
        typer.echo(url)
        sys.stdout.flush()
        typer.echo(
            f"emulator data dir: {settings.data_dir} (credentials and admin token in emulator.json)", err=True
        )

    try:
        serve_foreground(settings, announce=announce)
    except EmulatorRunningError as exc:
        typer.echo(f"error: cannot start the emulator: {exc}", err=True)
        typer.echo(
            "reach it with --org local (when DATA_DIR is KINETIC_HOME/local) or through "
            f"{directory / EMULATOR_JSON}; "
            f"stop it with: kinetic emulator stop --data-dir {directory}",
            err=True,
        )
        raise typer.Exit(2) from None
    except SchemaError as exc:
        typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(2) from None
    except (OSError, OverflowError) as exc:
        if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
            typer.echo(
                f"error: port {port} on {host} is already in use, by an emulator or another program; "
                "a running emulator is reached with --org local or its data dir's emulator.json and "
                "stopped with kinetic emulator stop --data-dir DIR; "
                "or choose another --port (0: any free one)",
                err=True,
            )
        else:
            typer.echo(f"error: cannot start the emulator: {' '.join(str(exc).split())}", err=True)
        raise typer.Exit(1) from None


def _wait_gone(pid: int, timeout: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> bool:
    deadline = clock() + timeout
    while pid_alive(pid):
        if clock() >= deadline:
            return False
        sleep(0.05)
    return True


@emulator_app.command("stop", epilog=exit_codes_help(failed="the emulator did not stop in time"))
def stop(data_dir: DataDirOption = None, json_output: JsonOption = False) -> None:
    """Stop the emulator running in a data dir.

    Sends SIGTERM to the pid in DATA_DIR/emulator.json and waits for the process to exit. Nothing
    running there is not an error.

    Example:
        $ kinetic emulator stop --data-dir /tmp/org
    """
    directory = _data_dir(data_dir)
    running = find_running(directory)
    if running is None:
        if json_output:
            emit_json({"running": False, "stopped": False, "data_dir": str(directory)})
        else:
            typer.echo(f"no emulator is running in {directory}", err=True)
        return
    if not running.standalone:
        message = (
            f"the emulator in {directory} runs inside another program (pid {running.pid}); "
            "stop it from that program (LocalOrg.stop()), not with a signal"
        )
        if json_output:
            emit_json({"running": True, "stopped": False, "pid": running.pid, "error": message})
        else:
            typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1)
    try:
        os.kill(running.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    stopped = _wait_gone(running.pid, STOP_TIMEOUT, time.monotonic, time.sleep)
    if json_output:
        emit_json(
            {"running": not stopped, "stopped": stopped, "pid": running.pid, "data_dir": str(directory)}
        )
    elif stopped:
        typer.echo(f"stopped the emulator at {running.url} (pid {running.pid})", err=True)
    else:
        typer.echo(
            f"error: the emulator (pid {running.pid}) is still running after {STOP_TIMEOUT:.0f} s", err=True
        )
    if not stopped:
        raise typer.Exit(1)


@emulator_app.command("status", epilog=exit_codes_help(failed="no emulator is running there"))
def status(data_dir: DataDirOption = None, json_output: JsonOption = False) -> None:
    """Say whether an emulator runs in a data dir: URL, pid, data dir and uptime.

    Example:
        $ kinetic emulator status --json
    """
    directory = _data_dir(data_dir)
    running = find_running(directory)
    now = dt.datetime.now(dt.UTC)
    if json_output:
        if running is None:
            emit_json({"running": False, "data_dir": str(directory)})
        else:
            emit_json(
                {
                    "running": True,
                    "url": running.url,
                    "pid": running.pid,
                    "data_dir": str(directory),
                    "started": running.started.isoformat(timespec="seconds"),
                    "uptime_seconds": int((now - running.started).total_seconds()),
                }
            )
    elif running is None:
        typer.echo(f"not running (data dir {directory})")
    else:
        typer.echo(f"running at {running.url}")
        typer.echo(f"pid: {running.pid}")
        typer.echo(f"data dir: {directory}")
        typer.echo(f"uptime: {running.uptime(now)}")
    if running is None:
        raise typer.Exit(1)
