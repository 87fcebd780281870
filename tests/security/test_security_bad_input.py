"""Hostile input files end in a clear error, fast and small: recursive anchors, "billion laughs",
duplicate keys (every YAML reader), CR-only CSVs; SOQL literals of NumPy scalars."""

from __future__ import annotations

import itertools
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import yaml

from kinetic_core import FieldMapper
from kinetic_core.bulk.csvfile import sniff
from kinetic_core.emulator.store.custom import SchemaError, load_schema_file
from kinetic_core.errors import ConfigError
from kinetic_core.pipeline.config import load_config
from kinetic_core.rest.soql import soql
from kinetic_core.yamlsafe import load_yaml


def _laughs(levels: int = 9) -> str:
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f"a: &a [{', '.join(['lol'] * 9)}]"]
    lines += [f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]" for prev, name in itertools.pairwise(names)]
    return "\n".join(lines) + "\n"


HOSTILE = {
    "recursive-sequence": "a: &a [1, *a]\n",
    "recursive-mapping": "a: &a {b: {c: *a}}\n",
    "billion-laughs": _laughs(),
    "many-small-aliases": "x: &x 1\n" + "".join(f"k{i}: *x\n" for i in range(500)),
    "deep-nesting": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "duplicate-key": "fields:\n  Name: a\nconstants: {}\nfields:\n  Name: b\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_loader_refuses_fast_and_small(name: str) -> None:
    started = time.perf_counter()
    with pytest.raises(yaml.YAMLError) as info:
        load_yaml(HOSTILE[name], "hostile.yaml")
    elapsed = time.perf_counter() - started
    assert "hostile.yaml" in str(info.value)
    assert elapsed < 3.0, f"{name}: {elapsed:.2f} s"
    tracemalloc.start()
    try:
        with pytest.raises(yaml.YAMLError):
            load_yaml(HOSTILE[name], "hostile.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024, f"{name}: {peak / 1e6:.1f} MB"


def test_a_duplicate_key_names_the_file_the_line_and_the_key() -> None:
    with pytest.raises(yaml.YAMLError) as info:
        load_yaml("object: Account\nbatch: {size: 10}\nobject: Contact\n", "p.yaml")
    text = " ".join(str(info.value).split())
    assert "duplicate key 'object'" in text
    assert 'in "p.yaml", line 3' in text
    assert "first at line 1" in text


def test_what_yaml_allows_still_loads() -> None:
    doc = load_yaml("base: &b {a: 1, b: 2}\none: {<<: *b, b: 3}\ntwo: *b\nthree: *b\n")
    assert doc["one"] == {"a": 1, "b": 3}
    assert doc["two"] == doc["three"] == {"a": 1, "b": 2}


def test_every_yaml_reader_uses_it(tmp_path: Path) -> None:
    laughs = _laughs() + "object: Account\nsource: {path: a.csv}\nmapping:\n  constants: {Description: *i}\n"
    (tmp_path / "p.yaml").write_text(laughs, encoding="utf-8")
    (tmp_path / "a.csv").write_text("Name\nA\n", encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"p\.yaml"):
        load_config(tmp_path / "p.yaml")
    with pytest.raises(ConfigError, match="alias"):
        FieldMapper.from_yaml(_laughs() + "constants: {Description: *i}\n")
    (tmp_path / "m.yaml").write_text("fields:\n  Name: a\n  Name: b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate key 'Name'"):
        FieldMapper.from_yaml(tmp_path / "m.yaml")
    (tmp_path / "s.yaml").write_text("objects: &o\n  Thing__c: *o\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="recursive"):
        load_schema_file(tmp_path / "s.yaml")
    assert time.perf_counter() - started < 5.0


def test_a_cr_only_csv_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(b"Name,Description\rAcme,one\rGlobex,two\r")
    with pytest.raises(ValueError, match="CR only") as info:
        sniff(path)
    assert str(path) in str(info.value)
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(b'Name,"Desc\rription"\r\nAcme,one\r\n')
    assert sniff(quoted).header == ("Name", "Desc\rription")


def test_soql_literals_of_numpy_scalars() -> None:
    text = soql(
        "A = {} AND B = {} AND C = {} AND D IN {}",
        np.float64(1.5),
        np.int64(7),
        np.bool_(False),
        [np.float32(0.25)],
    )
    assert text == "A = 1.5 AND B = 7 AND C = FALSE AND D IN (0.25)"
    with pytest.raises(ValueError, match="NaN"):
        soql("A = {}", np.float64("nan"))
