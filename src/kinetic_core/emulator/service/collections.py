"""sObject Collections (``/composite/sobjects``): create, update, upsert, delete, retrieve up to 200 records.

Operations are transport-free (they return a :class:`Reply`) so that ``/composite``
sub-requests reuse them. ``allOrNone`` runs the whole call in one store transaction
(:func:`~kinetic_core.emulator.service.transactions.run_atomic`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.org import Org
from kinetic_core.emulator.service.calls import Call, Reply
from kinetic_core.emulator.service.records import field_values, object_def, parse_fields, record_id
from kinetic_core.emulator.service.transactions import run_atomic
from kinetic_core.emulator.store.ids import is_well_formed, to18
from kinetic_core.emulator.store.messages import MultipleMatches

MAX_RECORDS = 200
MAX_RETRIEVE_IDS = 2000
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": (
        "Record rolled back because not all records were valid and the request was using AllOrNone header"
    ),
    "fields": [],
}


def too_many(count: int) -> None:
    if count > MAX_RECORDS:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )


def _envelope(body: Any) -> tuple[bool, list[Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be an object with a 'records' array")
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise ApiError(400, "JSON_PARSER_ERROR", "allOrNone must be true or false")
    too_many(len(body["records"]))
    return all_or_none, body["records"]


def _record_type(record: Any) -> str:
    if not isinstance(record, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
    attrs = record.get("attributes")
    sobject = attrs.get("type") if isinstance(attrs, dict) else None
    if not isinstance(sobject, str) or not sobject:
        raise ApiError(400, "INVALID_TYPE", "Must specify a type in attributes field", [])
    return sobject


Outcome = tuple[str | None, bool | None]  # (id, created)
Op = Callable[[], Outcome]


def run_ops(org: Org, all_or_none: bool, ops: Sequence[Op], *, upsert: bool = False) -> list[dict[str, Any]]:
    """Run per-record operations and build SaveResults (in request order)."""
    results: list[tuple[Outcome | None, ApiError | None]] = []

    def run_all() -> bool:
        for op in ops:
            try:
                results.append((op(), None))
            except ApiError as err:
                results.append((None, err))
                if all_or_none:
                    results.extend((None, None) for _ in range(len(ops) - len(results)))
                    return True
        return False

    run_atomic(org.store, run_all, atomic=all_or_none)
    failed = all_or_none and any(err is not None for _, err in results)
    out: list[dict[str, Any]] = []
    for outcome, err in results:
        if err is not None:
            item: dict[str, Any] = {"success": False, "errors": [err.save_error()]}
            out.append(item)
        elif outcome is None:  # never reached because an earlier record failed
            out.append({"success": False, "errors": [dict(ROLLED_BACK)]})
        elif failed:
            out.append({"id": outcome[0], "success": False, "errors": [dict(ROLLED_BACK)]})
        else:
            item = {"id": outcome[0], "success": True, "errors": []}
            if upsert:
                item["created"] = bool(outcome[1])
            out.append(item)
    return out


def create_many(org: Org, ver: str, body: Any, user_id: str) -> Reply:
    all_or_none, records = _envelope(body)

    def op(record: Any) -> Op:
        def run() -> Outcome:
            obj = object_def_for_record(org, record)
            if any(k.lower() == "id" for k in record):
                raise ApiError(400, "INVALID_FIELD", "Records with IDs cannot be created", ["Id"])
            return org.store.insert(obj, field_values(record), user_id=user_id), True

        return run

    return Reply(200, run_ops(org, all_or_none, [op(r) for r in records]))


def object_def_for_record(org: Org, record: Any) -> str:
    name = _record_type(record)
    obj = org.store.schema.get(name)
    if obj is None:
        raise ApiError(400, "INVALID_TYPE", f"sObject type '{name}' is not supported.", [])
    return obj.name


def update_many(org: Org, ver: str, body: Any, user_id: str) -> Reply:
    all_or_none, records = _envelope(body)

    def op(record: Any) -> Op:
        def run() -> Outcome:
            name = object_def_for_record(org, record)
            raw = next((v for k, v in record.items() if k.lower() == "id"), None)
            if not isinstance(raw, str) or not raw:
                raise ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
            obj = object_def(org, name)
            if not is_well_formed(raw) or to18(raw)[:3] != obj.key_prefix:
                raise ApiError(
                    400,
                    "MALFORMED_ID",
                    f"{obj.label or obj.name} ID: id value of incorrect type: {raw}",
                    ["Id"],
                )
            rid = to18(raw)
            org.store.update(name, rid, field_values(record, allow_id=rid), user_id=user_id)
            return rid, False

        return run

    return Reply(200, run_ops(org, all_or_none, [op(r) for r in records]))


def upsert_many(org: Org, ver: str, sobject: str, ext_field: str, body: Any, user_id: str) -> Reply:
    all_or_none, records = _envelope(body)
    obj = object_def(org, sobject)
    field = obj.field(ext_field)
    if field is None or not (field.external_id or field.id_lookup or field.name == "Id"):
        raise ApiError(
            404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {ext_field}"
        )

    def op(record: Any) -> Op:
        def run() -> Outcome:
            if object_def_for_record(org, record) != obj.name:
                raise ApiError(400, "INVALID_TYPE", f"Every record of this upsert must be a {obj.name}", [])
            values = {k: v for k, v in record.items() if k != "attributes"}
            key = next((k for k in values if k.lower() == field.name.lower()), None)
            value = values.pop(key) if key is not None else None
            if isinstance(value, str) and not value.strip():
                value = None  # a blank key is no key: it must not create a record keyed ""
            if value is None:
                if field.name != "Id":
                    raise ApiError(400, "MISSING_ARGUMENT", f"{field.name} not specified", [field.name])
                return org.store.insert(obj.name, values, user_id=user_id), True
            if field.name == "Id" and isinstance(value, str) and is_well_formed(value):
                value = to18(value)
            if field.name != "Id":
                values[field.name] = value
            try:
                outcome = org.store.upsert(obj.name, field.name, str(value), values, user_id=user_id)
            except MultipleMatches as err:
                raise ApiError(
                    300,
                    "DUPLICATE_EXTERNAL_ID",
                    f"{field.name}: more than one record found for external id",
                    [],
                ) from err
            return outcome.id, outcome.created

        return run

    return Reply(200, run_ops(org, all_or_none, [op(r) for r in records], upsert=True))


def delete_many(org: Org, ver: str, ids_param: str | None, all_or_none_param: str | None) -> Reply:
    ids = [i.strip() for i in (ids_param or "").split(",") if i.strip()]
    if not ids:
        raise ApiError(400, "REQUIRED_FIELD_MISSING", "At least 1 Id is required.")
    too_many(len(ids))
    all_or_none = (all_or_none_param or "").lower() == "true"

    def op(raw: str) -> Op:
        def run() -> Outcome:
            if not is_well_formed(raw) or org.store.object_for_id(raw) is None:
                raise ApiError(400, "MALFORMED_ID", f"malformed id {raw}", [])
            org.store.delete(None, raw)
            return to18(raw), False

        return run

    return Reply(200, run_ops(org, all_or_none, [op(i) for i in ids]))


def retrieve_many(org: Org, ver: str, sobject: str, ids: Any, fields: Any) -> Reply:
    obj = object_def(org, sobject)
    if isinstance(ids, str):
        ids = [i.strip() for i in ids.split(",") if i.strip()]
    if isinstance(fields, str):
        fields = parse_fields(fields)
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ApiError(400, "REQUIRED_FIELD_MISSING", "At least 1 Id is required.")
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise ApiError(400, "REQUIRED_FIELD_MISSING", "At least 1 field is required.")
    if len(ids) > MAX_RETRIEVE_IDS:
        raise ApiError(
            400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot retrieve more than 2000 records"
        )
    for name in fields:
        if obj.field(name) is None:
            raise ApiError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{obj.name}'", [name])
    out: list[Any] = []
    for raw in ids:
        try:
            rid = record_id(obj, raw)
            out.append(org.store.get(obj.name, rid, fields, api_version=ver))
        except ApiError:
            out.append(None)
    return Reply(200, out)


# -- the URL table's operations ---------------------------------------------------------------------


def op_collection(call: Call) -> Reply:
    """``/composite/sobjects``: POST creates, PATCH updates, DELETE deletes (``?ids=&allOrNone=``)."""
    org, ver = call.org, call.ver
    if call.method == "DELETE":
        return delete_many(org, ver, call.arg("ids"), call.arg("allOrNone"))
    if call.method == "POST":
        return create_many(org, ver, call.body, call.user_id)
    return update_many(org, ver, call.body, call.user_id)


def op_retrieve(call: Call) -> Reply:
    """``/composite/sobjects/{sobject}``: GET ``?ids=&fields=``, or POST ``{"ids", "fields"}``."""
    name = call.param("sobject")
    if call.method == "POST":
        if not isinstance(call.body, dict):
            raise ApiError(
                400, "JSON_PARSER_ERROR", "The request body must be an object with 'ids' and 'fields'"
            )
        return retrieve_many(call.org, call.ver, name, call.body.get("ids"), call.body.get("fields"))
    return retrieve_many(call.org, call.ver, name, call.arg("ids"), call.arg("fields"))


def op_upsert(call: Call) -> Reply:
    """``PATCH /composite/sobjects/{sobject}/{field}``."""
    return upsert_many(
        call.org, call.ver, call.param("sobject"), call.param("field"), call.body, call.user_id
    )
