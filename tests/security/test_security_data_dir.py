"""Secrets at rest: every file the emulator writes under its data dir is 0600, every directory 0700."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kinetic_core import SalesforceClient
from kinetic_core.emulator.server import LocalOrg


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common default umask (022), under which a plain ``open()`` creates 0644 files."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _modes(root: Path) -> dict[str, int]:
    found = {str(root): stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_every_file_is_0600_and_every_dir_0700(tmp_path: Path, usual_umask: None) -> None:
    data_dir = tmp_path / "org"
    with LocalOrg(tls=True, data_dir=data_dir) as org:
        with SalesforceClient.connect(
            login_url=org.login_url,
            client_id=org.client_id,
            client_secret=org.client_secret,
            username=org.username,
            password=org.password,
            ca_bundle=str(org.ca_cert),
            environ={},
            cwd=tmp_path,
            home=tmp_path / "home",
        ) as client:
            client.bulk.poll = type(client.bulk.poll)(initial=0.01, maximum=0.05)
            client.create("Account", {"Name": "at rest"})
            result = client.bulk.insert("Account", [{"Name": "a"}, {"Name": "b"}])
            assert result.successful == 2
            assert len(list(client.bulk.query("SELECT Id FROM Account"))) == 3
        modes = _modes(data_dir)  # while running: -wal/-shm files and emulator.json are present
    names = {Path(p).name for p in modes}
    for expected in ("auth.sqlite", "auth.sqlite-wal", "org.sqlite", "org.sqlite-wal", "emulator.json"):
        assert expected in names, sorted(names)
    assert any(Path(p).parts[:1] == ("bulk",) or "jobs" in Path(p).parts for p in modes), sorted(modes)
    loose = {
        path: oct(mode)
        for path, mode in modes.items()
        if mode != (0o700 if (data_dir / path).is_dir() or path == str(data_dir) else 0o600)
    }
    assert loose == {}, f"not private to the owner: {loose}"


def test_an_old_world_readable_store_is_tightened(tmp_path: Path, usual_umask: None) -> None:
    data_dir = tmp_path / "org"
    with LocalOrg(data_dir=data_dir):
        pass
    for name in ("auth.sqlite", "org.sqlite"):
        os.chmod(data_dir / name, 0o644)  # as an earlier version left them
    os.chmod(data_dir, 0o755)
    with LocalOrg(data_dir=data_dir):
        modes = _modes(data_dir)
    assert modes[str(data_dir)] == 0o700
    assert modes["auth.sqlite"] == 0o600
    assert modes["org.sqlite"] == 0o600
