"""Fixtures for the contract suite (helpers live in ``contract_helpers.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from contract_helpers import OrgHandle, running_org, trusting_session


@pytest.fixture(scope="module")
def tls_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgHandle]:
    """An emulator over HTTPS, shared by the tests of one module."""
    with running_org(tmp_path_factory.mktemp("tls-org"), tls=True) as org:
        yield org


@pytest.fixture(scope="module")
def http_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgHandle]:
    """An emulator over plain HTTP with small Bulk query pages (250 rows), for jsforce."""
    with running_org(tmp_path_factory.mktemp("http-org"), tls=False, query_page_size=250) as org:
        yield org


@pytest.fixture
def https_session(tls_org: OrgHandle) -> Iterator[requests.Session]:
    session = trusting_session(tls_org)
    try:
        yield session
    finally:
        session.close()
