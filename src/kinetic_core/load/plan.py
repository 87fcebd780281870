"""The router's work as a plan: the client calls a load makes, written once for both clients.

A load (measure the input, read the org's allowances, send the records through REST, Composite or
Bulk API 2.0) is a generator that *yields* what it needs done and receives the result:

* ``ClientCall``: call a method of the client (``"create"``, ``"bulk.insert"``...);
* ``Compute``: run a CPU- or disk-bound function (count a CSV file, spool a file object).

``run_plan`` performs them on a ``SalesforceClient`` (plain calls), ``arun_plan`` on an
``AsyncSalesforceClient`` (calls awaited, computations in a worker thread so the event loop stays
free). An error of a call is thrown into the plan at its ``yield``, so the plan handles it the same
way whichever client made it: the same decision, reason and ``LoadResult``.

Example:
    >>> def remaining() -> Plan[int]:
    ...     limits = yield ClientCall("limits")
    ...     return int(limits["DailyApiRequests"]["Remaining"])
    >>> next(remaining()).path
    'limits'
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ClientCall:
    """Call the client's method at ``path`` (dotted: ``"bulk.insert"``) with these arguments."""

    path: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Compute:
    """Run ``function(*args)``: work of the CPU or the disk, no API call."""

    function: Callable[..., Any]
    args: tuple[Any, ...] = ()


Plan = Generator[ClientCall | Compute, Any, T]
"""A load, or part of one: yields what it needs done, receives the results, returns its own."""


def _method(client: Any, path: str) -> Any:
    target = client
    for part in path.split("."):
        target = getattr(target, part)
    return target


def run_plan(client: Any, plan: Plan[T]) -> T:
    """Perform a plan on a sync client; its result."""
    answer: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                need = plan.throw(error) if error is not None else plan.send(answer)
            except StopIteration as stop:
                result: T = stop.value
                return result
            answer, error = None, None
            try:
                if isinstance(need, ClientCall):
                    answer = _method(client, need.path)(*need.args, **need.kwargs)
                else:
                    answer = need.function(*need.args)
            except Exception as exc:  # handed to the plan, which may handle it
                error = exc
    finally:
        plan.close()


async def arun_plan(client: Any, plan: Plan[T]) -> T:
    """Perform a plan on an async client (calls awaited, computations off the event loop); its result."""
    from kinetic_core.http.afiles import off_loop

    answer: Any = None
    error: Exception | None = None
    try:
        while True:
            try:
                need = plan.throw(error) if error is not None else plan.send(answer)
            except StopIteration as stop:
                result: T = stop.value
                return result
            answer, error = None, None
            try:
                if isinstance(need, ClientCall):
                    answer = _method(client, need.path)(*need.args, **need.kwargs)
                    if inspect.isawaitable(answer):
                        answer = await answer
                else:
                    answer = await off_loop(need.function, *need.args)
            except Exception as exc:  # handed to the plan, which may handle it
                error = exc
    finally:
        plan.close()
