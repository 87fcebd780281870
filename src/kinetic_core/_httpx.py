"""``httpx``, imported without its command-line client.

``import httpx`` also imports ``httpx._main``, the ``httpx`` command's code, and with it click,
rich and pygments when they are installed (they are: the ``kinetic`` command uses rich and
typer). That is about 45 ms of CPU in every process, half of httpx's import cost, for code
this package never runs. So the first import goes through here: while httpx loads,
``httpx._main`` is a small stand-in whose ``main`` imports the real module when called, and the
stand-in is removed as soon as httpx is loaded. Nothing changes for other code: ``httpx.main()``
still runs the command, and ``import httpx._main`` still gives the real module. If httpx was
imported before this package, it is used as it is.

Every module of the package imports httpx as ``from kinetic_core._httpx import httpx``.
"""

from __future__ import annotations

import sys
import types
from typing import Any

_CLI = "httpx._main"


def _run_cli(*args: Any, **kwargs: Any) -> Any:
    """``httpx.main``: import the command-line client on first use, then run it."""
    from httpx._main import main as cli

    return cli(*args, **kwargs)


def _import_without_cli() -> None:
    if "httpx" in sys.modules or _CLI in sys.modules:
        return
    stand_in = types.ModuleType(_CLI, "Imported on first call of httpx.main().")
    stand_in.main = _run_cli  # type: ignore[attr-defined]
    sys.modules[_CLI] = stand_in
    try:
        import httpx  # noqa: F401
    finally:
        if sys.modules.get(_CLI) is stand_in:
            del sys.modules[_CLI]


_import_without_cli()

import httpx as httpx  # noqa: E402

__all__ = ["httpx"]
