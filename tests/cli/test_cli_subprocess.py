"""The installed ``kinetic`` script as a real subprocess: JSON on stdout only, org on stderr, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kinetic_core import SalesforceClient

KINETIC = Path(sys.executable).parent / "kinetic"


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KINETIC_HOME": str(home)}
    return subprocess.run(
        [str(KINETIC), *args],
        cwd=home.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_json_query_prints_only_json_and_names_the_org(home: Path) -> None:
    with SalesforceClient.connect("local", home=home) as client:
        client.create("Account", {"Name": "Initech"})
    result = _run(home, "query", "SELECT Name FROM Account", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"Name": "Initech"}]
    assert result.stderr.startswith("org: local (local emulator at http://127.0.0.1:")


def test_exit_codes_of_the_script(home: Path) -> None:
    source = home.parent / "c.csv"
    source.write_text("LastName,Email\nNg,ng@example.com\n,nobody@example.com\n", encoding="utf-8")
    result = _run(home, "load", "Contact", str(source), "--results-dir", "res", "--json")
    assert result.returncode == 1  # one row failed
    summary = json.loads(result.stdout)
    assert (summary["successful"], summary["failed"], summary["strategy"]) == (1, 1, "rest")
    usage = _run(home, "load", "Contact", "--operation", "merge", str(source))
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr
    api = _run(home, "describe", "NoSuchObject__c", "--json")
    assert api.returncode == 4
    assert json.loads(api.stdout)["error"]["exit_code"] == 4
    assert api.stderr.count("error:") == 1
    assert "Traceback" not in api.stderr
