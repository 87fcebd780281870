"""``SObject``: a client bound to one object name, for code that works on a single type."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kinetic_core.composite.results import RecordResult
    from kinetic_core.rest.client import SalesforceClient, UpsertResult


class SObject:
    """Operations on one object type.

    Example:
        >>> accounts = client.sobject("Account")  # doctest: +SKIP
        >>> accounts.create({"Name": "Acme"})  # doctest: +SKIP
    """

    def __init__(self, client: SalesforceClient, name: str) -> None:
        self.client = client
        self.name = name

    def __repr__(self) -> str:
        return f"SObject({self.name!r})"

    def create(self, data: Mapping[str, Any]) -> str:
        """Create one record; returns its id."""
        return self.client.create(self.name, data)

    def get(self, record_id: str, fields: Iterable[str] | None = None) -> dict[str, Any]:
        """Read one record."""
        return self.client.get(self.name, record_id, fields=fields)

    def update(self, record_id: str, data: Mapping[str, Any]) -> None:
        """Update one record."""
        self.client.update(self.name, record_id, data)

    def upsert(self, external_id_field: str, external_id: str, data: Mapping[str, Any]) -> UpsertResult:
        """Upsert one record by external id."""
        return self.client.upsert(self.name, external_id_field, external_id, data)

    def delete(self, record_id: str) -> None:
        """Delete one record."""
        self.client.delete(self.name, record_id)

    def describe(self) -> dict[str, Any]:
        """The (cached) describe."""
        return self.client.describe(self.name)

    def count(self, where: str | None = None, *values: Any) -> int:
        """Count records, optionally filtered (``where`` filled like ``soql``)."""
        return self.client.count(self.name, where, *values)

    def create_batch(self, records: Iterable[Mapping[str, Any]], **kwargs: Any) -> list[RecordResult]:
        """Composite create of many records."""
        return self.client.create_batch(self.name, records, **kwargs)
