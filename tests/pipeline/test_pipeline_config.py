"""Pipeline YAML loading and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinetic_core.errors import ConfigError
from kinetic_core.mapping import FieldMapper
from kinetic_core.pipeline import load_config

FULL = """
name: contacts
object: Contact
operation: upsert
external_id: External_Id__c
strategy: composite
source:
  path: data/contacts.csv
  delimiter: "\\t"
  required_columns: [email]
mapping:
  fields:
    LastName: {source: last, transform: strip}
    Email: {source: email, transform: email}
  constants:
    LeadSource: Web
batch: {size: 500, max_records_per_job: 100, concurrency: 2}
failures: {dir: out/failures}
dry_run: {sample: 5}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_file(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, FULL))
    assert (cfg.name, cfg.object, cfg.operation, cfg.external_id, cfg.strategy) == (
        "contacts",
        "Contact",
        "upsert",
        "External_Id__c",
        "composite",
    )
    assert cfg.source is not None
    assert cfg.source.type == "csv"
    assert cfg.source.path == tmp_path / "data" / "contacts.csv"
    assert cfg.source.delimiter == "\t"
    assert cfg.source.required_columns == ("email",)
    assert (cfg.batch_size, cfg.max_records_per_job, cfg.concurrency, cfg.sample) == (500, 100, 2, 5)
    assert cfg.failure_dir == tmp_path / "out" / "failures"
    assert cfg.journal_path == tmp_path / "out" / "contacts.journal.sqlite"
    assert cfg.mapping is not None
    mapper = FieldMapper.from_dict(cfg.mapping)
    assert mapper.map({"last": " Ng ", "email": " A@B.ORG "}) == {
        "LastName": "Ng",
        "Email": "a@b.org",
        "LeadSource": "Web",
    }


def test_defaults_and_source_keyed_mapping(tmp_path: Path) -> None:
    text = "object: Account\nsource: {path: rows.jsonl}\nmapping:\n  company: Name\n  ref: External_Id__c\n"
    cfg = load_config(_write(tmp_path, text))
    assert cfg.name == "pipe"
    assert cfg.operation == "insert"
    assert cfg.strategy == "auto"
    assert cfg.source is not None
    assert cfg.source.type == "jsonl"
    assert cfg.mapping is not None
    assert FieldMapper.from_dict(cfg.mapping).map({"company": "Acme", "ref": "A1"}) == {
        "Name": "Acme",
        "External_Id__c": "A1",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("object: Account\nsourse: {}\n", "unknown keys"),
        ("source: {path: a.csv}\n", "'object'"),
        ("object: Account\noperation: upsert\n", "needs external_id"),
        ("object: Account\nstrategy: fastest\n", "strategy must be one of"),
        ("object: Account\noperation: hard-delete\n", "not a pipeline operation"),
        ("object: Account\nbatch: {size: 0}\n", "size must be an integer"),
        ("object: Account\nsource: {type: sql, url: 'sqlite://'}\n", "needs url"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("object: [\n", "invalid YAML"),
    ],
)
def test_errors_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_bare_yaml_null_means_the_null_choice(tmp_path: Path) -> None:
    text = "object: Account\nsource: {path: rows.jsonl, nulls: null}\nmapping:\n  company: Name\n"
    cfg = load_config(_write(tmp_path, text))
    assert cfg.source is not None
    assert cfg.source.nulls == "null"
