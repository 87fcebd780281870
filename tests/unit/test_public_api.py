"""The public surface: ``__all__`` explicit, sorted, complete and importable."""

from __future__ import annotations

import importlib
import inspect

import pytest

import kinetic_core

OPTIONAL_MODULES = {
    "BulkClient": "kinetic_core.bulk",
    "BulkResult": "kinetic_core.bulk",
    "LoadResult": "kinetic_core.load",
    "RunReport": "kinetic_core.pipeline",
    "Strategy": "kinetic_core.load",
    "SyncPipeline": "kinetic_core.pipeline",
    "Thresholds": "kinetic_core.load",
}


def test_all_is_sorted_and_unique() -> None:
    names = list(kinetic_core.__all__)
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_all_is_complete() -> None:
    public = {n for n, v in vars(kinetic_core).items() if not n.startswith("_") and not inspect.ismodule(v)}
    public -= {"annotations", "importlib", "Any"}
    assert public <= set(kinetic_core.__all__), public - set(kinetic_core.__all__)
    for name in (
        "SalesforceClient",
        "FieldMapper",
        "SyncPipeline",
        "KineticError",
        "soql",
        "flatten",
        "HttpSession",
        "RecordResult",
        "UpsertResult",
        "ApiUsage",
    ):
        assert name in kinetic_core.__all__


def test_every_name_resolves() -> None:
    for name in kinetic_core.__all__:
        module = OPTIONAL_MODULES.get(name)
        if module is not None and importlib.util.find_spec(module) is None:
            continue  # delivered by another package of the project; resolved lazily once present
        assert getattr(kinetic_core, name) is not None, name


def test_unknown_attribute_raises() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        kinetic_core.NoSuchThing  # noqa: B018


def test_entry_points_have_examples() -> None:
    for obj in (
        kinetic_core.SalesforceClient,
        kinetic_core.SalesforceClient.connect,
        kinetic_core.FieldMapper,
        kinetic_core.HttpSession,
        kinetic_core.soql,
        kinetic_core.flatten,
        kinetic_core.KineticError,
    ):
        assert "Example" in (obj.__doc__ or ""), obj
