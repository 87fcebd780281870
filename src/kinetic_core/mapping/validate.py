"""Check a ``FieldMapper`` against an object's describe before sending anything."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

OPERATIONS = ("insert", "update", "upsert", "delete")


class Mapped(Protocol):
    """What the check reads of a mapper: the target fields it can fill (``FieldMapper.targets``)."""

    @property
    def targets(self) -> Iterable[str]: ...


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


class _Describe:
    """The fields of one describe, looked up by name and by relationship name (case-insensitive)."""

    def __init__(self, describe: Mapping[str, Any]) -> None:
        self.object = str(describe.get("name") or "the object")
        self.fields = [f for f in describe.get("fields") or [] if isinstance(f, Mapping)]
        self._by_name = {str(f.get("name", "")).lower(): f for f in self.fields}
        self._by_relationship = {
            str(f["relationshipName"]).lower(): f for f in self.fields if f.get("relationshipName")
        }

    def field(self, target: str) -> Mapping[str, Any] | None:
        """The field a target fills: ``Name``, or the lookup of ``Account.External_Id__c``."""
        if "." in target:
            return self._by_relationship.get(target.split(".", 1)[0].lower())
        return self._by_name.get(target.lower())


def _write_issues(obj: str, target: str, field: Mapping[str, Any], operation: str) -> list[Issue]:
    """A target the operation cannot write: an error when it is the only way, a warning for upsert."""
    name = str(field.get("name"))
    if name.lower() == "id" or operation == "delete":
        return []
    issues: list[Issue] = []
    if operation in ("insert", "upsert") and not field.get("createable", False):
        severity = "error" if operation == "insert" else "warning"
        issues.append(Issue(severity, IssueCode.NOT_CREATEABLE, target, f"{obj}.{name} is not createable"))
    if operation in ("update", "upsert") and not field.get("updateable", False):
        severity = "error" if operation == "update" else "warning"
        issues.append(Issue(severity, IssueCode.NOT_UPDATEABLE, target, f"{obj}.{name} is not updateable"))
    return issues


def _is_required(field: Mapping[str, Any]) -> bool:
    """Required on create: createable, not nillable, no default, and not a checkbox (false by default)."""
    return bool(
        field.get("createable", False)
        and not field.get("nillable", True)
        and not field.get("defaultedOnCreate", False)
        and field.get("type") != "boolean"
    )


def _required_issues(
    obj: str, fields: Sequence[Mapping[str, Any]], filled: set[str], operation: str
) -> list[Issue]:
    """Required fields nothing maps (insert: an error; upsert: a warning, the record may exist)."""
    if operation not in ("insert", "upsert"):
        return []
    severity = "error" if operation == "insert" else "warning"
    return [
        Issue(severity, IssueCode.REQUIRED_NOT_MAPPED, name, f"{obj}.{name} is required and nothing maps it")
        for name in (str(f.get("name", "")) for f in fields if _is_required(f))
        if name.lower() not in filled
    ]


def validate_mapping(mapper: Mapped, describe: Mapping[str, Any], operation: str = "insert") -> list[Issue]:
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
    fields = _Describe(describe)
    issues: list[Issue] = []
    filled: set[str] = set()
    for target in mapper.targets:
        field = fields.field(target)
        if field is None:
            issues.append(
                Issue("error", IssueCode.UNKNOWN_FIELD, target, f"no field {target} on {fields.object}")
            )
            continue
        filled.add(str(field.get("name")).lower())
        issues += _write_issues(fields.object, target, field, operation)
    return issues + _required_issues(fields.object, fields.fields, filled, operation)
