"""The cyclic garbage collector while a ``kinetic`` process starts.

A command imports some 400 modules and logs in before it moves a row, and nearly every object it
makes on the way (modules, classes, functions) lives until the process ends. With the collector's
usual settings that start-up runs about 70 young-generation collections and a few older ones
(some 12 ms of CPU for a ``kinetic export``), each walking objects that will never be garbage, and
the full collection at exit walks them all once more.

So the console script (:func:`kinetic_core.cli.main`) calls :func:`begin` first: the youngest
generation is collected only after :data:`START_UP_THRESHOLD` new objects instead of 700 (the
collector stays on, so the memory a long command that never connects may hold in garbage cycles
stays bounded). Once the command has connected and logged in, :func:`end` freezes what is alive
(``gc.freeze``: later collections, the one at exit included, no longer walk it) and puts the usual
settings back for the rest of the run. A program or test that drives the command line in-process
never calls :func:`begin`, and :func:`end` then does nothing.
"""

from __future__ import annotations

import gc

START_UP_THRESHOLD = 50_000
"""New objects between two young-generation collections while the process starts (usually 700)."""

_saved: list[tuple[int, int, int]] = []
"""The collector's thresholds before :func:`begin`, while the start-up lasts."""


def begin() -> None:
    """Collect the youngest generation rarely until :func:`end`."""
    if not _saved:
        thresholds = gc.get_threshold()
        _saved.append((thresholds[0], thresholds[1], thresholds[2]))
        gc.set_threshold(max(START_UP_THRESHOLD, thresholds[0]), thresholds[1], thresholds[2])


def end() -> None:
    """The start-up is over: freeze what is alive and restore the thresholds of before :func:`begin`."""
    if _saved:
        gc.freeze()
        gc.set_threshold(*_saved.pop())


def starting() -> bool:
    """Whether :func:`begin` was called and :func:`end` not yet."""
    return bool(_saved)


__all__ = ["START_UP_THRESHOLD", "begin", "end", "starting"]
