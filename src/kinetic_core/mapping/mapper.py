"""``FieldMapper``: turn source records into Salesforce records.

Rules per target field: a source path (``address.city``), a constant, a computed value, transforms,
a default, and a condition. A source key that is absent leaves the target absent ("leave unchanged");
a source value of ``None`` maps to ``None`` ("set to null") unless a default applies. Any failure is a
``MappingError`` naming the record index and the target field: records are never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kinetic_core.errors import ConfigError, MappingError
from kinetic_core.mapping.transforms import Transform, resolve
from kinetic_core.mapping.validate import Issue, validate_mapping
from kinetic_core.yamlsafe import load_yaml


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Marks "no default / no constant" (``None`` is a real value: null)."""

Condition = Callable[[Mapping[str, Any]], bool]


def get_path(record: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """``(found, value)`` of a dotted path; a literal key containing dots wins over nesting.

    Example:
        >>> get_path({"address": {"city": "Rome"}}, "address.city")
        (True, 'Rome')
    """
    if path in record:
        return True, record[path]
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def _set_target(out: dict[str, Any], target: str, value: Any, nest: bool) -> None:
    if not nest or "." not in target:
        out[target] = value
        return
    parts = target.split(".")
    node = out
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


@dataclass(frozen=True)
class FieldRule:
    """How one target field gets its value.

    Attributes:
        target: Salesforce field (``Account.External_Id__c`` sets a relationship by external id).
        source: dotted path in the source record (None for constants/computed values).
        transforms: applied in order to the source value.
        default: used when the source is absent or None (not transformed).
        constant: a fixed value.
        compute: ``fn(source_record) -> value``.
        when: ``fn(source_record) -> bool``; False leaves the target out.

    Example:
        >>> FieldRule("Name", "company.name", (str.strip,)).source
        'company.name'
    """

    target: str
    source: str | None = None
    transforms: tuple[Transform, ...] = ()
    default: Any = MISSING
    constant: Any = MISSING
    compute: Callable[[Mapping[str, Any]], Any] | None = None
    when: Condition | None = None

    def value(self, record: Mapping[str, Any]) -> tuple[bool, Any]:
        """``(present, value)`` for one source record."""
        if self.when is not None and not self.when(record):
            return False, None
        if self.constant is not MISSING:
            return True, self.constant
        if self.compute is not None:
            return True, self.compute(record)
        found, value = get_path(record, self.source or self.target)
        if not found or value is None:
            if self.default is not MISSING:
                return True, self.default
            if not found:
                return False, None
        for transform in self.transforms:
            value = transform(value)
        return True, value


def condition_from_spec(spec: Mapping[str, Any]) -> Condition:
    """A condition from YAML: ``{field: path}`` plus one of ``equals``, ``not_equals``, ``in``, ``present``.

    Example:
        >>> condition_from_spec({"field": "active", "equals": True})({"active": True})
        True
    """
    path = spec.get("field")
    if not isinstance(path, str):
        raise ConfigError("a 'when' condition needs 'field'")
    if "equals" in spec:
        expected = spec["equals"]
        return lambda r: get_path(r, path) == (True, expected)
    if "not_equals" in spec:
        unwanted = spec["not_equals"]
        return lambda r: get_path(r, path) != (True, unwanted)
    if "in" in spec:
        options = list(spec["in"])
        return lambda r: get_path(r, path)[0] and get_path(r, path)[1] in options
    if "present" in spec:
        wanted = bool(spec["present"])
        return lambda r: (get_path(r, path)[0] and get_path(r, path)[1] is not None) == wanted
    raise ConfigError("a 'when' condition needs one of equals, not_equals, in, present")


def _transforms(spec: Any) -> tuple[Transform, ...]:
    if spec is None:
        return ()
    items = spec if isinstance(spec, list | tuple) else [spec]
    try:
        return tuple(resolve(item) for item in items)
    except (ValueError, TypeError) as exc:
        raise ConfigError(str(exc)) from None


def _rule_from_spec(target: str, spec: Any, source: str | None = None) -> FieldRule:
    if isinstance(spec, str):
        return FieldRule(target, spec)
    if not isinstance(spec, Mapping):
        raise ConfigError(f"field {target!r}: expected a source name or a mapping, got {type(spec).__name__}")
    unknown = set(spec) - {"source", "target", "transform", "transforms", "default", "constant", "when"}
    if unknown:
        raise ConfigError(f"field {target!r}: unknown keys {sorted(unknown)}")
    when = spec.get("when")
    return FieldRule(
        target,
        source=spec.get("source", source),
        transforms=_transforms(spec.get("transforms", spec.get("transform"))),
        default=spec.get("default", MISSING),
        constant=spec.get("constant", MISSING),
        when=condition_from_spec(when) if isinstance(when, Mapping) else when,
    )


def _legacy_rule(source: str, spec: Any) -> FieldRule:
    """A source-keyed entry: ``"Target"``, ``(target, fn[, default])`` or ``{target: ...}``."""
    if isinstance(spec, str):
        return FieldRule(spec, source)
    if isinstance(spec, tuple) and 2 <= len(spec) <= 3:
        target, fn = spec[0], spec[1]
        default = spec[2] if len(spec) == 3 else MISSING
        return FieldRule(str(target), source, (resolve(fn),) if fn is not None else (), default)
    if isinstance(spec, Mapping) and isinstance(spec.get("target"), str):
        return _rule_from_spec(str(spec["target"]), spec, source)
    raise ConfigError(
        f"mapping for {source!r}: expected a target name, a (target, transform[, default]) tuple "
        "or a mapping with 'target'"
    )


class FieldMapper:
    """Map source records to Salesforce records.

    Args:
        mapping: source-keyed entries (``{"first_name": "FirstName", "email": ("Email", str.lower)}``).
        rules: target-keyed ``FieldRule``s.
        constants: ``{target: value}`` set on every record.
        computed: ``{target: fn(source_record)}`` (a None result leaves the target out).
        nest: write ``Account.Ext__c`` targets as nested ``{"Account": {"Ext__c": ...}}``.
        skip_none: leave out targets whose value is None instead of setting null.

    Example:
        >>> m = FieldMapper({"name": ("Name", "strip"), "address.city": "BillingCity"},
        ...                 constants={"Type": "Customer"})
        >>> m.map({"name": " Acme ", "address": {"city": "Rome"}})
        {'Name': 'Acme', 'BillingCity': 'Rome', 'Type': 'Customer'}
    """

    def __init__(
        self,
        mapping: Mapping[str, Any] | None = None,
        *,
        rules: Iterable[FieldRule] = (),
        constants: Mapping[str, Any] | None = None,
        computed: Mapping[str, Callable[[Mapping[str, Any]], Any]] | None = None,
        nest: bool = True,
        skip_none: bool = False,
    ) -> None:
        built = [_legacy_rule(src, spec) for src, spec in (mapping or {}).items()]
        built += list(rules)
        built += [FieldRule(t, constant=v) for t, v in (constants or {}).items()]
        self._computed = dict(computed or {})
        self.rules: tuple[FieldRule, ...] = tuple(built)
        self.nest = nest
        self.skip_none = skip_none

    @property
    def targets(self) -> list[str]:
        """Every target field the mapper can fill, in rule order."""
        return [r.target for r in self.rules] + list(self._computed)

    def map(self, record: Mapping[str, Any], index: int = 0) -> dict[str, Any]:
        """Map one record (``index`` names it in errors).

        Raises:
            MappingError: a transform, condition or computed value failed.
        """
        out: dict[str, Any] = {}
        for rule in self.rules:
            try:
                present, value = rule.value(record)
            except Exception as exc:  # any transform may fail: report which record and field
                raise MappingError(index, rule.target, f"{type(exc).__name__}: {exc}") from exc
            if present and not (value is None and self.skip_none):
                _set_target(out, rule.target, value, self.nest)
        for target, fn in self._computed.items():
            try:
                value = fn(record)
            except Exception as exc:
                raise MappingError(index, target, f"{type(exc).__name__}: {exc}") from exc
            if value is not None:
                _set_target(out, target, value, self.nest)
        return out

    def map_many(
        self, records: Iterable[Mapping[str, Any]], *, on_error: Callable[[MappingError], None] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Map records lazily. A failure raises, or goes to ``on_error`` and that record is left out."""
        for index, record in enumerate(records):
            try:
                yield self.map(record, index)
            except MappingError as err:
                if on_error is None:
                    raise
                on_error(err)

    def transform(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Alias of ``map`` (the predecessor's name)."""
        return self.map(record)

    def transform_batch(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Map a list; the first failure raises ``MappingError`` (nothing is dropped)."""
        return list(self.map_many(records))

    def validate(self, describe: Mapping[str, Any], operation: str = "insert") -> list[Issue]:
        """Check the targets against an object's describe; see ``kinetic_core.mapping.validate``."""
        return validate_mapping(self, describe, operation)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FieldMapper:
        """Build from a parsed document with ``mapping`` (source-keyed), ``fields`` (target-keyed),
        ``constants``, ``nest`` and ``skip_none`` keys."""
        unknown = set(doc) - {"mapping", "fields", "constants", "nest", "skip_none"}
        if unknown:
            raise ConfigError(f"unknown mapping keys {sorted(unknown)}")
        fields = doc.get("fields") or {}
        if not isinstance(fields, Mapping):
            raise ConfigError("'fields' must be a mapping of target field -> rule")
        rules = [_rule_from_spec(str(t), spec) for t, spec in fields.items()]
        return cls(
            doc.get("mapping") or {},
            rules=rules,
            constants=doc.get("constants") or {},
            nest=bool(doc.get("nest", True)),
            skip_none=bool(doc.get("skip_none", False)),
        )

    @classmethod
    def from_yaml(cls, path_or_text: str | Path) -> FieldMapper:
        """Build from a YAML file path or YAML text.

        Example:
            >>> m = FieldMapper.from_yaml("fields:\\n  Name: {source: name, transform: strip}\\n")
            >>> m.map({"name": " A "})
            {'Name': 'A'}
        """
        source = "<mapping text>"
        if isinstance(path_or_text, Path) or ("\n" not in path_or_text and Path(path_or_text).is_file()):
            source = str(path_or_text)
            try:
                text = Path(path_or_text).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read {path_or_text}: {exc.strerror}") from None
        else:
            text = str(path_or_text)
        try:
            doc = load_yaml(text, source)
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid mapping YAML: {exc}") from None
        if not isinstance(doc, Mapping):
            raise ConfigError("a mapping YAML must be a mapping with 'mapping' and/or 'fields'")
        return cls.from_dict(doc)
