"""The ``kinetic`` command line.

``main`` (the console script) builds the app with the one command it runs; ``app`` (built on first
use) is the whole app, for programs and tests that drive the command line in-process.

Example:
    $ kinetic emulator start --port 0 --data-dir /tmp/org
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

    app: typer.Typer


def main() -> None:
    """Entry point of the ``kinetic`` console script."""
    from kinetic_core.cli import startup

    startup.begin()  # before the imports: see kinetic_core.cli.startup
    from kinetic_core.cli.root import main as run

    run()


def __getattr__(name: str) -> Any:
    if name == "app":
        from kinetic_core.cli.root import build_app

        whole = globals()["app"] = build_app()
        return whole
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
