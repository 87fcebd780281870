"""What a ``kinetic`` process loads: a command imports what it uses, not what every command uses.

Start-up is most of a small export's cost, so these tests guard it without timing anything: they
look at ``sys.modules`` after a real command line ran in a fresh interpreter.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kinetic_core import SalesforceClient
from kinetic_core.cli import startup
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


def run_python(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -c CODE ARGS`` in a fresh interpreter, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, check=False, env=env
    )


def probe(*args: str, env: dict[str, str] | None = None, whole: bool = False) -> tuple[int, set[str], str]:
    """Run ``kinetic ARGS`` in a fresh interpreter: its exit code, the modules it loaded, its stdout
    (``whole``: through the whole app instead of the console script's)."""
    code = PROBE.replace("main()", "app()").replace("import main", "import app") if whole else PROBE
    done = run_python(code, *args, env=env)
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


def jwt_org(home: Path, tmp_path: Path) -> dict[str, str]:
    """Five Contacts in the local emulator; the environment of a JWT login to it from elsewhere."""
    with SalesforceClient.connect("local", home=home) as client:
        client.create_batch("Contact", [{"LastName": f"Ng {n}"} for n in range(5)])
    info = json.loads((home / "local" / "emulator.json").read_text(encoding="utf-8"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    return env | {
        "KINETIC_HOME": str(tmp_path / "elsewhere"),
        "SF_LOGIN_URL": str(info["login_url"]),
        "SF_CLIENT_ID": str(info["client_id"]),
        "SF_USERNAME": str(info["username"]),
        "SF_PRIVATE_KEY_PATH": str(info["jwt_private_key"]),
    }


def test_a_jwt_export_loads_no_other_command_nor_pyjwt(home: Path, tmp_path: Path) -> None:
    """A whole export, JWT login included: no rich (stderr is no terminal), no PyJWT, no pydantic,
    no asyncio, no router, pipeline, mapping or emulator, no other command's module."""
    env = jwt_org(home, tmp_path)
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


GC_PROBE = """
import atexit, gc, json, sys
from kinetic_core.cli import startup
seen = {"at_start": list(gc.get_threshold())}
def at_exit() -> None:  # registered before main: runs after its settle_for_exit
    seen.update(at_exit=list(gc.get_threshold()), enabled=gc.isenabled())
    sys.stderr.write("\\nGC " + json.dumps(seen) + "\\n")
atexit.register(at_exit)
real_end = startup.end
def spy() -> None:
    seen.update(before_end=list(gc.get_threshold()), frozen_before_end=gc.get_freeze_count())
    real_end()
    seen.update(after_end=list(gc.get_threshold()), frozen_after_end=gc.get_freeze_count())
startup.end = spy
sys.argv = ["kinetic", *sys.argv[1:]]
from kinetic_core.cli import main
main()
"""


def gc_probe(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    """Run ``kinetic ARGS`` under :data:`GC_PROBE`: the collector's settings it saw."""
    done = run_python(GC_PROBE, *args, env=env)
    assert done.returncode == 0, done.stderr
    seen: dict[str, object] = json.loads(done.stderr.rsplit("\nGC ", 1)[1])
    return seen


def test_the_start_up_collects_young_objects_rarely_until_the_login(home: Path, tmp_path: Path) -> None:
    """``kinetic_core.cli.startup``: the console script raises the young generation's threshold
    before its imports; once the command has logged in, what is alive is frozen and the usual
    thresholds come back for the rest of the run."""
    env = jwt_org(home, tmp_path)
    out = tmp_path / "contacts.csv"
    seen = gc_probe("export", "SELECT Id FROM Contact", "--out", str(out), env=env)
    usual = seen["at_start"]
    assert isinstance(usual, list)
    assert usual[0] < startup.START_UP_THRESHOLD
    assert seen["before_end"] == [startup.START_UP_THRESHOLD, *usual[1:]]
    assert seen["frozen_before_end"] == 0
    assert isinstance(seen["frozen_after_end"], int)
    assert seen["frozen_after_end"] > 10_000
    assert seen["after_end"] == seen["at_exit"] == usual
    assert len(out.read_text(encoding="utf-8").splitlines()) == 6


def test_a_command_that_never_logs_in_keeps_the_collector_on() -> None:
    """No login, no end of the start-up: the collector still runs (bounded garbage), only rarer."""
    seen = gc_probe("--version")
    assert "before_end" not in seen
    assert seen["enabled"] is True
    usual = seen["at_start"]
    assert isinstance(usual, list)
    assert seen["at_exit"] == [startup.START_UP_THRESHOLD, *usual[1:]]


def test_in_process_the_start_up_helpers_change_nothing_unless_begun() -> None:
    """A program or test driving the command line in-process never calls ``begin``: ``end`` is a no-op."""
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    assert not startup.starting()
    startup.end()
    assert (gc.get_threshold(), gc.get_freeze_count()) == (thresholds, frozen)
