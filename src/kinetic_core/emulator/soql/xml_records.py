"""Query records as Bulk API 1.0 XML sends them: ``<queryResult>`` of ``<records xsi:type="sObject">``.

Each record opens with its ``<type>`` and an ``<Id>`` (``xsi:nil`` when the query did not select
it), then the selected fields in order, so a selected ``Id`` appears twice, as Salesforce sends it
[R: recorded Bulk API 1.0 XML results in client test suites]. Nulls are ``xsi:nil="true"``, booleans
``true``/``false``, dateTimes ``2016-11-01T09:00:00.000Z``; a parent relationship is a nested
``xsi:type="sObject"`` element named after the relationship [I].
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape

from kinetic_core.emulator.store import numbers
from kinetic_core.emulator.store.schema import FieldType, Schema

DATALOAD_NS = "http://www.force.com/2009/06/asyncapi/dataload"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
HEAD = f'<?xml version="1.0" encoding="UTF-8"?><queryResult xmlns="{DATALOAD_NS}" xmlns:xsi="{XSI_NS}">'
TAIL = "</queryResult>"
_PAGE = 2000


class _Page(Protocol):
    @property
    def records(self) -> list[dict[str, Any]]: ...

    @property
    def next_locator(self) -> str | None: ...


class PagedQuery(Protocol):
    """The parts of the SOQL engine an XML result uses."""

    def validate_bulk(self, soql: str) -> Any: ...

    def run(
        self, soql: str, *, include_deleted: bool = ..., batch_size: int = ..., api_version: str = ...
    ) -> Any: ...

    def more(self, locator: str, *, api_version: str = ...) -> Any: ...


def _text(value: Any, kind: FieldType | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = numbers.json_text(value) if isinstance(value, Decimal) else str(value)
    if kind is FieldType.DATETIME and text.endswith("+0000"):
        text = text[:-5] + "Z"
    return escape(text)


def record_xml(schema: Schema, record: dict[str, Any], tag: str = "records") -> str:
    """One REST record as a Bulk API 1.0 XML ``sObject`` element.

    Example:
        >>> record_xml(schema, {"attributes": {"type": "Account"}, "Name": "A&B"})  # doctest: +SKIP
        '<records xsi:type="sObject"><type>Account</type><Id xsi:nil="true"/><Name>A&amp;B</Name></records>'
    """
    attributes = record.get("attributes")
    sobject = attributes.get("type") if isinstance(attributes, dict) else None
    obj = schema.get(sobject) if isinstance(sobject, str) else None
    rid = record.get("Id")
    out = [f'<{tag} xsi:type="sObject"><type>{escape(str(sobject or ""))}</type>']
    out.append(f"<Id>{escape(str(rid))}</Id>" if rid else '<Id xsi:nil="true"/>')
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict):
            out.append(record_xml(schema, value, key))
        elif value is None:
            out.append(f'<{key} xsi:nil="true"/>')
        else:
            field = obj.field(key) if obj is not None else None
            out.append(f"<{key}>{_text(value, field.type if field is not None else None)}</{key}>")
    out.append(f"</{tag}>")
    return "".join(out)


def _records(engine: PagedQuery, soql: str, include_deleted: bool, api_version: str) -> Iterator[Any]:
    page: _Page = engine.run(soql, include_deleted=include_deleted, batch_size=_PAGE, api_version=api_version)
    while True:
        yield from page.records
        if page.next_locator is None:
            return
        page = engine.more(page.next_locator, api_version=api_version)


def write_xml_result(
    engine: PagedQuery, schema: Schema, soql: str, *, include_deleted: bool, api_version: str, target: Path
) -> int:
    """Run ``soql`` (refused as a Bulk query would be) and write its records as XML; the record count.

    Raises:
        ApiError: what the SOQL engine refuses.
    """
    engine.validate_bulk(soql)
    count = 0
    with target.open("w", encoding="utf-8") as out:
        out.write(HEAD)
        for record in _records(engine, soql, include_deleted, api_version):
            out.write(record_xml(schema, record))
            count += 1
        out.write(TAIL)
    return count


__all__ = ["record_xml", "write_xml_result"]
