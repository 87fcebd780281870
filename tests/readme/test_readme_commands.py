"""README's two fresh-machine commands, run for real in a brand-new virtual environment.

``./scripts/demo`` must install the project and finish the demo; ``./scripts/test`` must install
the test extras and pass its gates (ruff, mypy, pytest) on a small selection, so that the suite
does not run itself recursively.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")

pytestmark = pytest.mark.slow


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "KINETIC_", "VIRTUAL_ENV"))}
    env["HOME"] = str(tmp_path / "home")
    env["KINETIC_HOME"] = str(tmp_path / "home" / ".kinetic")
    env["KINETIC_VENV"] = str(tmp_path / "venv")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


def test_readme_names_both_commands() -> None:
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    commands = [line.strip() for block in blocks for line in block.splitlines() if line.strip()]
    assert "./scripts/demo" in commands
    assert "./scripts/test" in commands


@pytest.mark.skipif(shutil.which("python3") is None, reason="python3 is needed to build a venv")
def test_demo_command_in_a_fresh_venv(tmp_path: Path) -> None:
    env = _env(tmp_path)
    done = subprocess.run(
        [str(ROOT / "scripts" / "demo")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "venv" / "bin" / "kinetic").exists()
    assert "100,000" in done.stdout or "100000" in done.stdout


def test_test_command_in_a_fresh_venv(tmp_path: Path) -> None:
    env = _env(tmp_path)
    done = subprocess.run(
        [str(ROOT / "scripts" / "test"), "-q", "-p", "no:cacheprovider", "tests/unit/test_ids.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"\d+ passed", done.stdout), done.stdout[-2000:]
