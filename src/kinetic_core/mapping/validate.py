"""Check a ``FieldMapper`` against an object's describe before sending anything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kinetic_core.mapping.mapper import FieldMapper

OPERATIONS = ("insert", "update", "upsert", "delete")


class IssueCode(StrEnum):
    """What ``validate`` can find."""

    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    NOT_CREATEABLE = "NOT_CREATEABLE"
    NOT_UPDATEABLE = "NOT_UPDATEABLE"
    REQUIRED_NOT_MAPPED = "REQUIRED_NOT_MAPPED"
    SOURCE_NOT_FOUND = "SOURCE_NOT_FOUND"
    """A mapping reads a column the source does not have (found by ``--dry-run``)."""


@dataclass(frozen=True)
class Issue:
    """One finding: ``severity`` is ``"error"`` (the load would fail) or ``"warning"`` (it may).

    Example:
        >>> Issue("error", IssueCode.UNKNOWN_FIELD, "Nmae", "no field Nmae on Account").severity
        'error'
    """

    severity: str
    code: IssueCode
    field: str
    message: str


def _resolve_target(
    target: str, by_name: Mapping[str, Mapping[str, Any]], by_relationship: Mapping[str, Mapping[str, Any]]
) -> Mapping[str, Any] | None:
    if "." in target:
        return by_relationship.get(target.split(".", 1)[0].lower())
    return by_name.get(target.lower())


def validate_mapping(
    mapper: FieldMapper, describe: Mapping[str, Any], operation: str = "insert"
) -> list[Issue]:
    """Unknown targets, targets not createable/updateable for ``operation``, required fields left unfilled.

    Example:
        >>> from kinetic_core.mapping.mapper import FieldMapper
        >>> d = {"name": "Account", "fields": [{"name": "Name", "createable": True, "updateable": True,
        ...      "nillable": False, "defaultedOnCreate": False, "type": "string"}]}
        >>> [i.code.value for i in validate_mapping(FieldMapper({"n": "Nmae"}), d)]
        ['UNKNOWN_FIELD', 'REQUIRED_NOT_MAPPED']
    """
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}")
    obj = str(describe.get("name") or "the object")
    fields = [f for f in describe.get("fields") or [] if isinstance(f, Mapping)]
    by_name = {str(f.get("name", "")).lower(): f for f in fields}
    by_relationship = {str(f["relationshipName"]).lower(): f for f in fields if f.get("relationshipName")}
    issues: list[Issue] = []
    filled: set[str] = set()
    for target in mapper.targets:
        field = _resolve_target(target, by_name, by_relationship)
        if field is None:
            issues.append(Issue("error", IssueCode.UNKNOWN_FIELD, target, f"no field {target} on {obj}"))
            continue
        name = str(field.get("name"))
        filled.add(name.lower())
        if name.lower() == "id" or operation == "delete":
            continue
        if operation in ("insert", "upsert") and not field.get("createable", False):
            severity = "error" if operation == "insert" else "warning"
            issues.append(
                Issue(severity, IssueCode.NOT_CREATEABLE, target, f"{obj}.{name} is not createable")
            )
        if operation in ("update", "upsert") and not field.get("updateable", False):
            severity = "error" if operation == "update" else "warning"
            issues.append(
                Issue(severity, IssueCode.NOT_UPDATEABLE, target, f"{obj}.{name} is not updateable")
            )
    if operation in ("insert", "upsert"):
        for field in fields:
            name = str(field.get("name", ""))
            required = (
                field.get("createable", False)
                and not field.get("nillable", True)
                and not field.get("defaultedOnCreate", False)
                and field.get("type") != "boolean"
            )
            if required and name.lower() not in filled:
                severity = "error" if operation == "insert" else "warning"
                issues.append(
                    Issue(
                        severity,
                        IssueCode.REQUIRED_NOT_MAPPED,
                        name,
                        f"{obj}.{name} is required and nothing maps it",
                    )
                )
    return issues
