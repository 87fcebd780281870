"""Help text and command-line conventions, through the installed ``kinetic`` script where output matters."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from kinetic_core import SalesforceClient
from kinetic_core.cli import app
from kinetic_core.cli.helpstyle import walk

KINETIC = Path(sys.executable).parent / "kinetic"


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KINETIC_HOME": str(home), "COLUMNS": "100"}
    return subprocess.run(
        [str(KINETIC), *args],
        cwd=home.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    result = _run(tmp_path / "h", "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"kinetic {importlib.metadata.version('kinetic-core')}"


def test_global_options_before_the_command(home: Path) -> None:
    with SalesforceClient.connect("local", home=home) as client:
        client.create("Account", {"Name": "Initech"})
    before = _run(home, "--org", "local", "--json", "query", "SELECT Name FROM Account")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout) == [{"Name": "Initech"}]
    limits = _run(home, "--json", "limits")
    assert json.loads(limits.stdout)["DailyApiRequests"]["Max"] > 0
    # the org given before the command is the one used: an unknown profile is refused
    unknown = _run(home, "-o", "nosuch", "query", "SELECT Name FROM Account")
    assert unknown.returncode == 2
    assert "no org profile 'nosuch'" in unknown.stderr
    # after the command still wins
    after = _run(home, "--org", "nosuch", "query", "SELECT Name FROM Account", "--org", "local", "--json")
    assert json.loads(after.stdout) == [{"Name": "Initech"}]


def _leaves() -> list[tuple[tuple[str, ...], object]]:
    root = typer.main.get_command(app)
    return [(path, cmd) for path, cmd in walk(root) if path and not hasattr(cmd, "commands")]


def test_help_reads_well_for_every_command() -> None:
    runner = CliRunner()
    root = typer.main.get_command(app)
    for path, command in walk(root):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
        assert result.exit_code == 0, path
        text = result.stdout
        assert "`" not in text, (path, "backtick in help")
        for line in (command.help or "").splitlines():  # type: ignore[attr-defined]
            if line.strip().startswith("$ kinetic"):
                # each example keeps its own line
                assert any(out.strip() == line.strip() for out in text.splitlines()), (path, line)
        for name, sub in dict(getattr(command, "commands", {})).items():
            short = sub.get_short_help_str()
            assert short.endswith("."), (path, name, short)
            assert "..." not in short, (path, name, short)
            assert short.count("(") == short.count(")"), (path, name, short)
            listed = " ".join(text.split())
            assert f"{name} {short}" in listed, (path, name, short)


def test_exit_codes_listed_only_where_they_can_happen() -> None:
    runner = CliRunner()
    codes = {}
    for path, _ in _leaves():
        text = " ".join(runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"}).stdout.split())
        found = re.search(r"Exit codes: (.*?)\.(?: |$)", text)
        assert found, (path, "no exit codes")
        codes[" ".join(path)] = {int(c) for c in re.findall(r"(?:^|; )(\d) ", found.group(1))}
    assert codes["query"] == {0, 2, 3, 4}
    assert codes["describe"] == {0, 2, 3, 4}
    assert codes["load"] == {0, 1, 2, 3, 4}
    assert codes["jobs results"] == {0, 1, 2, 3, 4}
    assert codes["org list"] == {0, 2}
    assert codes["emulator status"] == {0, 1, 2}
    assert codes["emulator start"] == {0, 1, 2}
    assert codes["doctor"] == {0, 1, 2, 3, 4}


def test_examples_on_their_own_lines_in_the_real_script(tmp_path: Path) -> None:
    result = _run(tmp_path / "h", "demo", "--help")
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert "$ kinetic demo" in lines
    assert "$ kinetic demo --records 10000 --data-dir ./demo-org" in lines
    listing = _run(tmp_path / "h", "jobs", "--help").stdout
    assert "Wait for a job to finish, with a progress bar." in " ".join(listing.split())


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path, str]]:
    """``kinetic emulator start`` as a real process on a free port."""
    data_dir = tmp_path / "org"
    env = {**os.environ, "KINETIC_HOME": str(tmp_path / "h")}
    proc = subprocess.Popen(
        [str(KINETIC), "emulator", "start", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        deadline = time.monotonic() + 10
        while not (data_dir / "emulator.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield proc, data_dir, url
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.communicate(timeout=30)


def test_emulator_status_stop_and_a_second_start(
    emulator_process: tuple[subprocess.Popen[str], Path, str], tmp_path: Path
) -> None:
    proc, data_dir, url = emulator_process
    home = tmp_path / "h"
    status = _run(home, "emulator", "status", "--data-dir", str(data_dir))
    assert status.returncode == 0
    assert status.stdout.splitlines()[:3] == [
        f"running at {url}",
        f"pid: {proc.pid}",
        f"data dir: {data_dir}",
    ]
    assert status.stdout.splitlines()[3].startswith("uptime: ")
    as_json = json.loads(_run(home, "--json", "emulator", "status", "--data-dir", str(data_dir)).stdout)
    assert (as_json["running"], as_json["pid"], as_json["url"]) == (True, proc.pid, url)
    again = _run(home, "emulator", "start", "--port", "0", "--data-dir", str(data_dir))
    assert again.returncode == 2
    assert f"an emulator is already running on the data dir {data_dir} at {url}" in again.stderr
    assert f"kinetic emulator stop --data-dir {data_dir}" in again.stderr
    port = url.rsplit(":", 1)[1]
    same_port = _run(home, "emulator", "start", "--port", port, "--data-dir", str(tmp_path / "other"))
    assert same_port.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in same_port.stderr
    assert "Traceback" not in same_port.stderr + again.stderr
    stop = _run(home, "emulator", "stop", "--data-dir", str(data_dir))
    assert stop.returncode == 0, stop.stderr
    assert f"stopped the emulator at {url} (pid {proc.pid})" in stop.stderr
    assert proc.wait(timeout=5) == 0  # SIGTERM ends it cleanly
    assert not (data_dir / "emulator.json").exists()
    gone = _run(home, "emulator", "status", "--data-dir", str(data_dir))
    assert (gone.returncode, gone.stdout.strip()) == (1, f"not running (data dir {data_dir})")
    nothing = _run(home, "emulator", "stop", "--data-dir", str(data_dir))
    assert nothing.returncode == 0
    assert f"no emulator is running in {data_dir}" in nothing.stderr


def test_emulator_stop_never_signals_a_program_hosting_an_in_process_emulator(home: Path) -> None:
    # The home fixture runs the local org inside this test process: stopping it by signal would kill
    # the program that hosts it, so the command refuses and the emulator keeps answering.
    data_dir = home / "local"
    assert json.loads((data_dir / "emulator.json").read_text(encoding="utf-8"))["standalone"] is False
    stop = _run(home, "emulator", "stop", "--data-dir", str(data_dir))
    assert stop.returncode == 1
    assert f"runs inside another program (pid {os.getpid()})" in stop.stderr
    with SalesforceClient.connect("local", home=home) as client:
        assert client.count("Account") >= 0


def test_doctor_notes_plain_http_to_a_local_emulator(home: Path) -> None:
    local = json.loads((home / "local" / "emulator.json").read_text(encoding="utf-8"))
    env = {
        "SF_LOGIN_URL": local["login_url"],
        "SF_CLIENT_ID": "kinetic-local-client",
        "SF_CLIENT_SECRET": "kinetic-local-secret",
        "SF_USERNAME": "admin@kinetic.local",
        "SF_PASSWORD": "kinetic",
    }
    runner = CliRunner()
    result = runner.invoke(app, ["doctor", "--json"], env=env)
    assert result.exit_code == 0, result.stdout
    checks = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    transport = checks["connectivity and TLS"]
    assert (transport["ok"], transport["note"]) == (True, True)
    assert "local emulator" in transport["detail"]
    table = runner.invoke(app, ["doctor"], env={**env, "COLUMNS": "200"})
    assert "NOTE" in table.stdout
    assert "FAIL" not in table.stdout


def test_jobs_results_prints_a_table(home: Path, tmp_path: Path) -> None:
    source = tmp_path / "acc.csv"
    source.write_text("Name\n" + "".join(f"Co {n}\n" for n in range(1_200)) + "\n", encoding="utf-8")
    load = _run(home, "load", "Account", str(source), "--strategy", "bulk", "--results-dir", "r", "--json")
    job = json.loads(load.stdout)["job_ids"][0]
    result = _run(home, "jobs", "results", job, "--results-dir", "again")
    assert result.returncode == 0, result.stderr
    assert not re.search(r"[{}\[\]]|'", result.stdout)  # no Python reprs of dicts or lists
    assert re.search(r"successful\s+│?\s*1,200", result.stdout), result.stdout
    assert f"{job}-success-records.csv" in result.stdout
