"""The public surface: ``__all__`` is exactly the names documented in docs/api.md, sorted, and every
one of them is handed out by real attribute access; nothing else is."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import kinetic_core

ROOT = Path(__file__).resolve().parents[2]
API_PAGE = ROOT / "docs" / "api.md"
DESIGN_SURFACE = ("SalesforceClient", "FieldMapper", "SyncPipeline", "KineticError")
"""The names DESIGN.md's public surface imports."""

CLIENT_METHODS = [
    "connect",
    "create",
    "get",
    "update",
    "upsert",
    "delete",
    "describe",
    "list_objects",
    "limits",
    "query",
    "query_all",
    "count",
    "query_one",
    "create_batch",
    "update_batch",
    "upsert_batch",
    "delete_batch",
    "bulk",
    "load",
    "smart_insert",
]
BULK_METHODS = [
    "insert",
    "update",
    "upsert",
    "delete",
    "hard_delete",
    "query",
    "query_all",
    "create_job",
    "upload_data",
    "close_job",
    "abort_job",
    "delete_job",
    "get_job",
    "list_jobs",
    "get_results",
    "wait",
]
"""The client and ``client.bulk`` methods of DESIGN.md's public surface."""


def documented_names() -> list[str]:
    """The names of the tables of docs/api.md (first column, in backquotes)."""
    return re.findall(r"^\| `(\w+)` \|", API_PAGE.read_text(encoding="utf-8"), flags=re.MULTILINE)


def run(code: str) -> str:
    command = [sys.executable, "-c", code]
    return subprocess.run(command, check=True, timeout=120, capture_output=True, text=True).stdout


def test_all_is_exactly_the_documented_names() -> None:
    documented = documented_names()
    assert len(documented) == len(set(documented)), "a name documented twice"
    assert set(kinetic_core.__all__) == set(documented), (
        f"in __all__, not documented: {sorted(set(kinetic_core.__all__) - set(documented))}; "
        f"documented, not in __all__: {sorted(set(documented) - set(kinetic_core.__all__))}"
    )
    assert set(DESIGN_SURFACE) <= set(documented)


def test_all_is_sorted_and_unique() -> None:
    names = list(kinetic_core.__all__)
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_every_documented_name_resolves_in_a_fresh_interpreter() -> None:
    # A fresh interpreter: nothing imported beforehand, so each name must come from the lazy table.
    code = (
        "import json, kinetic_core\n"
        "names = " + repr(documented_names()) + "\n"
        "found = {}\n"
        "for name in names:\n"
        "    try:\n"
        "        value = getattr(kinetic_core, name)\n"
        "    except AttributeError as exc:\n"
        "        found[name] = 'missing: ' + str(exc)\n"
        "    else:\n"
        "        found[name] = getattr(value, '__module__', type(value).__name__)\n"
        "print(json.dumps(found))\n"
    )
    found = json.loads(run(code))
    missing = {name: why for name, why in found.items() if str(why).startswith("missing")}
    assert not missing
    assert found["SalesforceClient"] == "kinetic_core.client"


def test_star_import_binds_every_name() -> None:
    code = (
        "from kinetic_core import *\n"
        "import kinetic_core\n"
        "print(all(n in globals() for n in kinetic_core.__all__))\n"
    )
    assert run(code).strip() == "True"


def test_only_public_names_are_handed_out() -> None:
    # No fall-back to submodules or internals: a fresh interpreter has not imported these yet.
    code = (
        "import kinetic_core\n"
        "for name in ('emulator', 'cli', 'rest', 'bulk', 'importlib', '_LAZY_MISSING', 'NoSuchThing'):\n"
        "    try:\n"
        "        getattr(kinetic_core, name)\n"
        "    except AttributeError:\n"
        "        print(name, 'refused')\n"
        "    else:\n"
        "        print(name, 'handed out')\n"
    )
    lines = run(code).split("\n")
    assert [line for line in lines if line.endswith("handed out")] == []
    with pytest.raises(AttributeError, match="NoSuchThing"):
        kinetic_core.NoSuchThing  # noqa: B018


def test_subpackages_still_import_as_usual() -> None:
    code = "import kinetic_core.bulk, kinetic_core.rest\nprint(kinetic_core.bulk.BulkClient.__name__)"
    assert run(code).strip() == "BulkClient"


def test_names_are_the_defining_objects() -> None:
    from kinetic_core.client import SalesforceClient
    from kinetic_core.composite.subrequests import SubRequest

    assert kinetic_core.SalesforceClient is SalesforceClient
    assert kinetic_core.SubRequest is SubRequest
    assert kinetic_core.RowOutcome.__name__ == "RowOutcome"


def test_design_surface_methods_exist() -> None:
    missing = [m for m in CLIENT_METHODS if not hasattr(kinetic_core.SalesforceClient, m)]
    missing += [f"bulk.{m}" for m in BULK_METHODS if not hasattr(kinetic_core.BulkClient, m)]
    assert missing == []


def test_version_comes_from_the_package_metadata() -> None:
    assert kinetic_core.__version__ == importlib.metadata.version("kinetic-core")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    declared = re.search(r'^version = "([^"]+)"', pyproject, flags=re.MULTILINE)
    assert declared is not None
    assert kinetic_core.__version__ == declared.group(1)


def test_package_is_marked_typed() -> None:
    assert (Path(kinetic_core.__file__).parent / "py.typed").is_file()


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
