"""The steps of a batch upsert: read each row's key, match it, parse each row by where it goes, route.

Used by :meth:`~kinetic_core.emulator.store.bulkops.BulkOps.upsert_many`, which runs them in one
transaction. A row whose key is missing, malformed, repeated in the batch or held by several records
fails with Salesforce's error; the others become creates or updates.

Example:
    >>> # keyed, errors = upsert_keys(plan, key, rows, "csv")
    >>> # targets = upsert_targets(key, keyed, matches)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store import messages
from kinetic_core.emulator.store.columnar import parse_columns, same_header
from kinetic_core.emulator.store.schema import FieldDef
from kinetic_core.emulator.store.values import NULL_MARKER, UNCHANGED, csv_converter, json_converter
from kinetic_core.emulator.store.writer import ObjectPlan, Pending, RowParser, normalise_id


@dataclass(frozen=True)
class UpsertTarget:
    """One upsert row with a usable key: its key value, the value compared (``norm``), the matches."""

    index: int
    value: Any
    norm: Any
    hits: list[str]
    duplicate: bool


def upsert_keys(
    plan: ObjectPlan, key: FieldDef, rows: Sequence[Mapping[str, Any]], source: str
) -> tuple[list[tuple[int, Any]], dict[int, ApiError]]:
    """Each row's key value (None: no ``Id``, so a create), or its error (missing or malformed key)."""
    conv = csv_converter(key) if source == "csv" else json_converter(key)
    key_lower = key.name.lower()
    header = same_header(rows) if rows else None
    key_name = None if header is None else next((k for k in header if k.lower() == key_lower), "")
    keyed: list[tuple[int, Any]] = []
    errors: dict[int, ApiError] = {}
    for i, row in enumerate(rows):
        if key_name is None:
            raw = next((v for k, v in row.items() if k.lower() == key_lower), None)
        else:
            raw = row[key_name] if key_name else None
        try:
            if raw in (None, "", NULL_MARKER, UNCHANGED):
                if key.name != "Id":
                    raise messages.missing_external_id(key.name)
                keyed.append((i, None))
                continue
            keyed.append((i, normalise_id(plan, raw) if key.name == "Id" else conv(raw)))
        except ApiError as exc:
            errors[i] = exc
    return keyed, errors


def upsert_targets(
    key: FieldDef, keyed: list[tuple[int, Any]], matches: dict[Any, list[str]]
) -> list[UpsertTarget]:
    nocase = key.is_text and not key.case_sensitive
    norms = [
        None if value is None else value.lower() if nocase and isinstance(value, str) else value
        for _, value in keyed
    ]
    counts = Counter(norms)
    out = []
    for (i, value), norm in zip(keyed, norms, strict=True):
        hits = [] if norm is None else matches.get(norm, [])
        out.append(UpsertTarget(i, value, norm, hits, norm is not None and counts[norm] > 1))
    return out


def parse_upsert_rows(
    plan: ObjectPlan,
    key: FieldDef,
    source: str,
    rows: Sequence[Mapping[str, Any]],
    targets: list[UpsertTarget],
) -> dict[int, Pending]:
    """Parse rows headed for a create with the insert rules, the others with the update rules."""
    by_parser: tuple[list[int], list[int]] = ([], [])
    for t in targets:
        insert = t.value is None or (not t.hits and key.name != "Id")
        by_parser[0 if insert else 1].append(t.index)
    pendings: dict[int, Pending] = {}
    for insert, idx in zip((True, False), by_parser, strict=True):
        parser = RowParser(plan, source, insert=insert)
        subset = [rows[i] for i in idx]
        parsed = parse_columns(parser, subset)
        if parsed is None:
            parsed = [parser.parse(row, i) for i, row in zip(idx, subset, strict=True)]
        for i, p in zip(idx, parsed, strict=True):
            p.index = i
            pendings[i] = p
    return pendings


def route_upserts(
    key: FieldDef, targets: list[UpsertTarget], pendings: dict[int, Pending]
) -> tuple[list[Pending], list[Pending]]:
    """(creates, updates); rows with a repeated or ambiguous key, or an unknown ``Id``, fail here."""
    inserts: list[Pending] = []
    updates: list[Pending] = []
    for t in targets:
        p = pendings[t.index]
        if t.duplicate:
            p.fail(messages.duplicate_external_id(key.name, str(t.value)))
        elif len(t.hits) > 1:
            p.fail(messages.external_id_multiple(key.name, t.hits))
        elif t.value is None:
            inserts.append(p)
        elif t.hits:
            p.created, p.record_id = False, t.hits[0]
            updates.append(p)
        elif key.name == "Id":
            p.created = False
            p.fail(messages.invalid_cross_reference("Id"))
        else:
            inserts.append(p)
    return inserts, updates
