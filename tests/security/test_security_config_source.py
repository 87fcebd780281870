"""A ``.env`` cannot redirect exported credentials: an org's settings come from one source only, a
partial one is an error (never the local org), and the CLI names the source on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from security_helpers import CANARY_PASSWORD, CANARY_SECRET

from kinetic_core import SalesforceClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import ConfigError

KINETIC = Path(sys.executable).parent / "kinetic"


class _Recorder(BaseHTTPRequestHandler):
    """A hostile token endpoint: remembers every request body it is sent."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.bodies.append(self.rfile.read(length))  # type: ignore[attr-defined]
        body = b'{"error":"invalid_grant","error_description":"authentication failure"}'
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def hostile() -> Iterator[tuple[str, list[bytes]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    bodies: list[bytes] = []
    server.bodies = bodies  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()


def _exported(org: LocalOrg) -> dict[str, str]:
    return {
        "SF_LOGIN_URL": org.login_url,
        "SF_USERNAME": org.username,
        "SF_PASSWORD": org.password,
        "SF_CLIENT_ID": org.client_id,
        "SF_CLIENT_SECRET": org.client_secret,
    }


def test_a_dotenv_login_url_cannot_redirect_exported_credentials(
    canary_org: LocalOrg, hostile: tuple[str, list[bytes]], tmp_path: Path
) -> None:
    url, bodies = hostile
    (tmp_path / ".env").write_text(f"SF_LOGIN_URL={url}\n", encoding="utf-8")
    exported = {k: v for k, v in _exported(canary_org).items() if k != "SF_LOGIN_URL"}
    with SalesforceClient.connect(environ=exported, cwd=tmp_path, home=tmp_path / "home") as client:
        # the first call would log in here: the environment's org, at the default login URL
        request = client.http.auth.token_request(0.0)
        assert not request.url.startswith(url), request.url
        assert request.url.startswith("https://login.salesforce.com/")
    assert bodies == []


def test_with_the_login_url_exported_too_the_dotenv_is_ignored(
    canary_org: LocalOrg, hostile: tuple[str, list[bytes]], tmp_path: Path
) -> None:
    url, bodies = hostile
    (tmp_path / ".env").write_text(f"SF_LOGIN_URL={url}\nSF_VERIFY_TLS=false\n", encoding="utf-8")
    with SalesforceClient.connect(
        environ=_exported(canary_org), cwd=tmp_path, home=tmp_path / "home", sleep=lambda s: None
    ) as client:
        assert "DailyApiRequests" in client.limits()
    assert bodies == [], "the exported password and secret were sent to the .env's login URL"


def test_a_dotenv_cannot_complete_a_partial_environment(
    canary_org: LocalOrg, hostile: tuple[str, list[bytes]], tmp_path: Path
) -> None:
    url, bodies = hostile
    (tmp_path / ".env").write_text(f"SF_LOGIN_URL={url}\nSF_CLIENT_ID=attacker-app\n", encoding="utf-8")
    env = {
        "SF_USERNAME": canary_org.username,
        "SF_PASSWORD": CANARY_PASSWORD,
        "SF_CLIENT_SECRET": CANARY_SECRET,
    }
    with pytest.raises(ConfigError) as info:
        SalesforceClient.connect(environ=env, cwd=tmp_path, home=tmp_path / "home")
    assert "SF_CLIENT_ID" in str(info.value)
    assert "environment" in str(info.value)
    assert bodies == []


@pytest.mark.parametrize(
    "env",
    [
        {
            "SF_USERNAM": "someone@example.com",
            "SF_PASSWORD": "pw",
            "SF_CLIENT_ID": "c",
            "SF_CLIENT_SECRET": "s",
        },
        {"SF_PASSWORD": "pw", "SF_CLIENT_SECRET": "s"},
        {"SF_LOGIN_URL": "https://login.salesforce.com"},
        {"SF_USERNAM": "someone@example.com"},
    ],
)
def test_partial_or_misspelled_settings_never_fall_back_to_the_local_org(
    tmp_path: Path, env: dict[str, str]
) -> None:
    home = tmp_path / "home"
    with pytest.raises(ConfigError):
        SalesforceClient.connect(environ=env, cwd=tmp_path, home=home)
    assert not (home / "local").exists(), "a local emulator was started for a half-configured org"


def _kinetic(home: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
    return subprocess.run(
        [str(KINETIC), *args],
        cwd=cwd,
        env={**clean, "KINETIC_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_names_the_source_and_refuses_a_partial_one(canary_org: LocalOrg, tmp_path: Path) -> None:
    ok = _kinetic(tmp_path / "home", tmp_path, _exported(canary_org), "limits", "--json")
    assert ok.returncode == 0, ok.stderr
    assert "settings from the environment (SF_* variables)" in ok.stderr
    partial = _kinetic(tmp_path / "home", tmp_path, {"SF_USERNAME": "u", "SF_PASSWORD": "p"}, "limits")
    assert partial.returncode == 2, partial.stderr
    assert "Traceback" not in partial.stderr
    assert "environment" in partial.stderr
    assert "SF_CLIENT_ID" in partial.stderr
    assert not (tmp_path / "home" / "local").exists()


def test_the_cli_says_once_that_a_dotenv_is_ignored(canary_org: LocalOrg, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SF_LOGIN_URL=https://elsewhere.example.com\n", encoding="utf-8")
    ok = _kinetic(tmp_path / "home", tmp_path, _exported(canary_org), "limits", "--json")
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr.count("is ignored: the environment's SF_* variables name the org") == 1, ok.stderr
    assert "settings from the environment (SF_* variables)" in ok.stderr
