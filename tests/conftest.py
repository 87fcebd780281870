"""Shared fixtures: a real emulator server over HTTP or HTTPS on a temporary data dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kinetic_core.emulator.org import Org
from kinetic_core.emulator.server import LocalOrg

SF_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "salesforce-responses"


@pytest.fixture(autouse=True)
def _private_kinetic_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own KINETIC_HOME: nothing ever reads or writes the real ~/.kinetic."""
    monkeypatch.setenv("KINETIC_HOME", str(tmp_path_factory.mktemp("kinetic-home")))


@pytest.fixture
def local_org(tmp_path: Path) -> Iterator[LocalOrg]:
    """A running emulator (HTTP, 127.0.0.1, free port) on ``tmp_path / "org"``."""
    with LocalOrg(data_dir=tmp_path / "org") as org:
        yield org


@pytest.fixture
def local_org_tls(tmp_path: Path) -> Iterator[LocalOrg]:
    """A running emulator over HTTPS; give httpx ``verify=org.verify()`` (an SSLContext trusting its CA)."""
    with LocalOrg(tls=True, data_dir=tmp_path / "org") as org:
        yield org


@pytest.fixture
def sf_fixtures_dir() -> Path:
    """The recorded Salesforce responses; skips the test when the directory is absent."""
    if not SF_FIXTURES.is_dir():
        pytest.skip(f"{SF_FIXTURES} is absent")
    return SF_FIXTURES


class EmulatorApi:
    """An httpx client on a fresh running org, authenticated as the admin user."""

    def __init__(self, local: LocalOrg, http: httpx.Client, token: str, version: str = "62.0") -> None:
        self.local = local
        self.org: Org = local.org
        self.http = http
        self.token = token
        self.version = version

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def url(self, suffix: str) -> str:
        return f"/services/data/v{self.version}/{suffix.lstrip('/')}"

    def request(self, method: str, suffix: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return self.http.request(method, self.url(suffix), headers=headers, **kwargs)

    def get(self, suffix: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", suffix, **kwargs)

    def post(self, suffix: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", suffix, **kwargs)

    def patch(self, suffix: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", suffix, **kwargs)

    def delete(self, suffix: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", suffix, **kwargs)

    def create(self, sobject: str, **values: Any) -> str:
        response = self.post(f"sobjects/{sobject}", json=values)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


@pytest.fixture
def emulator_api(local_org: LocalOrg) -> Iterator[EmulatorApi]:
    """A running org (HTTP) and a keep-alive httpx client holding an admin access token."""
    with httpx.Client(base_url=local_org.instance_url, timeout=30) as http:
        yield EmulatorApi(local_org, http, local_org.token())
