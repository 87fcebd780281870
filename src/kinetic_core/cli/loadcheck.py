"""Check a load against describe before anything is sent: ``kinetic load`` without ``--no-check``.

A misspelt object, column or external id otherwise costs a Bulk job that fails whole, or one identical
row failure per row. Checked here, from the object's describe (and the describe of each parent object a
relationship column names; the client caches every describe for the run):

* the object exists (else the closest object name of the org) and allows the operation
  (``createable`` for insert, ``updateable`` for update, both for upsert, ``deletable`` for deletes);
* every column: a field of the object (case-insensitive, as Bulk matches headers), createable or
  updateable as the operation needs, never twice; or a relationship column ``Relationship.Field`` or,
  for a polymorphic lookup, ``ObjectType:Relationship.Field``, one level only, whose parent field
  is the ``Id``, an external id or an ``idLookup`` field (the rule of Bulk API 2.0 headers);
* the columns the operation needs: ``Id`` for update and deletes, the external id for upsert;
* ``--external-id``: a field of the object that is an external id or ``idLookup``.

Every problem is collected, each with the closest valid name (:mod:`difflib`), so one run names them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kinetic_core.bulk.models import Operation
from kinetic_core.errors import ApiError, ConfigError

Describe = Callable[[str], Mapping[str, Any]]

_NOT_FOUND = frozenset({"NOT_FOUND", "INVALID_TYPE", "INVALID_SOBJECT"})


class LoadCheckError(ConfigError):
    """The file or the options do not fit the object; nothing was sent.

    Attributes:
        sobject: the object named on the command line.
        problems: one sentence per problem, each with the closest valid name when there is one.
    """

    def __init__(self, sobject: str, problems: Sequence[str]) -> None:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"load of {sobject} checked against describe: {count}; nothing was sent")
        self.sobject = sobject
        self.problems = list(problems)


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``name`` (case-insensitive), or None when none is near enough.

    Example:
        >>> closest("Contactt", ["Account", "Contact", "Case"]), closest("zzz", ["Account"])
        ('Contact', None)
    """
    by_lower = {c.lower(): c for c in candidates}
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None


def _hint(name: str, candidates: Iterable[str], *, listed: bool = False) -> str:
    """`` (did you mean X?)``; with ``listed``, the candidates themselves when none is near."""
    names = list(candidates)
    near = closest(name, names)
    if near:
        return f" (did you mean {near}?)"
    if listed and names:
        return f" (candidates: {', '.join(names)})"
    return ""


@dataclass(frozen=True)
class _Object:
    """One describe, indexed by lower-case field and relationship names."""

    name: str
    body: Mapping[str, Any]
    fields: Mapping[str, Mapping[str, Any]]
    relationships: Mapping[str, Mapping[str, Any]]

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> _Object:
        fields = [f for f in body.get("fields") or [] if isinstance(f, Mapping)]
        return cls(
            name=str(body.get("name") or ""),
            body=body,
            fields={str(f.get("name", "")).lower(): f for f in fields},
            relationships={
                str(f["relationshipName"]).lower(): f for f in fields if f.get("relationshipName")
            },
        )

    def field_names(self) -> list[str]:
        return [str(f.get("name")) for f in self.fields.values()]

    def key_names(self) -> list[str]:
        """Fields that can identify a record: the Id, external ids and idLookup fields."""
        return [str(f.get("name")) for f in self.fields.values() if is_key(f)]


def is_key(field: Mapping[str, Any]) -> bool:
    """True for a field that identifies a record (``Id``, ``externalId`` or ``idLookup``)."""
    return bool(field.get("externalId") or field.get("idLookup") or str(field.get("name")) == "Id")


def _needs(op: Operation) -> tuple[str, ...]:
    """The object-level describe flags the operation needs."""
    if op is Operation.INSERT:
        return ("createable",)
    if op is Operation.UPDATE:
        return ("updateable",)
    if op is Operation.UPSERT:
        return ("createable", "updateable")
    return ("deletable",)


def _field_allows(field: Mapping[str, Any], op: Operation) -> str | None:
    """Why ``field`` cannot be written by ``op`` (None: it can)."""
    name = str(field.get("name"))
    if op in (Operation.DELETE, Operation.HARD_DELETE):
        return None
    if name == "Id":
        return "the Id cannot be set on insert" if op is Operation.INSERT else None
    createable, updateable = bool(field.get("createable")), bool(field.get("updateable"))
    if op is Operation.INSERT and not createable:
        return f"{name} is not createable"
    if op is Operation.UPDATE and not updateable:
        return f"{name} is not updateable"
    if op is Operation.UPSERT and not (createable or updateable):
        return f"{name} is neither createable nor updateable"
    return None


class _Checker:
    def __init__(self, describe: Describe, list_objects: Callable[[], Sequence[Mapping[str, Any]]]) -> None:
        self._describe = describe
        self._list_objects = list_objects
        self._objects: dict[str, _Object | None] = {}
        self.problems: list[str] = []

    def find(self, name: str) -> _Object | None:
        key = name.lower()
        if key not in self._objects:
            try:
                self._objects[key] = _Object.of(self._describe(name))
            except ApiError as exc:
                if exc.status != 404 and exc.error_code not in _NOT_FOUND:
                    raise
                self._objects[key] = None
            except ValueError:  # not a valid object name at all
                self._objects[key] = None
        return self._objects[key]

    def object_names(self) -> list[str]:
        return [str(o.get("name")) for o in self._list_objects() if o.get("name")]

    def column(self, obj: _Object, column: str, op: Operation) -> None:
        if "." not in column:
            field = obj.fields.get(column.lower())
            if field is None:
                self.problems.append(
                    f"column {column}: {obj.name} has no field {column}{_hint(column, obj.field_names())}"
                )
                return
            why = _field_allows(field, op)
            if why:
                self.problems.append(f"column {column}: {why} ({op.value})")
            return
        self.relationship(obj, column, op)

    def relationship(self, obj: _Object, column: str, op: Operation) -> None:
        head, _, parent_field = column.partition(".")
        type_name, colon, rel_name = head.rpartition(":")
        if not colon:
            type_name = ""
        rel = obj.relationships.get(rel_name.lower())
        if rel is None:
            names = [str(f["relationshipName"]) for f in obj.relationships.values()]
            self.problems.append(
                f"column {column}: {obj.name} has no relationship {rel_name}{_hint(rel_name, names)}"
            )
            return
        if "." in parent_field:
            self.problems.append(
                f"column {column}: a relationship column goes one level up only (Relationship.Field)"
            )
            return
        why = _field_allows(rel, op)
        if why:
            self.problems.append(f"column {column}: {why} ({op.value})")
        targets = [str(t) for t in rel.get("referenceTo") or []]
        if type_name:
            match = next((t for t in targets if t.lower() == type_name.lower()), None)
            if match is None:
                self.problems.append(
                    f"column {column}: {rel_name} does not point to {type_name}"
                    f" (it points to {', '.join(targets) or 'nothing'}){_hint(type_name, targets)}"
                )
                return
            targets = [match]
        keys: list[str] = []
        for target in targets:
            parent = self.find(target)
            if parent is None:
                continue
            field = parent.fields.get(parent_field.lower())
            if field is not None and is_key(field):
                return
            keys += parent.key_names()
            if field is not None:
                self.problems.append(
                    f"column {column}: {parent.name}.{field.get('name')} is not an external id or idLookup"
                    f" field, so it cannot identify the parent{_hint(parent_field, keys, listed=True)}"
                )
                return
        where = " or ".join(targets) or rel_name
        self.problems.append(
            f"column {column}: {where} has no field {parent_field} that identifies a record"
            f"{_hint(parent_field, keys, listed=True)}"
        )


def check_load(
    describe: Describe,
    list_objects: Callable[[], Sequence[Mapping[str, Any]]],
    sobject: str,
    columns: Sequence[str],
    operation: Operation,
    external_id: str | None = None,
) -> str:
    """Check a load's object, columns, operation and external id; returns the object's API name.

    Args:
        describe: the client's (cached) ``describe``.
        list_objects: the client's describe-global entries (read only for an unknown object).
        sobject: the object named by the user.
        columns: the file's header (after any mapping), as the job would send it.
        operation: the load's operation.
        external_id: the upsert key.

    Raises:
        LoadCheckError: every problem found, each with the closest valid name.

    Example:
        >>> account = {"name": "Account", "createable": True, "fields": [
        ...     {"name": "Name", "createable": True, "updateable": True}]}
        >>> check_load(lambda n: account, list, "Account", ["Name"], Operation.INSERT)
        'Account'
        >>> try:
        ...     check_load(lambda n: account, list, "Account", ["Nmae"], Operation.INSERT)
        ... except LoadCheckError as exc:
        ...     exc.problems
        ['column Nmae: Account has no field Nmae (did you mean Name?)']
    """
    checker = _Checker(describe, list_objects)
    obj = checker.find(sobject)
    if obj is None:
        raise LoadCheckError(
            sobject, [f"object {sobject}: not found in the org{_hint(sobject, checker.object_names())}"]
        )
    for flag in _needs(operation):
        if not obj.body.get(flag, True):
            checker.problems.append(f"operation {operation.value}: {obj.name} is not {flag}")
    seen: dict[str, str] = {}
    for column in columns:
        key = column.lower()
        if key in seen:
            checker.problems.append(f"column {column}: appears twice in the header (also as {seen[key]})")
            continue
        seen[key] = column
        if not column:
            checker.problems.append("a column has no name")
            continue
        checker.column(obj, column, operation)
    if operation in (Operation.UPDATE, Operation.DELETE, Operation.HARD_DELETE) and "id" not in seen:
        checker.problems.append(f"column Id: {operation.value} needs an Id column (the records to change)")
    if operation is Operation.UPSERT and external_id:
        field = obj.fields.get(external_id.lower())
        if field is None:
            checker.problems.append(
                f"--external-id {external_id}: {obj.name} has no field {external_id}"
                f"{_hint(external_id, obj.key_names(), listed=True)}"
            )
        elif not is_key(field):
            checker.problems.append(
                f"--external-id {external_id}: {obj.name}.{field.get('name')} is not an external id or"
                f" idLookup field{_hint(external_id, obj.key_names(), listed=True)}"
            )
        elif external_id.lower() != "id" and external_id.lower() not in seen:
            checker.problems.append(
                f"--external-id {external_id}: the file has no {external_id} column (upsert matches on it)"
            )
    if checker.problems:
        raise LoadCheckError(sobject, checker.problems)
    return obj.name
