"""Settling in-doubt insert rows by their external id, when a resumed run can tell.

A REST/Composite insert that was in flight when a run stopped may or may not have been saved, and
the call's answer is lost. When the rows carry a value that identifies them in the org, the resumed
run looks those values up instead of reporting every row in doubt:

* **The key field** is the pipeline's ``external_id`` setting when it names a field of the mapped
  records; otherwise the first field of the mapped records that the object's describe marks
  ``externalId``. Describe must mark it ``externalId`` (or ``unique``), ``filterable``, and of type
  ``string`` or ``email`` (text values compare exactly; other types stay in doubt).
* **The lookup** is ``SELECT Id, <key> FROM <object> WHERE <key> IN (...)`` over the batch's
  distinct values, in chunks that keep each statement under Salesforce's SOQL length
  (100,000 characters) and its URL-encoded form well under the 16,384-byte URI limit of a ``GET``.
* **Settling**, per row, comparing stored values exactly (after trimming surrounding spaces):

  - no record carries the row's value: the insert did not save it, so the row is sent again;
  - the field is unique and one record carries the value: the row was loaded, a success with
    that record's Id (if that record existed before the run, the insert would have failed as a
    duplicate value, and it would fail again if re-sent: either way nothing is loaded twice);
  - otherwise the row stays ``IN_DOUBT``: no value, a value that is not text, a value repeated in
    the batch, a non-unique field whose value is already in the org (a record the run never sent
    could carry it), or a lookup that failed.

The lookup assumes the stopped process's last call has ended on the server. A kill leaves at most
one call in flight, and a Salesforce call of at most 200 records ends within seconds; a resume
started before it ends could find its rows absent and send them again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from kinetic_core.errors import ApiError
from kinetic_core.pipeline.runner import Item
from kinetic_core.rest.soql import quote_string

logger = logging.getLogger(__name__)

MAX_SOQL_CHARS = 100_000
"""Salesforce's maximum SOQL statement length (app limits cheat sheet, "SOQL statements")."""
MAX_QUERY_BYTES = 10_000
"""Budget for the URL-encoded ``q`` parameter: the whole URI (plus headers) must stay under 16,384
bytes (414/431 above it); the rest is left to the instance URL, the path and the headers."""
MAX_VALUE_CHARS = 4_000
"""Salesforce's limit on each string in a SOQL ``WHERE`` clause."""
TEXT_TYPES = frozenset({"string", "email"})


@dataclass(frozen=True)
class KeyField:
    """The field that identifies an insert row in the org."""

    name: str
    unique: bool


@dataclass(frozen=True)
class Settled:
    """The verdict on an in-doubt batch: rows found in the org, rows to send again, rows still in doubt."""

    loaded: dict[int, str]
    resend: list[Item]
    doubtful: list[Item]


def key_field(describe: Mapping[str, Any], declared: str | None, items: Sequence[Item]) -> KeyField | None:
    """The key field for ``items`` (see the module docstring), or None when there is none.

    Example:
        >>> d = {"fields": [{"name": "Ext__c", "type": "string", "externalId": True, "unique": True,
        ...                  "filterable": True}]}
        >>> key_field(d, None, [Item(1, {}, {"Ext__c": "A1"})])
        KeyField(name='Ext__c', unique=True)
    """
    fields = {str(f.get("name", "")).lower(): f for f in describe.get("fields", [])}
    mapped: dict[str, None] = {}
    for item in items:
        mapped.update(dict.fromkeys(k for k, v in item.record.items() if not isinstance(v, Mapping)))
    names = list(mapped)
    if declared and declared.lower() in {n.lower() for n in names}:
        candidates = [declared]
    else:
        candidates = [n for n in names if fields.get(n.lower(), {}).get("externalId")]
    for name in candidates:
        spec = fields.get(name.lower())
        if spec is None or not (spec.get("externalId") or spec.get("unique")):
            continue
        if spec.get("type") in TEXT_TYPES and spec.get("filterable", True):
            return KeyField(str(spec["name"]), bool(spec.get("unique")))
    return None


def _value(item: Item, field: str) -> str | None:
    """The row's key value as sent (None: absent, empty, too long or not text)."""
    lowered = field.lower()
    for key, value in item.record.items():
        if key.lower() == lowered:
            if isinstance(value, bool) or not isinstance(value, str | int):
                return None
            text = str(value)
            return text if text.strip() and len(text) <= MAX_VALUE_CHARS else None
    return None


def lookup_chunks(sobject: str, field: str, values: Sequence[str]) -> Iterator[str]:
    """``SELECT Id, field FROM sobject WHERE field IN (...)`` statements covering ``values``.

    Each statement stays under :data:`MAX_SOQL_CHARS` characters and :data:`MAX_QUERY_BYTES` bytes
    once URL-encoded.

    Example:
        >>> list(lookup_chunks("Account", "Ext__c", ["A1", "O'B"]))
        ["SELECT Id, Ext__c FROM Account WHERE Ext__c IN ('A1','O\\\\'B')"]
    """
    head = f"SELECT Id, {field} FROM {sobject} WHERE {field} IN ("
    chars, encoded = len(head) + 1, len(quote_plus(head)) + len(quote_plus(")"))
    comma = len(quote_plus(","))
    parts: list[str] = []
    used_chars, used_bytes = chars, encoded
    for value in values:
        literal = quote_string(value)
        extra_chars = len(literal) + (1 if parts else 0)
        extra_bytes = len(quote_plus(literal)) + (comma if parts else 0)
        full = used_chars + extra_chars > MAX_SOQL_CHARS or used_bytes + extra_bytes > MAX_QUERY_BYTES
        if parts and full:
            yield head + ",".join(parts) + ")"
            parts, used_chars, used_bytes = [], chars, encoded
            extra_chars, extra_bytes = len(literal), len(quote_plus(literal))
        parts.append(literal)
        used_chars += extra_chars
        used_bytes += extra_bytes
    if parts:
        yield head + ",".join(parts) + ")"


def settle_inserts(client: Any, sobject: str, declared: str | None, items: Sequence[Item]) -> Settled:
    """Look the in-doubt insert ``items`` up by their key field and settle what can be settled.

    Example:
        >>> settled = settle_inserts(client, "Account", "External_Id__c", items)  # doctest: +SKIP
        >>> len(settled.loaded), len(settled.resend), len(settled.doubtful)        # doctest: +SKIP
        (200, 0, 0)
    """
    try:
        key = key_field(client.describe(sobject), declared, items)
    except ApiError as exc:
        logger.warning("cannot describe %s to settle in-doubt rows: %s", sobject, exc)
        key = None
    if key is None:
        logger.info("%d in-doubt row(s) carry no external id: they stay in doubt", len(items))
        return Settled({}, [], list(items))
    sent = {item.row_number: _value(item, key.name) for item in items}
    values = {n: (v.strip() if v is not None else None) for n, v in sent.items()}
    repeated = Counter(v for v in values.values() if v is not None)
    # the value as sent, and trimmed too (in case the org trimmed it when saving)
    distinct = sorted({v for v in sent.values() if v is not None} | set(repeated))
    found: dict[str, list[str]] = {}
    try:
        for soql in lookup_chunks(sobject, key.name, distinct):
            for record in client.query(soql):
                stored = record.get(key.name)
                if isinstance(stored, str):
                    found.setdefault(stored.strip(), []).append(str(record["Id"]))
    except ApiError as exc:
        logger.warning("looking up in-doubt rows by %s failed: %s; they stay in doubt", key.name, exc)
        return Settled({}, [], list(items))
    loaded: dict[int, str] = {}
    resend: list[Item] = []
    doubtful: list[Item] = []
    for item in items:
        value = values[item.row_number]
        ids = found.get(value, []) if value is not None else []
        if value is None:
            doubtful.append(item)
        elif not ids:
            resend.append(item)
        elif key.unique and len(ids) == 1 and repeated[value] == 1:
            loaded[item.row_number] = ids[0]
        else:
            doubtful.append(item)
    logger.info(
        "in-doubt rows settled by %s: %d loaded, %d to send again, %d still in doubt",
        key.name,
        len(loaded),
        len(resend),
        len(doubtful),
    )
    return Settled(loaded, resend, doubtful)
