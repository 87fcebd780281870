"""The pipeline configuration: a frozen model and its YAML loader.

A pipeline file looks like this (every key but ``object`` and ``source`` is optional)::

    name: contacts                 # default: the file's stem
    object: Contact
    operation: upsert              # insert | update | upsert | delete
    external_id: External_Id__c    # the upsert key
    strategy: auto                 # auto | rest | composite | bulk
    source:
      type: csv                    # csv | jsonl | sql (csv/jsonl inferred from the path)
      path: contacts.csv           # relative to the pipeline file
      encoding: auto               # auto | utf-8 | cp1252 | ...
      delimiter: auto              # auto | "," | ";" | "\\t" | "|" ...
      required_columns: [email]
      nulls: absent                # absent (leave unchanged) | null (clear the field)
    mapping:                       # a FieldMapper document: fields / mapping / constants
      fields:
        LastName: {source: last_name, transform: strip}
        Account.External_Id__c: account_ref
    batch:
      size: 10000                  # records per router call (a Bulk load window)
      max_records_per_job: 10000
      concurrency: 4               # Bulk jobs in flight
    failures:
      dir: failures                # failure CSV; the journal goes next to it
    journal: contacts.journal.sqlite
    dry_run:
      sample: 100

Relative paths are resolved against the pipeline file's directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kinetic_core.errors import ConfigError
from kinetic_core.yamlsafe import load_yaml

OPERATIONS = ("insert", "update", "upsert", "delete")
STRATEGIES = ("auto", "rest", "composite", "bulk")
SOURCE_TYPES = ("csv", "jsonl", "sql")
NULLS = ("absent", "null")
MAPPER_KEYS = frozenset({"mapping", "fields", "constants", "nest", "skip_none"})

DEFAULT_BATCH_SIZE = 10_000
DEFAULT_MAX_RECORDS_PER_JOB = 10_000
DEFAULT_CONCURRENCY = 4
DEFAULT_SAMPLE = 100


@dataclass(frozen=True)
class SourceConfig:
    """Where the records come from.

    Example:
        >>> SourceConfig(type="csv", path=Path("a.csv")).delimiter
        'auto'
    """

    type: str
    path: Path | None = None
    encoding: str = "auto"
    delimiter: str = "auto"
    required_columns: tuple[str, ...] = ()
    nulls: str = "absent"
    url: str | None = None
    query: str | None = None


@dataclass(frozen=True)
class PipelineConfig:
    """A whole pipeline, as read from YAML (or built in Python).

    Example:
        >>> cfg = PipelineConfig(name="p", object="Account", source=SourceConfig("csv", Path("a.csv")))
        >>> cfg.operation, cfg.strategy
        ('insert', 'auto')
    """

    name: str
    object: str
    source: SourceConfig | None = None
    operation: str = "insert"
    external_id: str | None = None
    strategy: str = "auto"
    mapping: Mapping[str, Any] | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    max_records_per_job: int = DEFAULT_MAX_RECORDS_PER_JOB
    concurrency: int = DEFAULT_CONCURRENCY
    failure_dir: Path = Path("failures")
    journal: Path | None = None
    sample: int = DEFAULT_SAMPLE
    base_dir: Path = field(default_factory=Path.cwd)

    @property
    def journal_path(self) -> Path:
        """The journal file: the configured one, else ``<name>.journal.sqlite`` next to the failure dir."""
        if self.journal is not None:
            return self.journal
        return self.failure_dir.parent / f"{self.name}.journal.sqlite"

    @property
    def failure_file(self) -> Path:
        """The failure CSV: ``<failure dir>/<name>-failures.csv``."""
        return self.failure_dir / f"{self.name}-failures.csv"


def _str(doc: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str | None:
    value = doc.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise ConfigError(f"{where}: {key} must be a string")
    return str(value)


def _int(doc: Mapping[str, Any], key: str, where: str, default: int, minimum: int = 1) -> int:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: {key} must be an integer >= {minimum}")
    return value


def _choice(value: str | None, options: tuple[str, ...], what: str, where: str) -> str:
    text = (value or "").strip().lower().replace("-", "_")
    if text == "hard_delete":
        raise ConfigError(f"{where}: hard delete is not a pipeline operation; use `kinetic load`")
    if text not in options:
        raise ConfigError(f"{where}: {what} must be one of {', '.join(options)} (got {value!r})")
    return text


def _section(doc: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = doc.get(key) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: {key} must be a mapping")
    return value


def _resolve(base: Path, value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def source_from_dict(doc: Mapping[str, Any], base: Path, where: str = "source") -> SourceConfig:
    """Build a ``SourceConfig`` from its YAML mapping (paths relative to ``base``).

    Example:
        >>> source_from_dict({"path": "x.jsonl"}, Path("/data")).type
        'jsonl'
    """
    known = {"type", "path", "encoding", "delimiter", "required_columns", "nulls", "url", "query"}
    unknown = set(doc) - known
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    path = _resolve(base, _str(doc, "path", where))
    kind = _str(doc, "type", where)
    if kind is None:
        if path is None:
            raise ConfigError(f"{where}: needs a path (csv, jsonl) or type: sql")
        kind = "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"
    kind = _choice(kind, SOURCE_TYPES, "type", where)
    required = doc.get("required_columns") or ()
    if isinstance(required, str) or not all(isinstance(c, str) for c in required):
        raise ConfigError(f"{where}: required_columns must be a list of column names")
    if kind in ("csv", "jsonl") and path is None:
        raise ConfigError(f"{where}: a {kind} source needs a path")
    url = _str(doc, "url", where)
    query = _str(doc, "query", where)
    if kind == "sql" and (not url or not query):
        raise ConfigError(f"{where}: a sql source needs url (SQLAlchemy URL) and query")
    delimiter = _str(doc, "delimiter", where, "auto") or "auto"
    return SourceConfig(
        type=kind,
        path=path,
        encoding=_str(doc, "encoding", where, "auto") or "auto",
        delimiter=delimiter.replace("\\t", "\t"),
        required_columns=tuple(required),
        # YAML reads a bare `nulls: null` as no value at all: take it as the "null" choice it spells
        nulls=(
            "null"
            if "nulls" in doc and doc["nulls"] is None
            else _choice(_str(doc, "nulls", where, "absent"), NULLS, "nulls", where)
        ),
        url=url,
        query=query,
    )


def mapper_document(mapping: Any, where: str = "mapping") -> Mapping[str, Any] | None:
    """Normalise the ``mapping`` section into a ``FieldMapper.from_dict`` document.

    A plain ``source: Target`` dictionary (the older, source-keyed form) is accepted as well.
    """
    if mapping is None:
        return None
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{where}: must be a mapping")
    if mapping and set(mapping) <= MAPPER_KEYS:
        return mapping
    return {"mapping": dict(mapping)}


def config_from_dict(doc: Mapping[str, Any], *, base_dir: Path, name: str = "pipeline") -> PipelineConfig:
    """Validate a parsed pipeline document.

    Raises:
        ConfigError: an unknown key, a missing value or a value of the wrong kind.

    Example:
        >>> cfg = config_from_dict({"object": "Account", "source": {"path": "a.csv"}}, base_dir=Path("/d"))
        >>> cfg.source.path
        PosixPath('/d/a.csv')
    """
    where = "pipeline"
    known = {
        "name",
        "object",
        "operation",
        "external_id",
        "strategy",
        "source",
        "mapping",
        "batch",
        "failures",
        "journal",
        "dry_run",
    }
    unknown = set(doc) - known
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    sobject = _str(doc, "object", where)
    if not sobject:
        raise ConfigError(f"{where}: 'object' (the sObject to load) is required")
    operation = _choice(_str(doc, "operation", where, "insert"), OPERATIONS, "operation", where)
    external_id = _str(doc, "external_id", where)
    if operation == "upsert" and not external_id:
        raise ConfigError(f"{where}: operation upsert needs external_id")
    strategy = _choice(_str(doc, "strategy", where, "auto"), STRATEGIES, "strategy", where)
    source_doc = doc.get("source")
    if source_doc is not None and not isinstance(source_doc, Mapping):
        raise ConfigError(f"{where}: source must be a mapping")
    batch = _section(doc, "batch", where)
    unknown = set(batch) - {"size", "max_records_per_job", "concurrency"}
    if unknown:
        raise ConfigError(f"batch: unknown keys {sorted(unknown)}")
    failures = _section(doc, "failures", where)
    if set(failures) - {"dir"}:
        raise ConfigError(f"failures: unknown keys {sorted(set(failures) - {'dir'})}")
    dry = _section(doc, "dry_run", where)
    if set(dry) - {"sample"}:
        raise ConfigError(f"dry_run: unknown keys {sorted(set(dry) - {'sample'})}")
    failure_dir = _resolve(base_dir, _str(failures, "dir", "failures", "failures")) or base_dir
    return PipelineConfig(
        name=_str(doc, "name", where, name) or name,
        object=sobject,
        source=source_from_dict(source_doc, base_dir) if source_doc is not None else None,
        operation=operation,
        external_id=external_id,
        strategy=strategy,
        mapping=mapper_document(doc.get("mapping")),
        batch_size=_int(batch, "size", "batch", DEFAULT_BATCH_SIZE),
        max_records_per_job=_int(batch, "max_records_per_job", "batch", DEFAULT_MAX_RECORDS_PER_JOB),
        concurrency=_int(batch, "concurrency", "batch", DEFAULT_CONCURRENCY),
        failure_dir=failure_dir,
        journal=_resolve(base_dir, _str(doc, "journal", where)),
        sample=_int(dry, "sample", "dry_run", DEFAULT_SAMPLE),
        base_dir=base_dir,
    )


def load_config(path: str | Path) -> PipelineConfig:
    """Read and validate a pipeline YAML file.

    Raises:
        ConfigError: unreadable file, invalid YAML, or an invalid pipeline.

    Example:
        >>> cfg = load_config("pipelines/contacts.yaml")  # doctest: +SKIP
    """
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        doc = load_yaml(text, str(file))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: invalid YAML: {exc}") from None
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{file}: a pipeline file must be a YAML mapping")
    try:
        return config_from_dict(doc, base_dir=file.resolve().parent, name=file.stem)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from None
