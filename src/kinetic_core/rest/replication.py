"""Replication windows: which records of an object were deleted, or created or changed, and when.

``GET /sobjects/{SObject}/deleted`` and ``/updated`` take a ``start`` and an ``end`` (the seconds are
ignored by Salesforce). Deleted records are reported for 15 days, updates for 30; more than 600,000
ids in one window is refused (``EXCEEDED_ID_LIMIT``): ask for shorter windows. Start the next window
at ``latest_date_covered``, not at the previous ``end``, so changes still in flight are not missed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kinetic_core.http.session import HttpSession


@dataclass(frozen=True)
class DeletedRecord:
    """One deleted record: its id and when it was deleted (UTC; None if the answer left it out)."""

    id: str
    deleted_date: dt.datetime | None


@dataclass(frozen=True)
class DeletedRecords:
    """The answer of ``get_deleted``.

    Example:
        >>> DeletedRecords([], None, None).ids
        []
    """

    records: list[DeletedRecord]
    earliest_date_available: dt.datetime | None
    latest_date_covered: dt.datetime | None

    @property
    def ids(self) -> list[str]:
        """The deleted records' ids."""
        return [r.id for r in self.records]


@dataclass(frozen=True)
class UpdatedRecords:
    """The answer of ``get_updated``: ids of records created or changed in the window."""

    ids: list[str]
    latest_date_covered: dt.datetime | None


def wire_datetime(moment: dt.datetime) -> str:
    """A request bound in UTC (a naive datetime is taken as UTC).

    Example:
        >>> wire_datetime(dt.datetime(2026, 1, 2, 3, 4, 5))
        '2026-01-02T03:04:05+00:00'
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat()


def parse_wire_datetime(value: Any) -> dt.datetime | None:
    """``2013-05-07T22:07:19.000+0000`` (or ``...Z``) as an aware datetime; None when absent.

    Example:
        >>> parse_wire_datetime("2013-05-07T22:07:19.000+0000").isoformat()
        '2013-05-07T22:07:19+00:00'
    """
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    return dt.datetime.fromisoformat(text)


def _window(start: dt.datetime, end: dt.datetime) -> dict[str, str]:
    if end <= start:
        raise ValueError(f"end ({end.isoformat()}) must come after start ({start.isoformat()})")
    return {"start": wire_datetime(start), "end": wire_datetime(end)}


def get_deleted(session: HttpSession, sobject: str, start: dt.datetime, end: dt.datetime) -> DeletedRecords:
    """Records of ``sobject`` deleted between ``start`` and ``end``."""
    body = session.request("GET", f"sobjects/{sobject}/deleted/", params=_window(start, end)).json()
    records = [
        DeletedRecord(str(item["id"]), parse_wire_datetime(item.get("deletedDate")))
        for item in body.get("deletedRecords") or []
    ]
    return DeletedRecords(
        records,
        parse_wire_datetime(body.get("earliestDateAvailable")),
        parse_wire_datetime(body.get("latestDateCovered")),
    )


def get_updated(session: HttpSession, sobject: str, start: dt.datetime, end: dt.datetime) -> UpdatedRecords:
    """Ids of the records of ``sobject`` created or changed between ``start`` and ``end``."""
    body = session.request("GET", f"sobjects/{sobject}/updated/", params=_window(start, end)).json()
    return UpdatedRecords(
        [str(i) for i in body.get("ids") or []], parse_wire_datetime(body.get("latestDateCovered"))
    )
