"""Help text as it should read in a terminal: examples one per line, short help chosen, not cut.

typer (without rich markup) hands help text to click, which rewraps every paragraph into one. An
``Example:`` block is turned into a click ``\\b`` paragraph so each example keeps its own line. The
summary in a group's command list is the command's ``short_help``; without one, the first sentence
of the docstring.
"""

from __future__ import annotations

import inspect
from typing import Any

import typer
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

from kinetic_core.cli.coerce import PlainCoercion

NO_REWRAP = "\b"
"""click's marker: the paragraph that follows this line is printed as written."""


def keep_example_lines(text: str) -> str:
    """Mark each ``Example:`` block so click prints one example per line.

    Example:
        >>> keep_example_lines("Do it.\\n\\nExample:\\n    $ a\\n    $ b").splitlines()
        ['Do it.', '', 'Example:', '', '\\x08', '    $ a', '    $ b']
    """
    out: list[str] = []
    for line in inspect.cleandoc(text).splitlines():
        if line.strip() in ("Example:", "Examples:"):
            out += [line, "", NO_REWRAP]
            continue
        out.append(line)
    return "\n".join(out)


def first_sentence(text: str) -> str:
    """The first sentence of a help text (a period followed by a space or the end of the line)."""
    first = inspect.cleandoc(text).split("\n\n")[0].replace("\n", " ")
    for n, char in enumerate(first):
        ends = n + 1 == len(first) or first[n + 1] == " "
        if char == "." and ends and first.count("(", 0, n) == first.count(")", 0, n):
            return first[: n + 1]
    return first


class _HelpStyle:
    """Examples keep their lines; the short help is a whole sentence (mixed into typer's classes)."""

    help: str | None
    short_help: str | None

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.help:
            saved = self.help
            self.help = keep_example_lines(saved)
            try:
                super().format_help_text(ctx, formatter)  # type: ignore[misc]
            finally:
                self.help = saved
        else:
            super().format_help_text(ctx, formatter)  # type: ignore[misc]

    def get_short_help_str(self, limit: int = 45) -> str:
        if self.short_help:
            return inspect.cleandoc(self.short_help).strip()
        return first_sentence(self.help or "")


class KineticCommand(PlainCoercion, _HelpStyle, TyperCommand):
    """A typer command with the house help style (its values converted by ``PlainCoercion``)."""


class KineticGroup(PlainCoercion, _HelpStyle, TyperGroup):
    """A typer group with the house help style (its values converted by ``PlainCoercion``)."""


class KineticRoot(PlainCoercion, TyperGroup):
    """The root group: typer's, its values converted by ``PlainCoercion``."""


def style_commands(app: typer.Typer) -> None:
    """Give every command of ``app`` (and of its sub-apps) the ``KineticCommand`` class."""
    for info in app.registered_commands:
        if info.cls is None or info.cls is TyperCommand:
            info.cls = KineticCommand
    for group in app.registered_groups:
        if not isinstance(group.cls, type) or group.cls is TyperGroup:  # unset: a default placeholder
            group.cls = KineticGroup
        if group.typer_instance is not None:
            style_commands(group.typer_instance)


def walk(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command under ``command`` (itself first) with its name path; groups have ``commands``."""
    found: list[tuple[tuple[str, ...], Any]] = [(path, command)]
    for name, sub in dict(getattr(command, "commands", None) or {}).items():
        found += walk(sub, (*path, name))
    return found
