"""Fixtures: a running emulator under a temporary Kinetic home, and a client connected to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kinetic_core import SalesforceClient
from kinetic_core.bulk.poller import PollPolicy
from kinetic_core.emulator.server import LocalOrg

FAST = PollPolicy(initial=0.02, maximum=0.1)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A Kinetic home whose ``local`` org is a running emulator."""
    base = tmp_path / "home"
    with LocalOrg(data_dir=base / "local"):
        yield base


@pytest.fixture
def client(home: Path) -> Iterator[SalesforceClient]:
    """A client of the emulator (admin user)."""
    with SalesforceClient.connect("local", home=home) as sf:
        sf.bulk.poll = FAST
        yield sf
