"""sObject rows: create, read, update, delete, by id or external id, and upsert (REST basics).

Plain functions over the org's store, shared by the direct routes and composite sub-requests; the
``op_*`` functions are the URL table's operations (a :class:`Call` in, a :class:`Reply` out).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kinetic_core.emulator.errors import ApiError, not_found
from kinetic_core.emulator.org import Org
from kinetic_core.emulator.service import related
from kinetic_core.emulator.service.calls import Call, Reply
from kinetic_core.emulator.store.ids import is_well_formed, to18
from kinetic_core.emulator.store.messages import MultipleMatches
from kinetic_core.emulator.store.schema import ObjectDef

# -- lookups -----------------------------------------------------------------------------------------


def object_def(org: Org, name: str) -> ObjectDef:
    """The sObject named in a URL (case-insensitive); 404 NOT_FOUND if unknown."""
    obj = org.store.schema.get(name)
    if obj is None:
        raise not_found()
    return obj


def record_id(obj: ObjectDef, raw: str) -> str:
    """Validate an id from a URL against its object; the 18-char form."""
    if not is_well_formed(raw):
        raise not_found(f"Provided external ID field does not exist or is not accessible: {raw}")
    rid = to18(raw)
    if rid[:3] != obj.key_prefix:
        raise ApiError(
            400, "MALFORMED_ID", f"{obj.label or obj.name} ID: id value of incorrect type: {raw}", ["Id"]
        )
    return rid


def record_url(ver: str, sobject: str, rid: str) -> str:
    return f"/services/data/v{ver}/sobjects/{sobject}/{rid}"


def field_values(body: Any, *, allow_id: str | None = None) -> dict[str, Any]:
    """The field map of a record body (``attributes`` dropped; ``Id`` refused unless it equals allow_id)."""
    if not isinstance(body, dict):
        raise ApiError(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject from a non-object value"
        )
    values = {k: v for k, v in body.items() if k != "attributes"}
    for key in [k for k in values if k.lower() == "id"]:
        value = values.pop(key)
        if (
            allow_id is None
            or not isinstance(value, str)
            or not is_well_formed(value)
            or to18(value) != allow_id
        ):
            raise ApiError(
                400, "INVALID_FIELD", "The Id field should not be specified in the sobject data.", ["Id"]
            )
    return values


def parse_fields(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    names = [f.strip() for f in raw.split(",") if f.strip()]
    return names or None


def _multiple(ver: str, obj: ObjectDef, err: MultipleMatches) -> Reply:
    urls = [u if u.startswith("/") else record_url(ver, obj.name, u) for u in err.urls_or_ids]
    return Reply(300, urls)


# -- operations ----------------------------------------------------------------


def create(org: Org, ver: str, sobject: str, body: Any, user_id: str) -> Reply:
    obj = object_def(org, sobject)
    values = field_values(body)
    new_id = org.store.insert(obj.name, values, user_id=user_id)
    return Reply(
        201, {"id": new_id, "success": True, "errors": []}, {"Location": record_url(ver, obj.name, new_id)}
    )


def retrieve(org: Org, ver: str, sobject: str, raw_id: str, fields: Sequence[str] | None) -> Reply:
    obj = object_def(org, sobject)
    rid = record_id(obj, raw_id)
    return Reply(200, org.store.get(obj.name, rid, fields, api_version=ver))


def update(org: Org, ver: str, sobject: str, raw_id: str, body: Any, user_id: str) -> Reply:
    obj = object_def(org, sobject)
    rid = record_id(obj, raw_id)
    org.store.update(obj.name, rid, field_values(body, allow_id=rid), user_id=user_id)
    return Reply(204)


def delete(org: Org, ver: str, sobject: str, raw_id: str) -> Reply:
    obj = object_def(org, sobject)
    rid = record_id(obj, raw_id)
    org.store.delete(obj.name, rid)
    return Reply(204)


def _ext_field(obj: ObjectDef, field: str) -> str:
    f = obj.field(field)
    if f is None or not (f.external_id or f.id_lookup or f.name == "Id"):
        raise not_found(f"Provided external ID field does not exist or is not accessible: {field}")
    return f.name


def _single_match(org: Org, ver: str, obj: ObjectDef, field: str, value: str) -> str | Reply:
    ids = org.store.find_ids(obj.name, _ext_field(obj, field), value)
    if not ids:
        raise not_found()
    if len(ids) > 1:
        return Reply(300, [record_url(ver, obj.name, i) for i in ids])
    return ids[0]


def get_by_external_id(
    org: Org, ver: str, sobject: str, field: str, value: str, fields: Sequence[str] | None
) -> Reply:
    obj = object_def(org, sobject)
    rel = related.find(org, ver, obj, field, value)
    if rel is not None:
        return related.get(org, ver, rel, fields)
    match = _single_match(org, ver, obj, field, value)
    if isinstance(match, Reply):
        return match
    return Reply(200, org.store.get(obj.name, match, fields, api_version=ver))


def delete_by_external_id(org: Org, ver: str, sobject: str, field: str, value: str) -> Reply:
    obj = object_def(org, sobject)
    rel = related.find(org, ver, obj, field, value)
    if rel is not None:
        return related.delete(org, rel)
    match = _single_match(org, ver, obj, field, value)
    if isinstance(match, Reply):
        return match
    org.store.delete(obj.name, match)
    return Reply(204)


def upsert(
    org: Org,
    ver: str,
    sobject: str,
    field: str,
    value: str,
    body: Any,
    user_id: str,
    *,
    update_only: bool = False,
) -> Reply:
    obj = object_def(org, sobject)
    rel = related.find(org, ver, obj, field, value)
    if rel is not None:
        return related.update(org, ver, rel, field_values(body), user_id)
    ext = _ext_field(obj, field)
    values = field_values(body)
    if ext == "Id" and value and is_well_formed(value):
        value = to18(value)
    if update_only and not org.store.find_ids(obj.name, ext, value):
        raise not_found()
    try:
        outcome = org.store.upsert(obj.name, ext, value, values, user_id=user_id)
    except MultipleMatches as err:
        return _multiple(ver, obj, err)
    if not outcome.created and float(ver) < 46.0:
        return Reply(204)
    status = 201 if outcome.created else 200
    headers = {"Location": record_url(ver, obj.name, outcome.id)} if outcome.created else {}
    return Reply(
        status, {"id": outcome.id, "success": True, "errors": [], "created": outcome.created}, headers
    )


# -- the URL table's operations ---------------------------------------------------------------------


def op_create(call: Call) -> Reply:
    """``POST /sobjects/{sobject}`` (and ``POST /sobjects/{sobject}/Id``)."""
    return create(call.org, call.ver, call.param("sobject"), call.body, call.user_id)


def op_row(call: Call) -> Reply:
    """``/sobjects/{sobject}/{rid}``: GET, PATCH, DELETE; POST with ``rid`` ``Id`` creates."""
    org, ver, name, rid = call.org, call.ver, call.param("sobject"), call.param("rid")
    if call.method in ("GET", "HEAD"):
        return retrieve(org, ver, name, rid, parse_fields(call.arg("fields")))
    if call.method == "PATCH":
        return update(org, ver, name, rid, call.body, call.user_id)
    if call.method == "DELETE":
        return delete(org, ver, name, rid)
    if rid.lower() == "id":
        return create(org, ver, name, call.body, call.user_id)
    raise ApiError(
        405, "METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed. Allowed are HEAD,GET,PATCH,DELETE"
    )


def op_external(call: Call) -> Reply:
    """``/sobjects/{sobject}/{field}/{value}``: by external id, or a relationship of a record."""
    org, ver = call.org, call.ver
    name, field, value = call.param("sobject"), call.param("field"), call.param("value")
    if call.method in ("GET", "HEAD"):
        return get_by_external_id(org, ver, name, field, value, parse_fields(call.arg("fields")))
    if call.method == "DELETE":
        return delete_by_external_id(org, ver, name, field, value)
    update_only = (call.arg("updateOnly") or "").lower() == "true"
    return upsert(org, ver, name, field, value, call.body, call.user_id, update_only=update_only)
