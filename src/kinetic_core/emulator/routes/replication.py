"""Replication: ``GET /sobjects/{SObject}/deleted`` and ``/updated`` with ``start`` and ``end``.

The answers have Salesforce's shapes: ``{"deletedRecords": [{"id", "deletedDate"}],
"earliestDateAvailable", "latestDateCovered"}`` and ``{"ids": [...], "latestDateCovered"}``, dates
as ``2013-05-07T22:07:19.000+0000`` [D]. The seconds of ``start`` and ``end`` are ignored [D]; more
than 600,000 ids is ``EXCEEDED_ID_LIMIT`` [D]; deleted records are reported for 15 days and updates
for 30 [D]: an older ``start`` is moved up to that limit rather than refused [I]. The emulator
purges nothing, so ``latestDateCovered`` is the end of the window (or now, if earlier) and
``earliestDateAvailable`` the start of the 15 days [I]. Only soft deletes are logged: a
hard-deleted record leaves no trace [I]. An ``end`` less than a minute after ``start`` answers
``INVALID_REPLICATION_DATE``, as the SOAP calls do [I].
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.service.records import object_def
from kinetic_core.emulator.store.values import format_datetime, parse_datetime
from kinetic_core.emulator.web import get_org, json_response, require_session

MAX_IDS = 600_000
DELETED_DAYS = 15
UPDATED_DAYS = 30


def _stored(moment: datetime) -> str:
    return format_datetime(moment)


def _wire(stored: str) -> str:
    """``2013-05-07T22:07:19.000Z`` -> ``2013-05-07T22:07:19.000+0000``."""
    return stored[:-1] + "+0000" if stored.endswith("Z") else stored


def _moment(request: Request, name: str) -> datetime:
    raw = request.query_params.get(name)
    if not raw:
        raise ApiError(400, "MISSING_ARGUMENT", f"{name} parameter not specified")
    stored = parse_datetime(raw.strip())
    if stored is None:
        raise ApiError(400, "INVALID_REPLICATION_DATE", f"{name} is not a valid dateTime: {raw}")
    return datetime.strptime(stored, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC, second=0, microsecond=0)


def _window(request: Request, days: int) -> tuple[datetime, datetime, datetime]:
    """``(start, end, now)`` of the request, checked; ``start`` no older than ``days`` ago."""
    start, end = _moment(request, "start"), _moment(request, "end")
    now = get_org(request).clock().astimezone(UTC)
    if end - start < timedelta(minutes=1):
        raise ApiError(
            400, "INVALID_REPLICATION_DATE", "start must chronologically precede end by more than one minute"
        )
    return max(start, now - timedelta(days=days)), end, now


def _changes(request: Request, *, deleted: bool) -> tuple[list[tuple[str, str]], datetime, datetime]:
    """``(rows, latestDateCovered, now)`` of one window: the checks both routes share."""
    require_session(request)
    org = get_org(request)
    obj = object_def(org, request.path_params["sobject"])
    start, end, now = _window(request, DELETED_DAYS if deleted else UPDATED_DAYS)
    rows = org.store.changed_between(obj.name, _stored(start), _stored(end), deleted=deleted)
    if len(rows) > MAX_IDS:
        raise ApiError(400, "EXCEEDED_ID_LIMIT", f"More than {MAX_IDS} ids; choose a shorter time span")
    minute = now.replace(second=0, microsecond=0)
    return rows, min(end, minute), minute


async def deleted(request: Request) -> Response:
    rows, covered, minute = _changes(request, deleted=True)
    return json_response(
        {
            "deletedRecords": [{"id": rid, "deletedDate": _wire(moment)} for rid, moment in rows],
            "earliestDateAvailable": _wire(_stored(minute - timedelta(days=DELETED_DAYS))),
            "latestDateCovered": _wire(_stored(covered)),
        }
    )


async def updated(request: Request) -> Response:
    rows, covered, _ = _changes(request, deleted=False)
    return json_response({"ids": [rid for rid, _ in rows], "latestDateCovered": _wire(_stored(covered))})
