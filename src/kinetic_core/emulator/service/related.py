"""sObject Relationships: ``/sobjects/{sobject}/{id}/{relationship}`` (REST API 36.0 and later).

A child-to-parent name (``/sobjects/Contact/{id}/Account``) reaches the parent record: GET returns
it as sObject Rows does (404 when the lookup is empty), PATCH updates it and DELETE deletes it. A
parent-to-child name (``/sobjects/Account/{id}/Contacts``) answers GET with the children in a query
result (``totalSize``, ``done``, ``records``, paged like a query); it cannot be updated or deleted
through. The URL shares its shape with external-id access (``/sobjects/{sobject}/{field}/{value}``):
the rest routes ask :func:`find` first and fall back to the external id when it finds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kinetic_core.emulator.errors import ApiError, not_found
from kinetic_core.emulator.org import Org
from kinetic_core.emulator.service.calls import Reply
from kinetic_core.emulator.service.queries import run_query
from kinetic_core.emulator.store import messages
from kinetic_core.emulator.store.ids import is_well_formed, to18
from kinetic_core.emulator.store.schema import ChildRelationship, FieldDef, ObjectDef

FIRST_VERSION = 36


@dataclass(frozen=True)
class Relation:
    """A resolved relationship of one record: a lookup field or a child relationship."""

    obj: ObjectDef
    record_id: str
    parent_field: FieldDef | None = None
    children: ChildRelationship | None = None


def find(org: Org, ver: str, obj: ObjectDef, raw_id: str, name: str) -> Relation | None:
    """The relationship ``name`` of record ``raw_id``, or None when the URL is not one.

    It is one when ``raw_id`` is not a field of ``obj`` but a well-formed id of it (API 36.0 and
    later); ``name`` must then be one of its relationship names.

    Raises:
        ApiError: 404 NOT_FOUND naming ``name`` when ``obj`` has no such relationship.
    """
    if obj.field(raw_id) is not None or not is_well_formed(raw_id):
        return None
    rid = to18(raw_id)
    if rid[:3] != obj.key_prefix or int(ver.split(".")[0]) < FIRST_VERSION:
        return None
    parent = obj.relationship(name)
    if parent is not None:
        return Relation(obj, rid, parent_field=parent)
    children = org.store.schema.child_relationship(obj.name, name)
    if children is not None:
        return Relation(obj, rid, children=children)
    raise not_found(f"The requested resource does not exist: {obj.name} has no relationship named {name}")


def _parent(org: Org, rel: Relation) -> tuple[ObjectDef, str]:
    """The parent record's object and id; 404 when the record or its lookup is empty."""
    assert rel.parent_field is not None
    field = rel.parent_field
    record = org.store.get(rel.obj.name, rel.record_id, [field.name])
    parent_id = record.get(field.name)
    if not parent_id:
        raise not_found()
    target = org.store.schema.by_prefix(str(parent_id)[:3])
    if target is None:  # pragma: no cover - a stored lookup always names a known object
        raise not_found()
    return target, str(parent_id)


def get(org: Org, ver: str, rel: Relation, fields: Sequence[str] | None) -> Reply:
    """GET: the parent record, or the children as a query result."""
    if rel.parent_field is not None:
        target, parent_id = _parent(org, rel)
        return Reply(200, org.store.get(target.name, parent_id, fields, api_version=ver))
    assert rel.children is not None
    org.store.get(rel.obj.name, rel.record_id, ["Id"])  # 404 for a missing or deleted record
    return Reply(200, _children(org, ver, rel.children, rel.record_id, fields))


def _children(
    org: Org, ver: str, children: ChildRelationship, parent_id: str, fields: Sequence[str] | None
) -> dict[str, Any]:
    child = org.store.schema.get(children.child_object)
    assert child is not None
    if fields:
        chosen = []
        for name in fields:
            f = child.field(name.strip())
            if f is None:
                raise messages.no_such_column_on_entity(name.strip(), child.name)
            chosen.append(f.name)
    else:
        chosen = [f.name for f in child.fields]
    columns = ", ".join(dict.fromkeys(chosen))
    soql = f"SELECT {columns} FROM {child.name} WHERE {children.field} = '{parent_id}'"
    body: dict[str, Any] = run_query(org, ver, soql, include_deleted=False)
    return body


def update(org: Org, ver: str, rel: Relation, values: dict[str, Any], user_id: str) -> Reply:
    """PATCH: update the parent record (child relationships cannot be traversed to update)."""
    target, parent_id = _parent(org, _only_parent(rel, "PATCH"))
    org.store.update(target.name, parent_id, values, user_id=user_id)
    return Reply(204)


def delete(org: Org, rel: Relation) -> Reply:
    """DELETE: delete the parent record."""
    target, parent_id = _parent(org, _only_parent(rel, "DELETE"))
    org.store.delete(target.name, parent_id)
    return Reply(204)


def _only_parent(rel: Relation, method: str) -> Relation:
    if rel.parent_field is None:
        raise ApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are HEAD,GET")
    return rel


__all__ = ["Relation", "delete", "find", "get", "update"]
