"""Compound fields (``BillingAddress``, ``MailingAddress`` ...): their REST value built from components.

A compound field has no column: its value is an object keyed by the components' names without the
prefix, first letter lower-cased, in alphabetical order (``city, country, geocodeAccuracy, latitude,
longitude, postalCode, state, street``), as a real org answers it; ``null`` when every component is
null.

Example:
    >>> from kinetic_core.emulator.store.custom import build_schema
    >>> account = build_schema().get("Account")
    >>> keys = component_keys(account, account.field("BillingAddress"))
    >>> [k for k, _ in keys][:3]
    ['city', 'country', 'geocodeAccuracy']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kinetic_core.emulator.store.schema import FieldDef, ObjectDef
from kinetic_core.emulator.store.values import to_json


def component_keys(obj: ObjectDef, compound: FieldDef) -> list[tuple[str, FieldDef]]:
    """``(key, component)`` pairs of a compound field, sorted by key."""
    prefix = compound.name.removesuffix("Address").removesuffix("Location")
    out = []
    for part in obj.components(compound):
        bare = part.name[len(prefix) :] if part.name.startswith(prefix) else part.name
        out.append((bare[:1].lower() + bare[1:], part))
    return sorted(out, key=lambda pair: pair[0])


def compound_value(parts: list[tuple[str, FieldDef]], stored: Mapping[str, Any]) -> dict[str, Any] | None:
    """The REST value from the components' stored values (keyed by column); None when all are null."""
    if all(stored.get(part.column) is None for _, part in parts):
        return None
    return {key: to_json(part, stored.get(part.column)) for key, part in parts}
