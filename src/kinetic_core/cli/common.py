"""Shared CLI plumbing: the ``--org``/``--json`` options, exit codes, errors, connecting, output.

Exit codes (documented in ``kinetic --help`` and ``docs/cli.md``):

====  ==================================================================
0     success
1     the command ran but some rows failed (or some ``doctor`` checks failed)
2     usage error: bad arguments, missing file, bad configuration, an output location that cannot
      be written, or a journal/job that another live run holds (nothing was sent)
3     authentication error: the org refused the credentials
4     API error: Salesforce (or the network) refused a call, a job failed, ``--wait`` ran out, an
      answer was malformed (not JSON, not of the expected shape), or any other unexpected failure
====  ==================================================================

Every exception a command raises ends as one ``error: ...`` line on stderr and one of these codes,
never a traceback (``-vv`` logs the traceback of unexpected ones at DEBUG).
"""

from __future__ import annotations

import csv
import enum
import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.exceptions import TyperException

from kinetic_core.cli import startup
from kinetic_core.errors import (
    ApiError,
    AuthenticationError,
    BulkTimeoutError,
    ConfigError,
    KineticError,
    OutputNotWritableError,
    ResultsNotSavedError,
    RunLockedError,
    SessionExpiredError,
)

# rich (~15 ms) and the client (httpx, ~60 ms) are imported where they are used: a command's
# --help, and a command that prints only status lines, load neither of them.
if TYPE_CHECKING:
    from rich.console import Console

    from kinetic_core.client import SalesforceClient


class ExitCode(enum.IntEnum):
    """The documented exit codes."""

    OK = 0
    ROWS_FAILED = 1
    USAGE = 2
    AUTH = 3
    API = 4


def exit_codes_help(
    *,
    failed: str | None = None,
    usage: bool = True,
    auth: bool = False,
    api: bool = False,
    wait: bool = False,
) -> str:
    """The exit codes one command can return, for its help epilog.

    Args:
        failed: what exit code 1 means for this command (None: it never returns 1).
        usage: exit code 2 (bad arguments; every command parses arguments, so on by default).
        auth: exit code 3 (the command logs in to an org).
        api: exit code 4 (the command calls the org's API).
        wait: the command has --wait, whose running out is exit code 4.

    Example:
        >>> exit_codes_help(auth=True, api=True)
        'Exit codes: 0 success; 2 usage error; 3 authentication error; 4 API error.'
    """
    parts = ["0 success"]
    if failed:
        parts.append(f"1 {failed}")
    if usage:
        parts.append("2 usage error")
    if auth:
        parts.append("3 authentication error")
    if api or wait:
        parts.append("4 API error" + (", or --wait ran out (the jobs go on)" if wait else ""))
    return "Exit codes: " + "; ".join(parts) + "."


EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 some rows failed; 2 usage error; 3 authentication error; "
    "4 API error (including a --wait that ran out). Each command's help lists the ones it can return."
)
ORG_EXIT_CODES = exit_codes_help(auth=True, api=True)
"""The exit codes of a command that reads from an org."""


def resume_hint(job_ids: Sequence[str], out: Path | None = None) -> str:
    """The one wording for how to pick up Bulk jobs after --wait ran out (``out``: an export's file).

    Example:
        >>> resume_hint(["750A"])
        'the job goes on in Salesforce; resume with: kinetic jobs wait 750A, then kinetic jobs results 750A'
    """
    target = f" --out {out}" if out is not None else ""
    waits = "; ".join(f"kinetic jobs wait {j}, then kinetic jobs results {j}{target}" for j in job_ids)
    noun = "the job goes on" if len(job_ids) == 1 else "the jobs go on"
    return f"{noun} in Salesforce; resume with: {waits}"


OrgOption = Annotated[
    str | None,
    typer.Option(
        "--org",
        "-o",
        "--target-org",
        help="Org profile from ~/.kinetic/orgs.toml, or 'local' (default: environment, else local).",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Machine-readable JSON on stdout, nothing else on stdout.")
]

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger(__name__)


def stderr() -> Console:
    """The console for status lines, progress and errors."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


_CONTROL = str.maketrans("", "", "\a\b\v\f\r")
"""The control characters rich removes from printed text (it keeps tabs and line feeds)."""


def say(text: str) -> None:
    """One status line on stderr, as written: no markup, no emoji codes (no rich needed).

    What ``stderr().print(text, markup=False)`` prints for such a line, without loading rich.

    Example:
        >>> say("wrote 3 row(s)")  # doctest: +SKIP
    """
    sys.stderr.write(text.translate(_CONTROL).expandtabs(8) + "\n")
    sys.stderr.flush()


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal, as rich decides it (``TTY_COMPATIBLE``, ``FORCE_COLOR``, else
    ``isatty``), without loading rich when the environment does not say."""
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return stderr().is_terminal
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False


def stdout() -> Console:
    """The console for human output (tables); wide when piped, so tables are not squeezed."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=False, width=max(console.width, 200))
    return console


def emit_json(value: Any) -> None:
    """Print one JSON document on stdout."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
    sys.stdout.flush()


def exit_code_for(exc: BaseException) -> ExitCode:
    """Map an exception to an exit code.

    Example:
        >>> exit_code_for(ConfigError("x")), exit_code_for(AuthenticationError("invalid_grant", "bad"))
        (<ExitCode.USAGE: 2>, <ExitCode.AUTH: 3>)
    """
    if isinstance(exc, AuthenticationError | SessionExpiredError):
        return ExitCode.AUTH
    if isinstance(exc, json.JSONDecodeError):  # an answer that is not JSON: the server's fault
        return ExitCode.API
    if isinstance(exc, ConfigError | ValueError | FileNotFoundError | IsADirectoryError | csv.Error):
        return ExitCode.USAGE
    if isinstance(exc, ApiError) and exc.error_code in ("INVALID_SESSION_ID", "INVALID_AUTH_HEADER"):
        return ExitCode.AUTH
    return ExitCode.API


def one_line(exc: BaseException) -> str:
    """A single-line message for an exception (no traceback).

    Exceptions outside the project's own tree (a ``KeyError`` from an answer of an unexpected shape, a
    ``RecursionError``...) are named by type, since their text alone says little.
    """
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    elif isinstance(exc, json.JSONDecodeError):
        text = f"the answer is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    elif isinstance(exc, csv.Error):
        text = f"unreadable CSV: {text}"
    elif not isinstance(exc, KineticError | ValueError):
        text = f"unexpected {type(exc).__name__}: {text}"
    return " ".join(text.split())


def error_payload(exc: BaseException, code: ExitCode, out: Path | None = None) -> dict[str, Any]:
    """The ``--json`` form of an error (``out``: the file of an export that timed out)."""
    body: dict[str, Any] = {"type": type(exc).__name__, "message": one_line(exc), "exit_code": int(code)}
    if isinstance(exc, ApiError):
        body["errorCode"] = exc.error_code
    if isinstance(exc, BulkTimeoutError):
        body["job_ids"] = list(exc.job_ids)
        body["resume"] = resume_hint(exc.job_ids, out)
    if isinstance(exc, ResultsNotSavedError):
        body.update(job_ids=list(exc.job_ids), counts=dict(exc.counts), next_step=exc.next_step)
    if isinstance(exc, RunLockedError):
        body["holder"] = {"pid": exc.pid, "host": exc.host, "started": exc.started}
    if isinstance(exc, RunLockedError | OutputNotWritableError | ResultsNotSavedError) and exc.path:
        body["path"] = str(exc.path)
    problems = getattr(exc, "problems", None)
    if isinstance(problems, list):
        body["problems"] = [str(p) for p in problems]
    return {"error": body}


def fail(message: str, code: ExitCode = ExitCode.USAGE, *, json_output: bool = False) -> typer.Exit:
    """Print an error line (and its JSON form) and build the ``typer.Exit`` to raise."""
    stderr().print(f"error: {message}", markup=False)
    if json_output:
        emit_json({"error": {"type": "UsageError", "message": message, "exit_code": int(code)}})
    return typer.Exit(int(code))


def handle_errors(func: F) -> F:
    """Turn exceptions raised by a command into one clean line on stderr and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        json_output = bool(kwargs.get("json_output"))
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit, TyperException):
            raise  # typer reports its own usage errors (typer.BadParameter: exit 2)
        except KeyboardInterrupt:
            stderr().print("interrupted", markup=False)
            raise typer.Exit(130) from None
        except Exception as exc:  # every failure ends as one line and a documented exit code
            if not isinstance(exc, KineticError | ValueError | OSError | csv.Error):
                logger.debug("%s failed", func.__name__, exc_info=True)
            code = exit_code_for(exc)
            out = kwargs.get("out") if isinstance(kwargs.get("out"), Path) else None
            if isinstance(exc, BulkTimeoutError) and exc.job_ids:
                stderr().print(f"error: {exc.reason}: {', '.join(exc.job_ids)}", markup=False)
                stderr().print(resume_hint(exc.job_ids, out), markup=False)
            else:
                stderr().print(f"error: {one_line(exc)}", markup=False)
            for problem in getattr(exc, "problems", None) or ():  # a check that found several things
                stderr().print(f"  - {problem}", markup=False)
            if json_output:
                emit_json(error_payload(exc, code, out))
            raise typer.Exit(int(code)) from None

    return wrapper  # type: ignore[return-value]


def describe_target(client: SalesforceClient, org: str | None) -> str:
    """``org: NAME (where; settings from SOURCE)`` for the stderr announcement."""
    name = client.org_name or (org or "env")
    where = client.instance_url
    if name == "local" or client.org_local:
        return f"org: {name} (local emulator at {where})"
    source = f"; settings from {client.org_source}" if client.org_source else ""
    return f"org: {name} ({where}{source})"


@contextmanager
def connected(org: str | None, **overrides: Any) -> Iterator[SalesforceClient]:
    """Connect to ``org``, say which org on stderr, close the client afterwards.

    Authentication happens here, so a refused login raises before the command starts. The
    process's start-up ends here too (:func:`kinetic_core.cli.startup.end`).
    """
    from kinetic_core.client import SalesforceClient

    client = SalesforceClient.connect(org, **overrides)
    try:
        say(describe_target(client, org))  # its instance URL: the login, when it is due
        startup.end()
        yield client
    finally:
        client.close()


def parse_minutes(wait: float | None) -> float | None:
    """``--wait MINUTES`` as seconds (None: wait as long as it takes)."""
    if wait is None:
        return None
    if wait <= 0:
        raise typer.BadParameter("--wait must be a positive number of minutes")
    return wait * 60.0
