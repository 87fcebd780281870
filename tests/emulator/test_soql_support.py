"""Shared schema and data helpers for the SOQL tests (no tests of its own)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from kinetic_core.emulator.store import Store, build_schema
from kinetic_core.emulator.store.schema import Schema

SCHEMA_YAML = """
objects:
  Widget__c:
    fields:
      Tags__c: {type: multipicklist, values: [red, green, blue, big]}
      Qty__c: {type: int}
      Price__c: {type: number, precision: 16, scale: 2}
      Due__c: {type: date}
      Seen__c: {type: datetime}
      Active__c: {type: checkbox}
      Code__c: {type: text, length: 20, external_id: true, unique: true}
      Account__c: {type: reference, to: Account, relationship: Account__r, child: Widgets__r}
fields:
  Account:
    Tier__c: {type: picklist, values: [Gold, Silver, Bronze]}
"""

NOW = datetime(2024, 5, 15, 12, 30, tzinfo=UTC)
"""Wednesday 15 May 2024, 12:30 UTC: the injected clock of the execution tests."""


def make_schema(tmp_path: Path) -> Schema:
    path = tmp_path / "schema.yaml"
    path.write_text(SCHEMA_YAML, encoding="utf-8")
    return build_schema(path)


def open_store(tmp_path: Path) -> Store:
    schema = make_schema(tmp_path)
    return Store(tmp_path / "org.db", schema, clock=lambda: NOW)
