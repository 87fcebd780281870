"""The root typer app; each command group lives in its own module and is added here."""

from __future__ import annotations

import importlib.metadata
import logging
import sys
from typing import Annotated, Any

import typer
from typer import _click as click

from kinetic_core.cli.common import EXIT_CODES_HELP, ORG_EXIT_CODES, JsonOption, OrgOption, exit_codes_help
from kinetic_core.cli.data_cmd import describe, export, limits, query
from kinetic_core.cli.demo_cmd import demo
from kinetic_core.cli.doctor import doctor
from kinetic_core.cli.emulator_cmd import emulator_app
from kinetic_core.cli.helpstyle import style_commands, walk
from kinetic_core.cli.jobs_cmd import jobs_app
from kinetic_core.cli.load_cmd import load
from kinetic_core.cli.org_cmd import org_app
from kinetic_core.cli.sync_cmd import sync

app = typer.Typer(
    name="kinetic",
    help="Move data in and out of Salesforce, or run a local Salesforce org emulator.\n\n"
    "Every command that talks to an org takes --org NAME (-o, --target-org) and --json, before or after "
    "the command name; it names the org it talks to on stderr. " + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

GLOBAL_PARAMS = ("org", "json_output")
"""Options that may also be given before the command name (they become that command's defaults)."""


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def package_version() -> str:
    """The installed version of kinetic-core, from the package metadata."""
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


@app.callback()
def main(
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


ROWS_EXIT_CODES = exit_codes_help(failed="some rows failed or were not processed", auth=True, wait=True)

app.add_typer(emulator_app, name="emulator")
app.add_typer(org_app, name="org")
app.add_typer(jobs_app, name="jobs")
app.command("query", epilog=ORG_EXIT_CODES)(query)
app.command("export", epilog=exit_codes_help(auth=True, wait=True))(export)
app.command(
    "load",
    epilog=ROWS_EXIT_CODES,
    short_help="Load a CSV file into an object (insert, update, upsert, delete, hard-delete).",
)(load)
app.command(
    "sync",
    epilog=exit_codes_help(failed="some rows failed, or --dry-run found problems", auth=True, api=True),
    short_help="Run a sync pipeline file: source, mapping, router, failure file, resumable journal.",
)(sync)
app.command("describe", epilog=ORG_EXIT_CODES)(describe)
app.command("limits", epilog=ORG_EXIT_CODES)(limits)
app.command("doctor", epilog=exit_codes_help(failed="some checks failed", auth=True, api=True))(doctor)
app.command(
    "demo",
    epilog=exit_codes_help(api=True),
    short_help="Load generated Accounts and Contacts into a fresh emulator and export them back.",
)(demo)
style_commands(app)
