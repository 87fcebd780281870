"""Fixtures: a running emulator as the ``local`` org of a temporary Kinetic home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kinetic_core.emulator.server import LocalOrg


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """KINETIC_HOME points at a temp dir whose local org is running; the cwd is ``tmp_path``."""
    base = tmp_path / "home"
    monkeypatch.setenv("KINETIC_HOME", str(base))
    for name in ("SF_USERNAME", "SF_PASSWORD", "SF_CLIENT_ID", "SF_INSTANCE_URL", "SF_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    with LocalOrg(data_dir=base / "local"):
        yield base
