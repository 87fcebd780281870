"""``kinetic org login web`` and ``kinetic org login device`` end to end: the real ``kinetic`` process,
the emulator as the org, and the test in the user's place (it submits the login pages with httpx)."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from queue import Empty, Queue

import httpx
import pytest

from kinetic_core import SalesforceClient
from kinetic_core.emulator.server import LocalOrg

KINETIC = Path(sys.executable).parent / "kinetic"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Hidden(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


class Kinetic:
    """A running ``kinetic`` process whose stderr lines can be awaited."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None) -> None:
        env = {**os.environ, "KINETIC_HOME": str(home), **(env or {})}
        self.proc = subprocess.Popen(
            [str(KINETIC), *args],
            cwd=home.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: Queue[str] = Queue()
        self.seen: list[str] = []
        assert self.proc.stderr is not None
        self.reader = threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True)
        self.reader.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except Empty:
                self.proc.kill()
                self.finish()
                raise AssertionError(f"no line matching {pattern!r}; saw {self.seen}") from None
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            out = self.proc.stdout.read()
        self.proc.wait(timeout=timeout)
        self.reader.join(timeout=timeout)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.proc.returncode, out, "".join(self.seen)


@pytest.fixture(scope="module")
def shared_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalOrg, int]]:
    """One emulator whose connected app lists a free port's callback; polls every second."""
    port = _free_port()
    org_dir = tmp_path_factory.mktemp("login") / "org"
    callback = f"http://localhost:{port}/OauthRedirect"
    with LocalOrg(data_dir=org_dir, callback_urls=(callback,), device_poll_interval_seconds=1) as org:
        yield org, port


@pytest.fixture
def setup(shared_org: tuple[LocalOrg, int], tmp_path: Path) -> tuple[LocalOrg, Path, int]:
    """The shared org, a fresh Kinetic home, and the callback port."""
    return shared_org[0], tmp_path / "home", shared_org[1]


def _check_saved(home: Path, name: str, flow: str, out: str) -> None:
    result = json.loads(out)
    assert result["org"] == name
    assert result["flow"] == flow
    assert result["checked"] is True
    secret = Path(result["refresh_token_file"])
    token = secret.read_text(encoding="utf-8").strip()
    assert token.startswith("5Aep")
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o700
    orgs = (home / "orgs.toml").read_text(encoding="utf-8")
    assert token not in orgs
    assert f'refresh_token_file = "{secret}"' in orgs
    with SalesforceClient.connect(org=name, home=home) as client:
        assert client.query_one("SELECT Username FROM User LIMIT 1") is not None


def test_web_login_with_pkce_through_the_browser_callback(setup: tuple[LocalOrg, Path, int]) -> None:
    org, home, port = setup
    run = Kinetic(
        home, "org", "login", "web", "webby", "--login-url", org.login_url, "--client-id", org.client_id,
        "--port", str(port), "--no-browser", "--json",
    )  # fmt: skip
    url = run.wait_for(r"(http://\S+/services/oauth2/authorize\?\S+)").group(1)
    params = httpx.URL(url).params
    assert params["code_challenge_method"] == "S256"
    assert params["redirect_uri"] == f"http://localhost:{port}/OauthRedirect"
    run.wait_for("Waiting for the redirect")
    # A forged redirect (another state) is refused and the login goes on.
    forged = httpx.get(
        f"http://127.0.0.1:{port}/OauthRedirect", params={"code": "x", "state": "y"}, timeout=10
    )
    assert forged.status_code == 400
    page = httpx.get(url, timeout=10)
    form = _Hidden()
    form.feed(page.text)
    assert form.fields["state"] == params["state"]
    data = {**form.fields, "username": org.username, "password": org.password, "action": "approve"}
    approved = httpx.post(f"{org.login_url}/services/oauth2/authorize", data=data, timeout=10)
    assert approved.status_code == 302
    location = approved.headers["location"].replace("localhost", "127.0.0.1", 1)
    assert httpx.get(location, timeout=10).status_code == 200  # the browser follows the redirect
    code, out, err = run.finish()
    assert code == 0, err
    _check_saved(home, "webby", "web", out)
    listed = subprocess.run(
        [str(KINETIC), "org", "list", "--json"], env={**os.environ, "KINETIC_HOME": str(home)},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert {"name": "webby", "flow": "refresh-token"}.items() <= next(
        row for row in json.loads(listed.stdout) if row["name"] == "webby"
    ).items()
    removed = subprocess.run(
        [str(KINETIC), "org", "remove", "webby"], env={**os.environ, "KINETIC_HOME": str(home)},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert removed.returncode == 0
    assert not (home / "secrets" / "webby.refresh_token").exists()


def test_web_login_denied_saves_nothing(setup: tuple[LocalOrg, Path, int]) -> None:
    org, home, port = setup
    run = Kinetic(
        home, "org", "login", "web", "nope", "--login-url", org.login_url, "--client-id", org.client_id,
        "--port", str(port), "--no-browser",
    )  # fmt: skip
    url = run.wait_for(r"(http://\S+/services/oauth2/authorize\?\S+)").group(1)
    form = _Hidden()
    form.feed(httpx.get(url, timeout=10).text)
    denied = httpx.post(
        f"{org.login_url}/services/oauth2/authorize", data={**form.fields, "action": "deny"}, timeout=10
    )
    httpx.get(denied.headers["location"].replace("localhost", "127.0.0.1", 1), timeout=10)
    code, _, err = run.finish()
    assert code == 3, err
    assert "access_denied" in err
    assert not (home / "orgs.toml").exists()


def test_web_login_port_in_use_is_a_clear_error(setup: tuple[LocalOrg, Path, int]) -> None:
    org, home, port = setup
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # earlier tests leave TIME_WAITs
        busy.bind(("127.0.0.1", port))
        busy.listen()
        run = Kinetic(
            home, "org", "login", "web", "x", "--login-url", org.login_url, "--client-id", org.client_id,
            "--port", str(port), "--no-browser",
        )  # fmt: skip
        code, _, err = run.finish()
    assert code == 2, err
    assert f"port {port} is in use" in err
    assert "--any-port" in err


def test_device_login_polls_until_the_user_approves(setup: tuple[LocalOrg, Path, int]) -> None:
    org, home, _ = setup
    run = Kinetic(
        home,
        "org",
        "login",
        "device",
        "tv",
        "--login-url",
        org.login_url,
        "--client-id",
        org.client_id,
        "--json",
    )
    found = run.wait_for(r"Open (\S+) and enter the code ([A-Z0-9]+)")
    verification_uri, user_code = found.group(1), found.group(2)
    run.wait_for("Waiting for approval")
    data = {"user_code": user_code, "username": org.username, "password": org.password, "action": "approve"}
    assert httpx.post(verification_uri, data=data, timeout=10).status_code == 200
    code, out, err = run.finish()
    assert code == 0, err
    _check_saved(home, "tv", "device", out)


@pytest.mark.parametrize("name", ["../outside", "local", "1st"])
def test_a_bad_profile_name_is_refused_before_any_login(setup: tuple[LocalOrg, Path, int], name: str) -> None:
    org, home, _ = setup
    run = Kinetic(
        home, "org", "login", "device", name, "--login-url", org.login_url, "--client-id", org.client_id
    )
    code, _, err = run.finish()
    assert code == 2, err
    assert f"invalid profile name {name!r}" in err
    assert "Open " not in err
    assert not home.exists() or not any(home.rglob("*refresh_token*"))
    assert not (home.parent / "outside.refresh_token").exists()


_FAKE_BROWSER = '''#!{python}
"""A browser for the test: logs in on the page it is given and follows the redirect, in the background."""
import subprocess, sys
from html.parser import HTMLParser

import httpx

if sys.argv[1] != "--work":
    with open({opened!r}, "w", encoding="utf-8") as note:
        note.write(sys.argv[1])
    subprocess.Popen([sys.executable, __file__, "--work", sys.argv[1]], start_new_session=True)
    sys.exit(0)


class Hidden(HTMLParser):
    fields = {{}}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value") or ""


url = sys.argv[2]
page = Hidden()
page.feed(httpx.get(url, timeout=10).text)
data = {{**page.fields, "username": {username!r}, "password": {password!r}, "action": "approve"}}
login = url.split("/services/")[0]
approved = httpx.post(login + "/services/oauth2/authorize", data=data, timeout=10)
httpx.get(approved.headers["location"].replace("localhost", "127.0.0.1", 1), timeout=10)
'''


def test_web_login_opens_the_browser_when_there_is_one(setup: tuple[LocalOrg, Path, int]) -> None:
    org, home, port = setup
    home.mkdir(parents=True)
    opened = home / "browser-opened.txt"
    browser = home / "fake-browser"
    browser.write_text(
        _FAKE_BROWSER.format(
            python=sys.executable, opened=str(opened), username=org.username, password=org.password
        ),
        encoding="utf-8",
    )
    browser.chmod(0o755)
    env = {"BROWSER": str(browser)}
    run = Kinetic(
        home, "org", "login", "web", "browsed", "--login-url", org.login_url, "--client-id", org.client_id,
        "--port", str(port), "--json", env=env,
    )  # fmt: skip
    url = run.wait_for(r"(http://\S+/services/oauth2/authorize\?\S+)").group(1)
    code, out, err = run.finish()
    assert code == 0, err
    assert opened.read_text(encoding="utf-8") == url  # the printed URL is the one the browser opened
    assert "no browser found" not in err
    _check_saved(home, "browsed", "web", out)


def test_web_login_without_a_browser_says_to_open_the_url(setup: tuple[LocalOrg, Path, int]) -> None:
    org, home, port = setup
    # No browser at all: BROWSER names a missing program, and PATH holds no other browser.
    env = {"BROWSER": str(home.parent / "no-such-browser"), "PATH": str(KINETIC.parent)}
    run = Kinetic(
        home, "org", "login", "web", "later", "--login-url", org.login_url, "--client-id", org.client_id,
        "--port", str(port), "--timeout", "1", env=env,
    )  # fmt: skip
    code, _, err = run.finish()
    assert "(no browser found: open the URL yourself)" in err
    assert code == 3, err
    assert "no login arrived" in err
