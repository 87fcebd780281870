"""``kinetic org login web | device``: interactive logins that keep a refresh token by reference.

Both save a profile whose refresh token lives in its own file, ``~/.kinetic/secrets/<name>.refresh_token``
(mode 0600, in a 0700 directory), referenced from ``orgs.toml`` as ``refresh_token_file``; the token
itself never enters ``orgs.toml``. From then on the profile logs in by the refresh-token flow, like any
other (``SalesforceClient.connect(org="<name>")``). ``kinetic org remove`` deletes the file.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from kinetic_core.auth.base import Token, TokenRequest
from kinetic_core.auth.callback import CallbackServer
from kinetic_core.auth.interactive import (
    DEFAULT_CALLBACK_PORT,
    DEFAULT_SCOPE,
    Pkce,
    Send,
    authorize_url,
    code_exchange_request,
    device_code_request,
    device_poll_request,
    exchange_code,
    parse_device_authorization,
    poll_device,
)
from kinetic_core.cli.common import ExitCode, JsonOption, connected, emit_json, fail, handle_errors, stderr
from kinetic_core.config import (
    DEFAULT_LOGIN_URL,
    LOCAL_ORG,
    kinetic_home,
    load_profiles,
    remove_profile,
    save_profile,
)
from kinetic_core.errors import AuthenticationError, KineticError, TransportError
from kinetic_core.http.session import build_http_client

logger = logging.getLogger(__name__)

SECRETS_DIR = "secrets"
SANDBOX_LOGIN_URL = "https://test.salesforce.com"

ProfileArg = Annotated[str | None, typer.Argument(help="Profile name (letters, digits, _).")]
OrgOption = Annotated[str | None, typer.Option("--org", "-o", "--target-org", help="Profile name.")]
LoginUrlOption = Annotated[str | None, typer.Option(help="Login URL (default https://login.salesforce.com).")]
SandboxOption = Annotated[bool, typer.Option("--sandbox", help="Use https://test.salesforce.com.")]
ClientIdOption = Annotated[str, typer.Option(help="Connected app consumer key.")]
SecretEnvOption = Annotated[
    str | None,
    typer.Option(help="Env var holding the consumer secret, when the app requires one for this flow."),
]
ScopeOption = Annotated[str, typer.Option(help="OAuth scopes; refresh_token is needed.")]
CaBundleOption = Annotated[Path | None, typer.Option(help="CA bundle to verify TLS with.")]
DefaultOption = Annotated[bool, typer.Option("--default", help="Make it the default org.")]
CheckOption = Annotated[
    bool, typer.Option("--check/--no-check", help="Call the API once with the saved profile.")
]


def refresh_token_path(home: Path, profile: str) -> Path:
    """Where a profile's refresh token is kept."""
    return home / SECRETS_DIR / f"{profile}.refresh_token"


def _write_secret(path: Path, value: str) -> None:
    """Write ``value`` readable by its owner only, from the first byte, replacing any older file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value + "\n")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def forget_secrets(home: Path, profile: str) -> None:
    """Delete the secret files a profile's interactive login wrote (nothing else)."""
    refresh_token_path(home, profile).unlink(missing_ok=True)


@contextmanager
def _sender(ca_bundle: Path | None) -> Iterator[Send]:
    """A ``Send`` over the HTTP layer's client (TLS checked; a CA bundle when given)."""
    client = build_http_client(verify=str(ca_bundle) if ca_bundle else True)

    def send(request: TokenRequest) -> tuple[int, bytes]:
        headers = {"Accept": "application/json", **request.headers}
        try:
            resp = client.post(request.url, data=dict(request.form), headers=headers)
        except httpx.TransportError as exc:
            raise TransportError(
                f"token request failed: {type(exc).__name__}", method="POST", url=request.url
            ) from None
        return resp.status_code, resp.content

    try:
        yield send
    finally:
        client.close()


_PROFILE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""What ``save_profile`` accepts; checked before the login, since the name also names the secret file."""


def _profile_name(name: str | None, org: str | None, command: str, json_output: bool) -> str:
    profile = name or org
    if not profile:
        raise fail(f"give the profile name: kinetic org login {command} NAME ...", json_output=json_output)
    if not _PROFILE_NAME.fullmatch(profile) or profile == LOCAL_ORG:
        raise fail(
            f"invalid profile name {profile!r}: letters, digits and _, "
            f"not starting with a digit, not {LOCAL_ORG!r}",
            ExitCode.USAGE,
            json_output=json_output,
        )
    return profile


def _env_name(value: str | None) -> str | None:
    if value is not None and (not value.replace("_", "").isalnum() or value[0].isdigit()):
        raise typer.BadParameter(
            "--client-secret-env takes the NAME of an environment variable, not its value"
        )
    if value is not None and value not in os.environ:
        raise typer.BadParameter(f"environment variable not set: {value}")
    return value


def _save(
    profile: str,
    token: Token,
    values: dict[str, Any],
    *,
    flow: str,
    set_default: bool,
    check: bool,
    json_output: bool,
) -> None:
    """Keep the refresh token in its file, save the profile, check it logs in, or undo both."""
    if not token.refresh_token:
        raise AuthenticationError(
            "no_refresh_token",
            "the org issued no refresh token: the connected app must allow the refresh_token "
            "(or offline_access) scope, and --scope must ask for it",
        )
    home = kinetic_home()
    previous = load_profiles(home).get("orgs", {}).get(profile)
    secret = refresh_token_path(home, profile)
    old_secret = secret.read_text(encoding="utf-8") if secret.exists() else None
    _write_secret(secret, token.refresh_token)
    path = save_profile(profile, {**values, "refresh_token_file": str(secret)}, home, default=set_default)
    if check:
        try:
            with connected(profile) as client:
                client.limits()
        except (KineticError, OSError):
            if previous is None:
                remove_profile(profile, home)
            else:
                save_profile(profile, dict(previous), home)
            if old_secret is None:
                secret.unlink(missing_ok=True)
            else:
                _write_secret(secret, old_secret.strip())
            raise
    result = {
        "org": profile,
        "flow": flow,
        "file": str(path),
        "refresh_token_file": str(secret),
        "instance_url": token.instance_url,
        "default": set_default,
        "checked": check,
    }
    if json_output:
        emit_json(result)
    else:
        stderr().print(
            f"saved org {profile!r} ({flow} login) in {path}; refresh token kept in {secret} (mode 0600)",
            markup=False,
        )


def _base_values(
    login_url: str | None, sandbox: bool, client_id: str, secret_env: str | None, ca_bundle: Path | None
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "login_url": (SANDBOX_LOGIN_URL if sandbox else login_url or DEFAULT_LOGIN_URL).rstrip("/"),
        "client_id": client_id,
    }
    if secret_env:
        values["client_secret_env"] = secret_env
    if ca_bundle is not None:
        values["ca_bundle"] = str(ca_bundle.expanduser().resolve())
    return values


@handle_errors
def login_web(
    client_id: ClientIdOption,
    name: ProfileArg = None,
    org: OrgOption = None,
    login_url: LoginUrlOption = None,
    sandbox: SandboxOption = False,
    client_secret_env: SecretEnvOption = None,
    port: Annotated[
        int, typer.Option(help="Port of the local callback http://localhost:PORT/OauthRedirect.")
    ] = DEFAULT_CALLBACK_PORT,
    any_port: Annotated[
        bool,
        typer.Option(
            "--any-port", help="If the port is busy, listen on a free one (the app must list that callback)."
        ),
    ] = False,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="Open the login page in a browser if there is one.")
    ] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the login to complete.")] = 300.0,
    scope: ScopeOption = DEFAULT_SCOPE,
    ca_bundle: CaBundleOption = None,
    set_default: DefaultOption = False,
    check: CheckOption = True,
    json_output: JsonOption = False,
) -> None:
    """Log in through the browser (OAuth web server flow with PKCE) and save the org profile.

    Prints the login URL (and opens it in a browser unless --no-browser), receives the redirect on
    http://localhost:1717/OauthRedirect, checks its state, exchanges the code with the PKCE verifier
    and keeps the refresh token in a file of its own (mode 0600), referenced from orgs.toml.

    Example:
        $ kinetic org login web prod --client-id 3MVG...
        $ kinetic org login web dev --sandbox --client-id 3MVG... --no-browser --port 1718
    """
    profile = _profile_name(name, org, "web", json_output)
    values = _base_values(login_url, sandbox, client_id, _env_name(client_secret_env), ca_bundle)
    secret = os.environ[client_secret_env] if client_secret_env else None
    pkce = Pkce.generate()
    state = secrets.token_urlsafe(24)
    with CallbackServer(port, state, any_port=any_port) as server:
        url = authorize_url(values["login_url"], client_id, server.redirect_uri, pkce, state, scope)
        stderr().print(f"Log in and allow access at:\n{url}", markup=False, soft_wrap=True)
        if browser:
            try:
                opened = webbrowser.open(url)
            except webbrowser.Error:
                opened = False
            if not opened:
                stderr().print("(no browser found: open the URL yourself)", markup=False)
        stderr().print(f"Waiting for the redirect to {server.redirect_uri} ...", markup=False)
        code = server.wait(timeout)
        redirect_uri = server.redirect_uri
    request = code_exchange_request(values["login_url"], client_id, code, redirect_uri, pkce, secret)
    with _sender(ca_bundle) as send:
        token = exchange_code(send, request)
    _save(profile, token, values, flow="web", set_default=set_default, check=check, json_output=json_output)


@handle_errors
def login_device(
    client_id: ClientIdOption,
    name: ProfileArg = None,
    org: OrgOption = None,
    login_url: LoginUrlOption = None,
    sandbox: SandboxOption = False,
    client_secret_env: SecretEnvOption = None,
    scope: ScopeOption = DEFAULT_SCOPE,
    ca_bundle: CaBundleOption = None,
    set_default: DefaultOption = False,
    check: CheckOption = True,
    json_output: JsonOption = False,
) -> None:
    """Log in from another device (OAuth device flow) and save the org profile.

    Prints a verification URL and a user code: open the URL anywhere, enter the code, log in and allow
    access. Meanwhile the command polls the org at the interval it asks for (slower when told to slow
    down) until the code is approved, refused or expires, then keeps the refresh token in a file of its
    own (mode 0600), referenced from orgs.toml.

    Example:
        $ kinetic org login device prod --client-id 3MVG...
    """
    profile = _profile_name(name, org, "device", json_output)
    values = _base_values(login_url, sandbox, client_id, _env_name(client_secret_env), ca_bundle)
    secret = os.environ[client_secret_env] if client_secret_env else None
    start = device_code_request(values["login_url"], client_id, scope)
    with _sender(ca_bundle) as send:
        status, body = send(start)
        device = parse_device_authorization(status, body, start.url)
        stderr().print(
            f"Open {device.verification_uri} and enter the code {device.user_code}",
            markup=False,
            soft_wrap=True,
        )
        stderr().print("Waiting for approval ...", markup=False)
        poll = device_poll_request(values["login_url"], client_id, device, secret)
        token = poll_device(send, poll, device)
    _save(
        profile, token, values, flow="device", set_default=set_default, check=check, json_output=json_output
    )
