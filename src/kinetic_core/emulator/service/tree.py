"""sObject Tree (``POST /composite/tree/{SObject}``): nested records created all-or-nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kinetic_core.emulator.errors import ApiError
from kinetic_core.emulator.org import Org
from kinetic_core.emulator.service.calls import Call, Reply
from kinetic_core.emulator.service.records import field_values, object_def
from kinetic_core.emulator.service.transactions import run_atomic

MAX_TREE_RECORDS = 200
MAX_DEPTH = 5
MAX_TYPES = 5
_REF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")


@dataclass
class _Node:
    ref: str
    sobject: str
    values: dict[str, Any]
    parent_field: str | None = None
    children: list[_Node] = field(default_factory=list)


class _TreeFailed(Exception):
    def __init__(self, ref: str, err: ApiError) -> None:
        super().__init__(err.message)
        self.ref = ref
        self.err = err


def _parse(org: Org, records: Any, sobject: str, depth: int, refs: set[str], types: set[str]) -> list[_Node]:
    if not isinstance(records, list):
        raise ApiError(400, "JSON_PARSER_ERROR", "'records' must be an array")
    if depth > MAX_DEPTH:
        raise ApiError(400, "INVALID_INPUT", f"A tree may be at most {MAX_DEPTH} levels deep")
    obj = object_def(org, sobject)
    types.add(obj.name)
    nodes: list[_Node] = []
    for record in records:
        if not isinstance(record, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
        attrs = record.get("attributes")
        if not isinstance(attrs, dict) or not isinstance(attrs.get("referenceId"), str):
            raise ApiError(400, "INVALID_INPUT", "Every record needs attributes.referenceId")
        ref = attrs["referenceId"]
        if not _REF_ID.match(ref) or ref in refs:
            raise ApiError(400, "INVALID_INPUT", f"Invalid or duplicate referenceId: {ref}")
        refs.add(ref)
        declared = attrs.get("type")
        if isinstance(declared, str) and declared.lower() != obj.name.lower():
            raise ApiError(400, "INVALID_INPUT", f"Record {ref} has type {declared}, expected {obj.name}")
        node = _Node(ref, obj.name, {})
        for key, value in record.items():
            if key == "attributes":
                continue
            rel = org.store.schema.child_relationship(obj.name, key) if isinstance(value, dict) else None
            if rel is not None and isinstance(value, dict) and "records" in value:
                for child in _parse(org, value["records"], rel.child_object, depth + 1, refs, types):
                    child.parent_field = rel.field
                    node.children.append(child)
            else:
                node.values[key] = value
        nodes.append(node)
    return nodes


def _insert(org: Org, node: _Node, parent_id: str | None, user_id: str, out: list[dict[str, Any]]) -> None:
    values = field_values(node.values)
    if node.parent_field and parent_id:
        values[node.parent_field] = parent_id
    try:
        new_id = org.store.insert(node.sobject, values, user_id=user_id)
    except ApiError as err:
        raise _TreeFailed(node.ref, err) from None
    out.append({"referenceId": node.ref, "id": new_id})
    for child in node.children:
        _insert(org, child, new_id, user_id, out)


def create_tree(org: Org, sobject: str, body: Any, user_id: str) -> tuple[int, Any]:
    """Create the trees of ``body``; (201, results) or (400, errors) with nothing written.

    Example:
        >>> create_tree(org, "Account", {"records": [...]}, user_id)  # doctest: +SKIP
        (201, {'hasErrors': False, 'results': [{'referenceId': 'ref1', 'id': '001...'}]})
    """
    if not isinstance(body, dict) or "records" not in body:
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be an object with a 'records' array")
    refs: set[str] = set()
    types: set[str] = set()
    roots = _parse(org, body["records"], sobject, 1, refs, types)
    if len(refs) > MAX_TREE_RECORDS:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    if len(types) > MAX_TYPES:
        raise ApiError(400, "INVALID_INPUT", f"A tree may contain at most {MAX_TYPES} object types")
    results: list[dict[str, Any]] = []
    failures: list[_TreeFailed] = []

    def insert_all() -> bool:
        try:
            for root in roots:
                _insert(org, root, None, user_id, results)
        except _TreeFailed as failure:
            failures.append(failure)
        return bool(failures)

    if run_atomic(org.store, insert_all):
        failure = failures[0]
        return 400, {
            "hasErrors": True,
            "results": [{"referenceId": failure.ref, "errors": [failure.err.save_error()]}],
        }
    return 201, {"hasErrors": False, "results": results}


def op_tree(call: Call) -> Reply:
    """``POST /composite/tree/{sobject}``."""
    status, body = create_tree(call.org, call.param("sobject"), call.body, call.user_id)
    return Reply(status, body)
