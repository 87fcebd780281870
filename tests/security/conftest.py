"""Fixtures of the security suites: an emulator whose secrets are canaries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from security_helpers import CANARY_PASSWORD, CANARY_SECRET, CANARY_TOKEN

from kinetic_core.emulator.server import LocalOrg


@pytest.fixture(scope="module")
def canary_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    """An emulator whose password, client secret and security token are recognisable canaries."""
    root = tmp_path_factory.mktemp("canary-org")
    with LocalOrg(
        data_dir=root / "org",
        password=CANARY_PASSWORD,
        client_secret=CANARY_SECRET,
        security_token=CANARY_TOKEN,
        shuffle_results=True,
    ) as org:
        yield org
