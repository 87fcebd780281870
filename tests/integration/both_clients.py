"""Both clients behind one face, for the shared behaviour suite.

``Blocking`` runs an ``AsyncSalesforceClient`` on its own event loop and answers each call with
the awaited result, so a test written once runs against ``SalesforceClient`` and the async client
alike (an async query, Bulk rows or job list comes back as a blocking iterator that awaits each
item; ``client.bulk`` is itself wrapped).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from kinetic_core import AsyncSalesforceClient, SalesforceClient
from kinetic_core.bulk.aclient import AsyncBulkClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.rest.query import AsyncQueryResult


def settings(org: LocalOrg, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """The connect arguments of a client of ``org`` with nothing read from the environment."""
    values: dict[str, Any] = {
        "login_url": org.login_url,
        "client_id": org.client_id,
        "client_secret": org.client_secret,
        "username": org.username,
        "password": org.password,
    }
    values.update(overrides)
    return {
        "environ": {},
        "cwd": tmp_path,
        "home": tmp_path / "home",
        **{k: v for k, v in values.items() if v is not None},
    }


async def no_sleep(seconds: float) -> None:
    """Backoff that does not wait (the emulator's faults are the only delays)."""


class BlockingQuery(Iterator[dict[str, Any]]):
    """An ``AsyncQueryResult`` walked from blocking code."""

    def __init__(self, runner: asyncio.Runner, result: AsyncQueryResult) -> None:
        self._runner = runner
        self._result = result
        runner.run(self._first())

    async def _first(self) -> None:
        await self._result

    @property
    def total_size(self) -> int:
        return self._result.total_size

    @property
    def pages_fetched(self) -> int:
        return self._result.pages_fetched

    def __next__(self) -> dict[str, Any]:
        try:
            return self._runner.run(anext(self._result))
        except StopAsyncIteration:
            raise StopIteration from None


class BlockingItems(Iterator[Any]):
    """Any async iterator (Bulk rows, a job list) walked from blocking code."""

    def __init__(self, runner: asyncio.Runner, items: AsyncIterator[Any]) -> None:
        self._runner = runner
        self._items = items

    def __next__(self) -> Any:
        try:
            return self._runner.run(anext(self._items))
        except StopAsyncIteration:
            raise StopIteration from None


class Blocking:
    """An ``AsyncSalesforceClient`` (or its ``AsyncBulkClient``) whose coroutines are awaited on a
    private loop."""

    def __init__(self, runner: asyncio.Runner, client: AsyncSalesforceClient | AsyncBulkClient) -> None:
        self._runner = runner
        self.inner = client

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if isinstance(value, AsyncBulkClient):
            return Blocking(self._runner, value)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if isinstance(result, AsyncQueryResult):
                return BlockingQuery(self._runner, result)
            if inspect.isawaitable(result):
                result = self._runner.run(_awaited(result))
            if isinstance(result, AsyncIterator):
                return BlockingItems(self._runner, result)
            return result

        return call


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


class Opened:
    """A connected client of either kind, closed by ``close``."""

    def __init__(self, kind: str, org: LocalOrg, tmp_path: Path, **overrides: Any) -> None:
        self.kind = kind
        self._runner: asyncio.Runner | None = None
        args = settings(org, tmp_path, **overrides)
        if kind == "sync":
            self.client: Any = SalesforceClient.connect(sleep=lambda s: None, **args)
        else:
            self._runner = asyncio.Runner()
            inner = AsyncSalesforceClient.connect(sleep=no_sleep, **args)
            self.client = Blocking(self._runner, inner)

    def close(self) -> None:
        if self._runner is None:
            self.client.close()
            return
        try:
            self._runner.run(self.client.inner.aclose())
        finally:
            self._runner.close()
