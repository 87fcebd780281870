"""``kinetic org login [web | device] | list | remove``: org profiles in ``~/.kinetic/orgs.toml``.

Profiles hold secrets by reference only: a key file path for JWT, environment variable names
(``password_env = "PROD_PASSWORD"``) for passwords, client secrets and tokens, and for the interactive
logins (``org login web``, ``org login device``, in ``org_login``) the path of a file of their own
holding the refresh token. Every such file is written readable by its owner only (mode 0600).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from typer import _click as click

from kinetic_core.cli import org_login
from kinetic_core.cli.common import (
    ExitCode,
    JsonOption,
    connected,
    emit_json,
    exit_codes_help,
    fail,
    handle_errors,
    stderr,
    stdout,
)
from kinetic_core.cli.helpstyle import KineticGroup
from kinetic_core.config import (
    DEFAULT_LOGIN_URL,
    kinetic_home,
    list_profiles,
    load_profiles,
    remove_profile,
    save_profile,
)
from kinetic_core.errors import KineticError

org_app = typer.Typer(help="Manage org profiles (~/.kinetic/orgs.toml).", no_args_is_help=True)

PROFILE_COMMAND = "profile"


class LoginGroup(KineticGroup):
    """``org login``: ``web`` and ``device`` are subcommands; anything else is ``org login profile``.

    So ``kinetic org login prod --client-id ...`` keeps meaning what it always did.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [PROFILE_COMMAND, *args]
        return super().parse_args(ctx, args)


login_app = typer.Typer(
    cls=LoginGroup,
    no_args_is_help=True,
    help=(
        "Log in and save an org profile: with stored credentials (NAME --client-id ... --password-env ...), "
        "through the browser (web) or from another device (device).\n\n"
        "Example:\n"
        "    $ kinetic org login prod --client-id 3MVG... --username me@acme.com --password-env PROD_PW\n"
        "    $ kinetic org login web prod --client-id 3MVG...\n"
        "    $ kinetic org login device prod --client-id 3MVG..."
    ),
    short_help="Log in and save an org profile (credentials by reference, web or device login).",
)
org_app.add_typer(login_app, name="login", cls=LoginGroup)

FLOWS = ("jwt", "password", "refresh-token", "client-credentials", "token")
SANDBOX_LOGIN_URL = "https://test.salesforce.com"


def _env_name(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    if not value.replace("_", "").isalnum() or value[0].isdigit():
        raise typer.BadParameter(f"{option} takes the NAME of an environment variable, not its value")
    return value


def _infer_flow(values: dict[str, Any]) -> str:
    if "private_key_path" in values or "private_key_env" in values:
        return "jwt"
    if "password_env" in values:
        return "password"
    if "refresh_token_env" in values or "refresh_token_file" in values:
        return "refresh-token"
    if "access_token_env" in values:
        return "token"
    if "client_secret_env" in values:
        return "client-credentials"
    raise typer.BadParameter(
        "cannot tell the auth flow: give --key-file (JWT), --password-env (password), "
        "--refresh-token-env, --client-secret-env (client credentials) or --access-token-env (token)"
    )


_NEEDS = {
    "jwt": (("client_id", "--client-id"), ("username", "--username")),
    "password": (
        ("client_id", "--client-id"),
        ("username", "--username"),
        ("password_env", "--password-env"),
    ),
    "refresh-token": (("client_id", "--client-id"), ("refresh_token_env", "--refresh-token-env")),
    "client-credentials": (("client_id", "--client-id"), ("client_secret_env", "--client-secret-env")),
    "token": (("instance_url", "--instance-url"), ("access_token_env", "--access-token-env")),
}


def _check_values(flow: str, values: dict[str, Any]) -> None:
    missing = [option for key, option in _NEEDS[flow] if not values.get(key)]
    if flow == "jwt" and not (values.get("private_key_path") or values.get("private_key_env")):
        missing.append("--key-file")
    if missing:
        raise typer.BadParameter(f"the {flow} flow needs {', '.join(missing)}")
    unset = [v for k, v in values.items() if k.endswith("_env") and v not in os.environ]
    if unset:
        raise typer.BadParameter(f"environment variable(s) not set: {', '.join(unset)}")


def _secure(path: Path) -> None:
    try:
        os.chmod(path.parent, 0o700)
        os.chmod(path, 0o600)
    except OSError:
        pass


@login_app.command(PROFILE_COMMAND, epilog=exit_codes_help(auth=True, api=True))
@handle_errors
def login(
    name: Annotated[str | None, typer.Argument(help="Profile name (letters, digits, _).")] = None,
    org: Annotated[str | None, typer.Option("--org", "-o", "--target-org", help="Profile name.")] = None,
    flow: Annotated[
        str | None, typer.Option(help=f"Auth flow: {', '.join(FLOWS)} (default: inferred).")
    ] = None,
    login_url: Annotated[str | None, typer.Option(help="Login URL (default login.salesforce.com).")] = None,
    sandbox: Annotated[bool, typer.Option("--sandbox", help="Use https://test.salesforce.com.")] = False,
    instance_url: Annotated[str | None, typer.Option(help="Instance URL (token flow).")] = None,
    client_id: Annotated[str | None, typer.Option(help="Connected app consumer key.")] = None,
    client_secret_env: Annotated[
        str | None, typer.Option(help="Env var holding the consumer secret.")
    ] = None,
    username: Annotated[str | None, typer.Option(help="Salesforce username.")] = None,
    password_env: Annotated[str | None, typer.Option(help="Env var holding the password.")] = None,
    security_token_env: Annotated[
        str | None, typer.Option(help="Env var holding the security token.")
    ] = None,
    key_file: Annotated[Path | None, typer.Option(help="JWT private key file (PEM).")] = None,
    private_key_env: Annotated[str | None, typer.Option(help="Env var holding the JWT private key.")] = None,
    refresh_token_env: Annotated[str | None, typer.Option(help="Env var holding a refresh token.")] = None,
    access_token_env: Annotated[str | None, typer.Option(help="Env var holding an access token.")] = None,
    api_version: Annotated[str | None, typer.Option(help="REST API version, e.g. 62.0.")] = None,
    ca_bundle: Annotated[Path | None, typer.Option(help="CA bundle to verify TLS with.")] = None,
    set_default: Annotated[bool, typer.Option("--default", help="Make it the default org.")] = False,
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Log in once to verify the profile.")
    ] = True,
    json_output: JsonOption = False,
) -> None:
    """Store an org profile (secrets by reference) and check that it logs in.

    Example:
        $ export PROD_PASSWORD=...
        $ kinetic org login prod --client-id 3MVG... --username me@acme.com --password-env PROD_PASSWORD
    """
    profile = name or org
    if not profile:
        raise fail("give the profile name: kinetic org login NAME ...", json_output=json_output)
    values: dict[str, Any] = {}
    url = SANDBOX_LOGIN_URL if sandbox else login_url
    for key, value in (
        ("login_url", url),
        ("instance_url", instance_url),
        ("client_id", client_id),
        ("username", username),
        ("api_version", api_version),
    ):
        if value:
            values[key] = value
    for key, value, option in (
        ("client_secret_env", client_secret_env, "--client-secret-env"),
        ("password_env", password_env, "--password-env"),
        ("security_token_env", security_token_env, "--security-token-env"),
        ("private_key_env", private_key_env, "--private-key-env"),
        ("refresh_token_env", refresh_token_env, "--refresh-token-env"),
        ("access_token_env", access_token_env, "--access-token-env"),
    ):
        env = _env_name(value, option)
        if env:
            values[key] = env
    if key_file is not None:
        if not key_file.expanduser().is_file():
            raise fail(f"key file not found: {key_file}", json_output=json_output)
        values["private_key_path"] = str(key_file.expanduser().resolve())
    if ca_bundle is not None:
        values["ca_bundle"] = str(ca_bundle.expanduser().resolve())
    chosen = (flow or _infer_flow(values)).lower()
    if chosen not in FLOWS:
        raise typer.BadParameter(f"--flow must be one of {', '.join(FLOWS)}")
    _check_values(chosen, values)
    home = kinetic_home()
    previous = load_profiles(home).get("orgs", {}).get(profile)
    path = save_profile(profile, values, home, default=set_default)
    _secure(path)
    if check:
        try:
            with connected(profile) as client:
                client.limits()
        except (KineticError, OSError):
            if previous is None:
                remove_profile(profile, home)
            else:
                save_profile(profile, dict(previous), home)
            _secure(path)
            raise
    result = {"org": profile, "flow": chosen, "file": str(path), "default": set_default, "checked": check}
    if json_output:
        emit_json(result)
    else:
        stderr().print(f"saved org {profile!r} ({chosen} flow) in {path}", markup=False)


def _flow_of(table: dict[str, Any]) -> str:
    try:
        return _infer_flow(table)
    except typer.BadParameter:
        return "?"


@org_app.command("list", epilog=exit_codes_help())
@handle_errors
def list_orgs(
    org: Annotated[
        str | None, typer.Option("--org", "-o", "--target-org", help="Show only this one.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """List the org profiles (and the built-in local org).

    Example:
        $ kinetic org list --json
    """
    home = kinetic_home()
    doc = load_profiles(home)
    default = doc.get("default")
    rows: list[dict[str, Any]] = [
        {
            "name": "local",
            "default": default in (None, "local"),
            "flow": "built-in emulator",
            "username": "admin@kinetic.local",
            "login_url": "",
        }
    ]
    for profile in list_profiles(home):
        table = dict(doc["orgs"][profile])
        rows.append(
            {
                "name": profile,
                "default": profile == default,
                "flow": _flow_of(table),
                "username": table.get("username", ""),
                "login_url": table.get("instance_url") or table.get("login_url") or DEFAULT_LOGIN_URL,
            }
        )
    if org is not None:
        rows = [r for r in rows if r["name"] == org]
        if not rows:
            raise fail(f"no org profile {org!r}", json_output=json_output)
    if json_output:
        emit_json(rows)
        return
    view = Table("", "name", "flow", "username", "login URL", title=f"orgs ({home / 'orgs.toml'})")
    for row in rows:
        view.add_row(
            "*" if row["default"] else "", row["name"], row["flow"], row["username"], row["login_url"]
        )
    stdout().print(view)


@org_app.command("remove", epilog=exit_codes_help())
@handle_errors
def remove(
    name: Annotated[str | None, typer.Argument(help="Profile name.")] = None,
    org: Annotated[str | None, typer.Option("--org", "-o", "--target-org", help="Profile name.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Remove an org profile.

    Example:
        $ kinetic org remove prod
    """
    profile = name or org
    if not profile:
        raise fail("give the profile name: kinetic org remove NAME", json_output=json_output)
    home = kinetic_home()
    if not remove_profile(profile, home):
        raise fail(f"no org profile {profile!r}", ExitCode.USAGE, json_output=json_output)
    org_login.forget_secrets(home, profile)
    if json_output:
        emit_json({"removed": profile})
    else:
        stderr().print(f"removed org {profile!r}", markup=False)


login_app.command("web", epilog=exit_codes_help(auth=True, api=True))(org_login.login_web)
login_app.command("device", epilog=exit_codes_help(auth=True, api=True))(org_login.login_device)
