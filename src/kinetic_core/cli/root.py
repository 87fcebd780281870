"""The root typer app, built with every command or with the one a command line names.

A ``kinetic`` process runs one command: :func:`main` reads the command's name from the command line
(:func:`command_named`) and builds the app with that command alone, so only its module and what it
imports are loaded; ``kinetic export`` does not import the load, sync, demo or emulator commands
and the libraries behind them. A command line whose command is not certain (help, ``--version``,
an unknown name, an option this module does not know before the name) gets the whole app, so
its messages are the same as ever. ``kinetic_core.cli.app`` is the whole app.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from typer import _click as click

from kinetic_core.cli.common import EXIT_CODES_HELP, ORG_EXIT_CODES, JsonOption, OrgOption, exit_codes_help
from kinetic_core.cli.helpstyle import KineticRoot, style_commands, walk

GLOBAL_PARAMS = ("org", "json_output")
"""Options that may also be given before the command name (they become that command's defaults)."""
GLOBAL_VALUE_OPTIONS = frozenset({"--org", "-o", "--target-org"})
"""The root's options that take a value (the next word, or ``--org=NAME``)."""
GLOBAL_FLAGS = frozenset({"--json", "--verbose"})
"""The root's options without a value (besides ``-v``, ``-vv``...)."""
ROWS_EXIT_CODES = exit_codes_help(failed="some rows failed or were not processed", auth=True, wait=True)
VERSION_ONLY = ""
""":func:`command_named` for ``kinetic --version``: the root alone answers it."""
COMPLETION_VARIABLE = "_KINETIC_COMPLETE"
"""Set by the shell while it completes a command line: completion needs every command."""


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def package_version() -> str:
    """The installed version of kinetic-core, from the package metadata."""
    import importlib.metadata  # ~15 ms: only ``--version`` pays it

    try:
        return importlib.metadata.version("kinetic-core")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"kinetic {package_version()}")
        raise typer.Exit(0)


def global_defaults(root: click.Command, values: dict[str, Any]) -> dict[str, Any]:
    """A click ``default_map`` giving every command that has one of ``values``' options that value.

    The ``org`` group is left out of ``--org``: there, --org names the profile to create or remove.
    """
    tree: dict[str, Any] = {}
    for path, command in walk(root):
        if not path or hasattr(command, "commands"):
            continue
        names = {p.name for p in command.params}
        chosen = {k: v for k, v in values.items() if k in names and not (k == "org" and path[0] == "org")}
        if chosen:
            node = tree
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = chosen
    return tree


def root_callback(
    ctx: typer.Context,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="Log to stderr (-v info, -vv debug).")
    ] = 0,
    org: OrgOption = None,
    json_output: JsonOption = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Kinetic Core command line."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    root = logging.getLogger("kinetic_core")
    root.setLevel(level)
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    given: dict[str, Any] = {}
    if org is not None:
        given["org"] = org
    if json_output:
        given["json_output"] = True
    if given:
        ctx.default_map = global_defaults(ctx.command, given)


def _emulator(app: typer.Typer) -> None:
    from kinetic_core.cli.emulator_cmd import emulator_app

    app.add_typer(emulator_app, name="emulator")


def _org(app: typer.Typer) -> None:
    from kinetic_core.cli.org_cmd import org_app

    app.add_typer(org_app, name="org")


def _jobs(app: typer.Typer) -> None:
    from kinetic_core.cli.jobs_cmd import jobs_app

    app.add_typer(jobs_app, name="jobs")


def _query(app: typer.Typer) -> None:
    from kinetic_core.cli.data_cmd import query

    app.command("query", epilog=ORG_EXIT_CODES)(query)


def _export(app: typer.Typer) -> None:
    from kinetic_core.cli.data_cmd import export

    app.command("export", epilog=exit_codes_help(auth=True, wait=True))(export)


def _load(app: typer.Typer) -> None:
    from kinetic_core.cli.load_cmd import load

    app.command(
        "load",
        epilog=ROWS_EXIT_CODES,
        short_help="Load a CSV file into an object (insert, update, upsert, delete, hard-delete).",
    )(load)


def _sync(app: typer.Typer) -> None:
    from kinetic_core.cli.sync_cmd import sync

    app.command(
        "sync",
        epilog=exit_codes_help(failed="some rows failed, or --dry-run found problems", auth=True, api=True),
        short_help="Run a sync pipeline file: source, mapping, router, failure file, resumable journal.",
    )(sync)


def _describe(app: typer.Typer) -> None:
    from kinetic_core.cli.data_cmd import describe

    app.command("describe", epilog=ORG_EXIT_CODES)(describe)


def _limits(app: typer.Typer) -> None:
    from kinetic_core.cli.data_cmd import limits

    app.command("limits", epilog=ORG_EXIT_CODES)(limits)


def _doctor(app: typer.Typer) -> None:
    from kinetic_core.cli.doctor import doctor

    app.command("doctor", epilog=exit_codes_help(failed="some checks failed", auth=True, api=True))(doctor)


def _demo(app: typer.Typer) -> None:
    from kinetic_core.cli.demo_cmd import demo

    app.command(
        "demo",
        epilog=exit_codes_help(api=True),
        short_help="Load generated Accounts and Contacts into a fresh emulator and export them back.",
    )(demo)


COMMANDS: dict[str, Callable[[typer.Typer], None]] = {
    "emulator": _emulator,
    "org": _org,
    "jobs": _jobs,
    "query": _query,
    "export": _export,
    "load": _load,
    "sync": _sync,
    "describe": _describe,
    "limits": _limits,
    "doctor": _doctor,
    "demo": _demo,
}
"""Each command (or command group) and how it is added to the root app, in the order of ``--help``."""


def build_app(only: str | None = None) -> typer.Typer:
    """The root app with every command, or with the command ``only`` alone.

    Example:
        >>> [c.name for c in build_app("export").registered_commands]
        ['export']
    """
    app = typer.Typer(
        name="kinetic",
        help="Move data in and out of Salesforce, or run a local Salesforce org emulator.\n\n"
        "Every command that talks to an org takes --org NAME (-o, --target-org) and --json, before or "
        "after the command name; it names the org it talks to on stderr. " + EXIT_CODES_HELP,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        cls=KineticRoot,
    )
    app.callback()(root_callback)
    for name, add in COMMANDS.items():
        if only is None or name == only:  # "" (VERSION_ONLY): none
            add(app)
    style_commands(app)
    return app


def command_named(args: Sequence[str]) -> str | None:
    """The command a ``kinetic`` command line runs, when that is certain; else None.

    ``kinetic --version`` alone gives :data:`VERSION_ONLY` (no command is needed to answer it).

    Only the root's own options may come before the name; anything else (``--help``, ``--version``,
    an option the root does not have, an unknown command) gives None: the whole app then answers.

    Example:
        >>> command_named(["--org", "prod", "export", "SELECT Id FROM Account"])
        'export'
        >>> command_named(["--help"]) is None, command_named(["exprot"]) is None
        (True, True)
    """
    if os.environ.get(COMPLETION_VARIABLE):
        return None
    if list(args) == ["--version"]:
        return VERSION_ONLY
    index = 0
    while index < len(args):
        word = args[index]
        if word in GLOBAL_VALUE_OPTIONS:
            index += 2
        elif word in GLOBAL_FLAGS or word.startswith(("--org=", "--target-org=")):
            index += 1
        elif len(word) > 1 and word.startswith("-") and set(word[1:]) == {"v"}:
            index += 1  # -v, -vv
        elif word.startswith("-"):
            return None
        else:
            return word if word in COMMANDS else None
    return None


def settle_for_exit() -> None:
    """Collect the garbage once, then keep what is still alive out of the shutdown's collections.

    Registered with ``atexit`` by :func:`main`. When the interpreter shuts down it walks every
    object the collector tracks two or three times and frees the modules' classes and functions
    one by one: some 10 ms of CPU after a ``kinetic export``. Here the garbage is collected first,
    while every module is intact, so its finalizers run as before; what survives (modules,
    classes, functions) is then frozen (``gc.freeze``), so the shutdown's collections skip it.
    Files are closed by the code that opened them, ``weakref.finalize`` clean-ups and logging's
    handlers by their own ``atexit`` hooks, stdout and stderr by the interpreter, as before.
    """
    gc.collect()
    gc.freeze()


def main() -> None:
    """Run the ``kinetic`` command line of this process (``sys.argv``)."""
    atexit.unregister(settle_for_exit)  # once, however often main runs in one process
    atexit.register(settle_for_exit)
    build_app(command_named(sys.argv[1:]))()


__all__ = [
    "COMMANDS",
    "GLOBAL_PARAMS",
    "ROWS_EXIT_CODES",
    "build_app",
    "command_named",
    "global_defaults",
    "main",
    "package_version",
    "settle_for_exit",
]
