"""Helpers for the contract suite: the real emulator, driven by real third-party clients.

simple-salesforce always speaks ``https://``, so its tests use an emulator started with ``--tls``
and a ``requests.Session`` that trusts the emulator's CA. jsforce runs in Node against a plain
HTTP emulator; its scripts live in ``tests/contract/js`` and print one JSON document each. The
Salesforce CLI (``sf``, installed by ``npm ci`` in ``tests/contract/sf``) runs as a command against
a TLS emulator whose CA Node is told to trust.

The emulator is imported inside the fixtures, so a broken or missing emulator makes these tests
fail one by one instead of breaking collection of the whole suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

JS_DIR = Path(__file__).parent / "js"
SF_DIR = Path(__file__).parent / "sf"
SF_TIMEOUT_SECONDS = 180.0

CONTRACT_SCHEMA = """\
fields:
  Account:
    Legacy_Key__c: {type: text, length: 40, external_id: true}
"""
"""Extra schema for every contract org: a non-unique external id, so an upsert can match two rows."""
NODE_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class OrgHandle:
    """What the tests need to know about a running emulator."""

    instance_url: str
    login_url: str
    username: str
    password: str
    security_token: str
    client_id: str
    client_secret: str
    api_version: str
    ca_cert: Path | None
    jwt_private_key: Path | None
    local_org: Any  # the LocalOrg itself, for the rare test that needs it


def _handle(local: Any) -> OrgHandle:
    return OrgHandle(
        instance_url=str(local.instance_url).rstrip("/"),
        login_url=str(local.login_url).rstrip("/"),
        username=local.username,
        password=local.password,
        security_token=local.security_token,
        client_id=local.client_id,
        client_secret=local.client_secret,
        api_version=str(local.api_version),
        ca_cert=Path(local.ca_cert) if local.ca_cert else None,
        jwt_private_key=Path(local.jwt_private_key) if local.jwt_private_key else None,
        local_org=local,
    )


@contextmanager
def running_org(data_dir: Path, *, tls: bool, **settings: Any) -> Iterator[OrgHandle]:
    """Start a real emulator server (uvicorn in a thread) with :data:`CONTRACT_SCHEMA`, then stop it."""
    from kinetic_core.emulator.server import LocalOrg

    schema = data_dir / "contract-schema.yaml"
    schema.write_text(CONTRACT_SCHEMA, encoding="utf-8")
    with LocalOrg(tls=tls, data_dir=data_dir, schema=schema, **settings) as local:
        yield _handle(local)


def trusting_session(org: OrgHandle) -> requests.Session:
    """A ``requests.Session`` that trusts the emulator's self-signed CA."""
    session = requests.Session()
    assert org.ca_cert is not None, "the TLS emulator must expose ca_cert"
    session.verify = str(org.ca_cert)
    # With trust_env, requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify
    # (psf/requests#3829); simple-salesforce never passes verify= per call, so opt out of the environment.
    session.trust_env = False
    # One connection per request: LocalOrg.stop() leaves server-side TLS transports of still-open
    # keep-alive connections unclosed (ResourceWarnings that surface in whichever test runs next).
    session.headers["Connection"] = "close"
    return session


def password_token(session: requests.Session, org: OrgHandle) -> dict[str, Any]:
    """Run the OAuth username-password flow against the emulator and return the token response."""
    resp = session.post(
        f"{org.login_url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": org.client_id,
            "client_secret": org.client_secret,
            "username": org.username,
            "password": org.password,
        },
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


class RedirectAdapter(HTTPAdapter):
    """Send requests meant for a fixed ``https://host`` prefix to the emulator instead.

    simple-salesforce builds its login URL as ``https://{domain}.salesforce.com``; mounting this
    adapter on its ``session`` makes those logins reach the emulator while the client stays unchanged.
    """

    def __init__(self, prefix: str, target: str) -> None:
        super().__init__()
        self._prefix = prefix.rstrip("/")
        self._target = target.rstrip("/")
        self.redirected: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = str(request.url)
        if url.startswith(self._prefix):
            request.url = self._target + url[len(self._prefix) :]
            self.redirected.append(url)
        return super().send(request, *args, **kwargs)


# ---------------------------------------------------------------------------------------------- Node


@dataclass(frozen=True)
class NodeResult:
    """The outcome of one jsforce script: exit code, its JSON document and stderr."""

    returncode: int
    data: dict[str, Any]
    stderr: str


def node_env(org: OrgHandle, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "SF_INSTANCE_URL": org.instance_url,
            "SF_LOGIN_URL": org.login_url,
            "SF_USERNAME": org.username,
            "SF_PASSWORD": org.password,
            "SF_SECURITY_TOKEN": org.security_token,
            "SF_CLIENT_ID": org.client_id,
            "SF_CLIENT_SECRET": org.client_secret,
            "SF_API_VERSION": org.api_version,
        }
    )
    if org.ca_cert is not None:
        env["NODE_EXTRA_CA_CERTS"] = str(org.ca_cert)
    if org.jwt_private_key is not None:
        env["SF_JWT_KEY_FILE"] = str(org.jwt_private_key)
    if extra:
        env.update(extra)
    return env


def require_node() -> str:
    """Path of ``node``; fails (never skips) with a clear message when jsforce cannot run."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the jsforce contract tests need Node.js >= 18 and npm")
    if not (JS_DIR / "node_modules" / "jsforce" / "package.json").is_file():
        pytest.fail(
            f"jsforce is not installed: run `npm ci` in {JS_DIR} (scripts/test does it when npm exists)"
        )
    return node


def run_node(script: str, org: OrgHandle, *args: str, env: Mapping[str, str] | None = None) -> NodeResult:
    """Run ``node js/<script> args...`` against ``org`` and parse the JSON it prints on stdout."""
    node = require_node()
    proc = subprocess.run(
        [node, str(JS_DIR / script), *args],
        cwd=JS_DIR,
        env=node_env(org, env),
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_SECONDS,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if not lines:
        pytest.fail(f"{script} printed nothing (exit {proc.returncode}); stderr:\n{proc.stderr[-4000:]}")
    try:
        data = json.loads(lines[-1])
    except json.JSONDecodeError:
        pytest.fail(f"{script} did not print JSON (exit {proc.returncode}):\n{proc.stdout[-4000:]}")
    return NodeResult(proc.returncode, data, proc.stderr)


def node_ok(script: str, org: OrgHandle, *args: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run a script that must succeed and return its JSON result."""
    result = run_node(script, org, *args, env=env)
    if result.returncode != 0 or "error" in result.data:
        pytest.fail(
            f"{script} {' '.join(args)} failed (exit {result.returncode}): "
            f"{json.dumps(result.data, indent=1)[:4000]}\nstderr:\n{result.stderr[-2000:]}"
        )
    return result.data


def require_sf() -> Path:
    """Path of the pinned ``sf`` command; fails (never skips) with a clear message when it cannot run."""
    require_node()
    sf = SF_DIR / "node_modules" / ".bin" / "sf"
    if not sf.is_file():
        pytest.fail(
            f"the Salesforce CLI is not installed: run `npm ci` in {SF_DIR}"
            " (scripts/test does it when npm exists)"
        )
    return sf


@dataclass(frozen=True)
class SfResult:
    """What one ``sf ... --json`` run printed: its exit code, the JSON document and stderr."""

    returncode: int
    data: dict[str, Any]
    stderr: str


def sf_env(org: OrgHandle, home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for ``sf``: its own HOME (its config and auth files), no telemetry or updates."""
    env = dict(os.environ)
    env.update(
        {
            "HOME": str(home),
            "SF_DISABLE_TELEMETRY": "true",
            "SF_AUTOUPDATE_DISABLE": "true",
            "SF_USE_GENERIC_UNIX_KEYCHAIN": "true",
            "SF_SKIP_NEW_VERSION_CHECK": "true",
            "SF_HIDE_RELEASE_NOTES": "true",
        }
    )
    if org.ca_cert is not None:
        env["NODE_EXTRA_CA_CERTS"] = str(org.ca_cert)
    if extra:
        env.update(extra)
    return env


def run_sf(
    args: list[str], org: OrgHandle, home: Path, *, cwd: Path, env: Mapping[str, str] | None = None
) -> SfResult:
    """Run ``sf <args> --json`` and parse the JSON document it prints on stdout."""
    sf = require_sf()
    proc = subprocess.run(
        [str(sf), *args, "--json"],
        cwd=cwd,
        env=sf_env(org, home, env),
        capture_output=True,
        text=True,
        timeout=SF_TIMEOUT_SECONDS,
        check=False,
    )
    start = proc.stdout.find("{")
    if start < 0:
        pytest.fail(
            f"sf {' '.join(args)} printed no JSON (exit {proc.returncode}); stderr:\n{proc.stderr[-4000:]}"
        )
    try:
        data = json.loads(proc.stdout[start:])
    except json.JSONDecodeError:
        pytest.fail(
            f"sf {' '.join(args)} did not print JSON (exit {proc.returncode}):\n{proc.stdout[-4000:]}"
        )
    return SfResult(proc.returncode, data, proc.stderr)


def sf_ok(
    args: list[str], org: OrgHandle, home: Path, *, cwd: Path, env: Mapping[str, str] | None = None
) -> Any:
    """Run an ``sf`` command that must succeed; return the ``result`` of its JSON document."""
    out = run_sf(args, org, home, cwd=cwd, env=env)
    if out.returncode != 0 or out.data.get("status") != 0:
        pytest.fail(
            f"sf {' '.join(args)} failed (exit {out.returncode}): {json.dumps(out.data, indent=1)[:4000]}"
            f"\nstderr:\n{out.stderr[-2000:]}"
        )
    return out.data.get("result")
