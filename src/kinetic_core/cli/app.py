"""The root typer app; each command group lives in its own module and is added here."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from kinetic_core.cli.common import EXIT_CODES_HELP
from kinetic_core.cli.data_cmd import describe, export, limits, query
from kinetic_core.cli.demo_cmd import demo
from kinetic_core.cli.doctor import doctor
from kinetic_core.cli.emulator_cmd import emulator_app
from kinetic_core.cli.jobs_cmd import jobs_app
from kinetic_core.cli.load_cmd import load
from kinetic_core.cli.org_cmd import org_app
from kinetic_core.cli.sync_cmd import sync

app = typer.Typer(
    name="kinetic",
    help="Move data in and out of Salesforce, or run a local Salesforce org emulator.\n\n"
    "Every command takes --org NAME (-o, --target-org) and --json; it names the org it talks to on "
    "stderr. " + EXIT_CODES_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


@app.callback()
def main(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="Log to stderr (-v info, -vv debug).")
    ] = 0,
) -> None:
    """Kinetic Core command line."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    root = logging.getLogger("kinetic_core")
    root.setLevel(level)
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)


app.add_typer(emulator_app, name="emulator")
app.add_typer(org_app, name="org")
app.add_typer(jobs_app, name="jobs")
app.command("query", epilog=EXIT_CODES_HELP)(query)
app.command("export", epilog=EXIT_CODES_HELP)(export)
app.command("load", epilog=EXIT_CODES_HELP)(load)
app.command("sync", epilog=EXIT_CODES_HELP)(sync)
app.command("describe", epilog=EXIT_CODES_HELP)(describe)
app.command("limits", epilog=EXIT_CODES_HELP)(limits)
app.command("doctor", epilog=EXIT_CODES_HELP)(doctor)
app.command("demo", epilog=EXIT_CODES_HELP)(demo)
