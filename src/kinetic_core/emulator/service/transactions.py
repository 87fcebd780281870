"""allOrNone: the one place where a group of writes is made atomic and undone when one of them fails.

sObject Collections (``allOrNone``), Composite (``allOrNone``) and sObject Tree (always) run their
writes through :func:`run_atomic`, inside one store transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from kinetic_core.emulator.store.records import Store


class _Rollback(Exception):
    """Raised inside the transaction to undo it."""


def run_atomic(store: Store, work: Callable[[], bool], *, atomic: bool = True) -> bool:
    """Run ``work``; when ``atomic``, in one transaction that is rolled back if ``work`` reports a failure.

    Args:
        store: the org's record store.
        work: does the writes; returns True when one of them failed.
        atomic: False runs ``work`` as it is (each write commits on its own).

    Returns:
        True when the writes were rolled back.

    Example:
        >>> run_atomic(org.store, lambda: insert_all(records))  # doctest: +SKIP
        False
    """
    if not atomic:
        work()
        return False
    try:
        with store.transaction():
            if work():
                raise _Rollback()
    except _Rollback:
        return True
    return False


__all__ = ["run_atomic"]
