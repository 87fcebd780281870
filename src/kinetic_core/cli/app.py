"""The root typer app; each command group lives in its own module and is added here."""

from __future__ import annotations

import typer

from kinetic_core.cli.emulator_cmd import emulator_app

app = typer.Typer(
    name="kinetic",
    help="Move data in and out of Salesforce, or run a local Salesforce org emulator.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(emulator_app, name="emulator")
