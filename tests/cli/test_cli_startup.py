"""What a ``kinetic`` process loads: a command imports what it uses, not what every command uses.

Start-up is most of a small export's cost, so these tests guard it without timing anything: they
look at ``sys.modules`` after a real command line ran in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kinetic_core import SalesforceClient
from kinetic_core.cli.root import VERSION_ONLY, command_named

PROBE = """
import json, sys
sys.argv = ["kinetic", *sys.argv[1:]]
from kinetic_core.cli import main
try:
    main()
except SystemExit as exit:
    code = exit.code
else:
    code = 0
names = sorted(m for m in sys.modules if not m.startswith("_"))
sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "modules": names}) + "\\n")
"""

HEAVY = {
    "rich",
    "pydantic",
    "httpx",
    "httpcore",
    "jwt",
    "cryptography",
    "yaml",
    "pandas",
    "polars",
    "pyarrow",
    "lark",
    "starlette",
    "uvicorn",
    "sqlite3",
    "kinetic_core.client",
    "kinetic_core.http",
    "kinetic_core.bulk.client",
    "kinetic_core.bulk.query",
    "kinetic_core.load",
    "kinetic_core.pipeline",
    "kinetic_core.mapping",
    "kinetic_core.emulator",
    "kinetic_core.demo",
    "kinetic_core.cli.load_cmd",
    "kinetic_core.cli.sync_cmd",
    "kinetic_core.cli.org_cmd",
    "kinetic_core.cli.jobs_cmd",
    "kinetic_core.cli.doctor",
    "kinetic_core.cli.progress",
}
"""Packages a help text or a version number needs none of."""


def probe(*args: str, env: dict[str, str] | None = None, whole: bool = False) -> tuple[int, set[str], str]:
    """Run ``kinetic ARGS`` in a fresh interpreter: its exit code, the modules it loaded, its stdout
    (``whole``: through the whole app instead of the console script's)."""
    code = PROBE.replace("main()", "app()").replace("import main", "import app") if whole else PROBE
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    report = json.loads(done.stderr.rsplit("\nMODULES ", 1)[1])
    return int(report["code"] or 0), set(report["modules"]), done.stdout


def loaded(modules: set[str], names: set[str]) -> list[str]:
    """The names of ``names`` that were imported (a package counts through any of its modules)."""
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


@pytest.mark.parametrize("args", [("--version",), ("export", "--help"), ("--org", "x", "export", "--help")])
def test_version_and_export_help_load_nothing_heavy(args: tuple[str, ...]) -> None:
    code, modules, out = probe(*args)
    assert code == 0
    assert loaded(modules, HEAVY) == []
    assert out.startswith("kinetic " if args == ("--version",) else "Usage: kinetic export")


def test_the_help_of_a_command_is_the_whole_apps() -> None:
    """The app built for one command prints what the whole app prints for it."""
    for command in ("export", "load", "jobs", "query"):
        assert probe(command, "--help")[::2] == probe(command, "--help", whole=True)[::2]
    assert "Usage: kinetic jobs" in probe("jobs", "--help")[2]


def test_command_named() -> None:
    assert command_named(["export", "SELECT Id FROM Account", "--out", "a.csv"]) == "export"
    assert command_named(["-o", "prod", "--json", "-vv", "jobs", "list"]) == "jobs"
    assert command_named(["--org=prod", "--target-org", "x", "load", "Account", "a.csv"]) == "load"
    assert command_named(["--version"]) == VERSION_ONLY
    for unsure in ([], ["--help"], ["--version", "export"], ["exprot"], ["--color", "export"], ["-x"]):
        assert command_named(unsure) is None


def test_a_jwt_export_loads_no_other_command_nor_pyjwt(home: Path, tmp_path: Path) -> None:
    """A whole export, JWT login included: no rich (stderr is no terminal), no PyJWT, no pydantic,
    no asyncio, no router, pipeline, mapping or emulator, no other command's module."""
    with SalesforceClient.connect("local", home=home) as client:
        client.create_batch("Contact", [{"LastName": f"Ng {n}"} for n in range(5)])
    info = json.loads((home / "local" / "emulator.json").read_text(encoding="utf-8"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    env |= {
        "KINETIC_HOME": str(tmp_path / "elsewhere"),
        "SF_LOGIN_URL": str(info["login_url"]),
        "SF_CLIENT_ID": str(info["client_id"]),
        "SF_USERNAME": str(info["username"]),
        "SF_PRIVATE_KEY_PATH": str(info["jwt_private_key"]),
    }
    out = tmp_path / "contacts.csv"
    code, modules, _ = probe("export", "SELECT Id, LastName FROM Contact", "--out", str(out), env=env)
    assert code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 6
    needed = {"httpx", "httpcore", "cryptography", "kinetic_core.client", "kinetic_core.http"}
    unwanted = HEAVY - needed - {"kinetic_core.bulk.client", "kinetic_core.bulk.query"}
    assert loaded(modules, unwanted | {"asyncio"}) == []  # pydantic: typer's adapters are not built
    # the DataFrame typing and the load options are a query's to import when it needs them
    assert loaded(modules, {"kinetic_core.bulk.frames", "kinetic_core.bulk.loadopts"}) == []
    assert "kinetic_core.bulk.query" in modules
    assert "cryptography" in modules


SETTLE = """
import atexit, gc, sys
from pathlib import Path
mark = Path(sys.argv[1])
atexit.register(lambda: mark.with_suffix(".frozen").write_text(str(gc.get_freeze_count() > 0)))
class Cycle:
    def __del__(self) -> None:
        mark.write_text("finalized")
garbage = Cycle()
garbage.me = garbage
del garbage
sys.argv = ["kinetic", "--version"]
from kinetic_core.cli import main
main()
"""


def test_a_kinetic_process_finalizes_its_garbage_then_freezes_the_rest_at_exit(tmp_path: Path) -> None:
    """``settle_for_exit``: the garbage's finalizers still run (collected while the modules are
    intact), then the survivors are frozen for the shutdown (later ``atexit`` hooks see it)."""
    mark = tmp_path / "mark.txt"
    done = subprocess.run(
        [sys.executable, "-c", SETTLE, str(mark)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("kinetic ")
    assert mark.read_text() == "finalized"
    assert mark.with_suffix(".frozen").read_text() == "True"
