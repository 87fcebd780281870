"""The client against ``kinetic emulator start`` running as a separate process, found as the local org."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kinetic_core import SalesforceClient


def test_local_org_finds_a_running_emulator_process(tmp_path: Path) -> None:
    home = tmp_path / "home"
    data_dir = home / "local"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kinetic_core.cli",
            "emulator",
            "start",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        info_file = data_dir / "emulator.json"
        deadline = time.monotonic() + 30
        while not info_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the emulator process did not start")
            time.sleep(0.05)
        info = json.loads(info_file.read_text())
        assert info["pid"] == proc.pid
        with SalesforceClient.connect(environ={"KINETIC_HOME": str(home)}, cwd=tmp_path) as client:
            assert client.instance_url == info["instance_url"]
            rid = client.create("Account", {"Name": "from another process"})
            assert client.get("Account", rid, fields=["Name"])["Name"] == "from another process"
            assert client.count("Account") == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)
