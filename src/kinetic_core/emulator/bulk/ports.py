"""What the bulk engine needs from the store and the SOQL engine (structural types).

The engine is written against these protocols so it stays decoupled from the
concrete ``Store`` and ``QueryEngine`` classes (it never imports them).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store.schema import Schema


class RowOutcomeLike(Protocol):
    """Per-row result of a ``*_many`` store call."""

    @property
    def id(self) -> str | None: ...

    @property
    def created(self) -> bool: ...

    @property
    def error(self) -> ApiError | None: ...


class StoreLike(Protocol):
    """The subset of ``kinetic_core.emulator.store.Store`` the bulk engine uses."""

    @property
    def schema(self) -> Schema: ...

    def read(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def insert_many(
        self, sobject: str, rows: Sequence[Mapping[str, Any]], *, source: str = ..., user_id: str | None = ...
    ) -> Sequence[RowOutcomeLike]: ...

    def update_many(
        self, sobject: str, rows: Sequence[Mapping[str, Any]], *, source: str = ..., user_id: str | None = ...
    ) -> Sequence[RowOutcomeLike]: ...

    def upsert_many(
        self,
        sobject: str,
        ext_field: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        source: str = ...,
        user_id: str | None = ...,
    ) -> Sequence[RowOutcomeLike]: ...

    def delete_many(
        self, sobject: str, ids: Sequence[str], *, hard: bool = ...
    ) -> Sequence[RowOutcomeLike]: ...

    def get(
        self, sobject: str, record_id: str, fields: Sequence[str] | None = ..., *, include_deleted: bool = ...
    ) -> dict[str, Any]: ...

    def find_ids(self, sobject: str, field: str, value: Any) -> list[str]: ...

    def increment(self, name: str, by: int = ...) -> None: ...

    def count_last_24h(self, name: str) -> int: ...


class QueryEngineLike(Protocol):
    """The subset of ``kinetic_core.emulator.soql.QueryEngine`` the bulk engine uses."""

    def validate_bulk(self, soql: str) -> Any: ...

    def iter_csv_rows(self, plan: Any, *, include_deleted: bool) -> tuple[list[str], Iterator[list[str]]]: ...
