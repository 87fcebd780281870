"""Fixtures of the reliability suites: an emulator with extra typed fields, and clients on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reliability_helpers import SCHEMA, connect

from kinetic_core.client import SalesforceClient
from kinetic_core.emulator.server import LocalOrg


@pytest.fixture(scope="module")
def typed_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalOrg]:
    """One emulator per module, with shuffled bulk results and the custom fields of ``SCHEMA``."""
    root = tmp_path_factory.mktemp("typed-org")
    schema = root / "schema.yaml"
    schema.write_text(SCHEMA, encoding="utf-8")
    with LocalOrg(data_dir=root / "org", schema=schema, shuffle_results=True) as org:
        yield org


@pytest.fixture(scope="module")
def typed_client(typed_org: LocalOrg) -> Iterator[SalesforceClient]:
    """A client on ``typed_org`` (no real sleeping between retries, fast bulk polling)."""
    with connect(typed_org) as client:
        yield client
