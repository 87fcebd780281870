"""The ``kinetic`` command line.

Example:
    $ kinetic emulator start --port 0 --data-dir /tmp/org
"""

from __future__ import annotations

from kinetic_core.cli.app import app


def main() -> None:
    """Entry point of the ``kinetic`` console script."""
    app()


__all__ = ["app", "main"]
