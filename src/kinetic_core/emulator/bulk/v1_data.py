"""Bulk API 1.0 data formats: JSON and XML batches turned into the CSV the ingest engine reads,
and batch results rendered as CSV, JSON or XML.

Input rules [D]: a JSON batch is an array of objects, an XML batch an ``<sObjects>`` list of
``<sObject>`` elements; a nested object (``{"Account": {"Ext__c": "A1"}}``) sets a relationship by
external id (``Account.Ext__c``); ``null`` / ``xsi:nil="true"`` clears a field (``#N/A``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from kinetic_core.emulator.bulk.v1_models import V1Error, invalid_batch
from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.store import numbers

DATALOAD_NS = "http://www.force.com/2009/06/asyncapi/dataload"
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
NULL = "#N/A"


def _cell(value: Any, where: str) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.JsonFloat):
        return value.text
    if isinstance(value, int | float | str):
        return str(value)
    raise invalid_batch(f"{where}: a field value must be a string, number, boolean or null")


def _flatten(record: Any, number: int) -> dict[str, str]:
    if not isinstance(record, dict):
        raise invalid_batch(f"Record {number} is not a JSON object")
    flat: dict[str, str] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            for sub, inner in value.items():
                if sub != "attributes":
                    flat[f"{key}.{sub}"] = _cell(inner, f"Record {number}, field {key}.{sub}")
        else:
            flat[key] = _cell(value, f"Record {number}, field {key}")
    return flat


def _to_csv(records: Iterable[dict[str, str]]) -> bytes:
    rows = list(records)
    header: dict[str, None] = {}
    for row in rows:
        header.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        # a key a record leaves out stays unchanged (empty cell), as in Bulk 2.0 CSV
        writer.writerow([row.get(col, "") for col in header])
    return out.getvalue().encode("utf-8")


def json_batch_to_csv(raw: bytes) -> bytes:
    """A JSON batch (array of records) as CSV.

    Example:
        >>> json_batch_to_csv(b'[{"LastName": "Ng", "Email": null}]')
        b'LastName,Email\\nNg,#N/A\\n'
    """
    try:
        data = numbers.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid_batch(f"The batch is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise invalid_batch("A JSON batch must be an array of records")
    return _to_csv(_flatten(record, n) for n, record in enumerate(data, start=1))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_record(element: ElementTree.Element) -> dict[str, str]:
    flat: dict[str, str] = {}
    for child in element:
        name = _local(child.tag)
        if len(child):
            for sub in child:
                flat[f"{name}.{_local(sub.tag)}"] = NULL if sub.get(_XSI_NIL) == "true" else (sub.text or "")
        else:
            flat[name] = NULL if child.get(_XSI_NIL) == "true" else (child.text or "")
    return flat


def xml_batch_to_csv(raw: bytes) -> bytes:
    """An XML batch (``<sObjects><sObject>...``) as CSV."""
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise invalid_batch("DOCTYPE is not allowed in a batch")
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError as exc:
        raise invalid_batch(f"The batch is not well-formed XML: {exc}") from None
    if _local(root.tag) != "sObjects":
        raise invalid_batch(f"Expected an sObjects element, found {_local(root.tag)}")
    return _to_csv(_xml_record(e) for e in root if _local(e.tag) == "sObject")


# --- results ---------------------------------------------------------------------------------------

Outcome = tuple[str, bool, ApiError | None]


def csv_results(rows: Iterable[Outcome]) -> Iterator[str]:
    """``"Id","Success","Created","Error"`` and one line per input record, in input order."""
    yield '"Id","Success","Created","Error"\n'
    for rid, created, err in rows:
        ok = err is None
        text = "" if err is None else err.bulk_error().replace('"', '""')
        yield f'"{rid}","{str(ok).lower()}","{str(created and ok).lower()}","{text}"\n'


def _error_object(err: ApiError) -> dict[str, Any]:
    return {"fields": list(err.fields), "message": err.message, "statusCode": err.error_code}


def json_results(rows: Iterable[Outcome]) -> list[dict[str, Any]]:
    """``[{"success", "created", "id", "errors"}]`` in input order."""
    return [
        {
            "success": err is None,
            "created": created and err is None,
            "id": rid or None,
            "errors": [] if err is None else [_error_object(err)],
        }
        for rid, created, err in rows
    ]


def xml_results(rows: Iterable[Outcome]) -> Iterator[str]:
    """``<results><result>...`` in input order."""
    yield (
        f'<?xml version="1.0" encoding="UTF-8"?><results xmlns="{DATALOAD_NS}"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    )
    for rid, created, err in rows:
        parts = [f"<id>{escape(rid)}</id>" if rid else '<id xsi:nil="true"/>']
        if err is not None:
            fields = "".join(f"<fields>{escape(f)}</fields>" for f in err.fields)
            parts.append(
                f"<errors>{fields}<message>{escape(err.message)}</message>"
                f"<statusCode>{escape(err.error_code)}</statusCode></errors>"
            )
        parts.append(f"<success>{str(err is None).lower()}</success>")
        parts.append(f"<created>{str(created and err is None).lower()}</created>")
        yield "<result>" + "".join(parts) + "</result>"
    yield "</results>"


__all__ = [
    "DATALOAD_NS",
    "Outcome",
    "V1Error",
    "csv_results",
    "json_batch_to_csv",
    "json_results",
    "xml_batch_to_csv",
    "xml_results",
]
