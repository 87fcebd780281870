"""``kinetic doctor``: check an org the way an admin would before a bulk load.

Checks: connectivity and TLS, authentication, API version, the token's scopes, the user's API Enabled,
Bulk API Hard Delete, View All Data and Modify All Data permissions (from the user's Profile and every
assigned PermissionSet, read with SOQL), and the remaining daily limits. Each check passes or fails
with what to change in Salesforce Setup. Plain HTTP to this machine (a local emulator) is a note,
not a failure.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import typer
from rich.table import Table

from kinetic_core.cli.common import ExitCode, JsonOption, OrgOption, emit_json, handle_errors, stderr, stdout
from kinetic_core.client import SalesforceClient
from kinetic_core.config import resolve_org
from kinetic_core.errors import AuthenticationError, KineticError, SessionExpiredError, TransportError
from kinetic_core.rest.soql import soql as build_soql

PERMISSIONS = (
    ("PermissionsApiEnabled", "API Enabled", "every API call"),
    ("PermissionsBulkApiHardDelete", "Bulk API Hard Delete", "--operation hard-delete"),
    ("PermissionsViewAllData", "View All Data", "exports that must see every record"),
    ("PermissionsModifyAllData", "Modify All Data", "updates and deletes of records the user does not own"),
)
LIMITS = ("DailyApiRequests", "DailyBulkApiBatches", "DailyBulkV2QueryJobs", "DailyBulkV2QueryFileStorageMB")
LOW_LIMIT = 0.10
"""A daily limit fails below this share of its maximum."""


@dataclass(frozen=True)
class Check:
    """One doctor finding."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    note: bool = False
    """A passing check worth reading (plain HTTP to a local emulator, say)."""

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "note": self.note, "detail": self.detail, "fix": self.fix}

    @property
    def label(self) -> str:
        """PASS, NOTE or FAIL, with rich colour markup."""
        return "[red]FAIL[/]" if not self.ok else "[yellow]NOTE[/]" if self.note else "[green]PASS[/]"


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (where only a local emulator answers plain HTTP).

    Example:
        >>> is_loopback("http://127.0.0.1:8555"), is_loopback("http://acme.my.salesforce.com")
        (True, False)
    """
    host = urllib.parse.urlsplit(url).hostname or ""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _transport_check(url: str, local: bool) -> Check:
    name = "connectivity and TLS"
    if url.startswith("https://"):
        return Check(name, True, f"{url} reachable over TLS, certificate verified")
    if local or is_loopback(url):
        return Check(
            name,
            True,
            f"{url} reachable over plain HTTP: a local emulator on this machine (a Salesforce org "
            "is always https)",
            note=True,
        )
    return Check(name, False, f"{url} reachable (plain HTTP)", "use an https:// login and instance URL")


def _connect_checks(client: SalesforceClient, local: bool) -> list[Check]:
    checks = [_transport_check(client.instance_url, local)]
    token = client.http.token
    checks.append(
        Check("authentication", True, f"{client.http.auth.flow} flow, user id {token.user_id or '?'}")
    )
    return checks


def _version_check(client: SalesforceClient) -> Check:
    versions = client.http.request("GET", f"{client.instance_url}/services/data", retry=True).json()
    names = [str(v.get("version")) for v in versions if isinstance(v, Mapping)]
    latest = max(names, key=float) if names else "?"
    ok = client.api_version in names
    return Check(
        "API version",
        ok,
        f"using v{client.api_version}; the org serves up to v{latest}",
        "" if ok else f"set api_version to one the org serves (latest: {latest})",
    )


def _scope_check(client: SalesforceClient) -> Check:
    scopes = client.http.token.scope.split()
    if not scopes:
        return Check(
            "token scopes", True, "the token lists no scopes (this flow does not report them); API calls work"
        )
    ok = bool({"api", "full"} & set(scopes))
    return Check(
        "token scopes",
        ok,
        "scopes: " + " ".join(scopes),
        "" if ok else "add 'Manage user data via APIs (api)' to the connected app's OAuth scopes",
    )


def _permission_checks(client: SalesforceClient) -> list[Check]:
    user_id = client.http.token.user_id
    if not user_id:
        return [
            Check(
                "user permissions", False, "the session does not name its user", "log in with an OAuth flow"
            )
        ]
    user = client.query_one(
        build_soql(
            "SELECT Username, Profile.Name, "
            + ", ".join(f"Profile.{p}" for p, _, _ in PERMISSIONS)
            + " FROM User WHERE Id = {}",
            user_id,
        )
    )
    if user is None:
        return [
            Check("user permissions", False, f"user {user_id} not found", "check the user's access to User")
        ]
    profile = user.get("Profile") or {}
    granted = {p: bool(profile.get(p)) for p, _, _ in PERMISSIONS}
    sources = {p: [f"profile {profile.get('Name')}"] if granted[p] else [] for p, _, _ in PERMISSIONS}
    assignments = client.query(
        build_soql(
            "SELECT PermissionSet.Name, PermissionSet.IsOwnedByProfile, "
            + ", ".join(f"PermissionSet.{p}" for p, _, _ in PERMISSIONS)
            + " FROM PermissionSetAssignment WHERE AssigneeId = {}",
            user_id,
        )
    )
    for row in assignments:
        pset = row.get("PermissionSet") or {}
        for p, _, _ in PERMISSIONS:
            if pset.get(p) and not granted[p]:
                granted[p] = True
                sources[p].append(f"permission set {pset.get('Name')}")
    checks = []
    for perm, label, needed_for in PERMISSIONS:
        ok = granted[perm]
        where = ", ".join(sources[perm]) if ok else f"not granted to {user.get('Username')}"
        checks.append(
            Check(
                label,
                ok,
                f"{where} (needed for {needed_for})",
                ""
                if ok
                else f"Setup > Permission Sets > New (or the user's profile '{profile.get('Name')}') > "
                f"System Permissions > enable '{label}', then assign it to {user.get('Username')}",
            )
        )
    return checks


def _limit_checks(client: SalesforceClient) -> list[Check]:
    values = client.limits()
    checks = []
    for name in LIMITS:
        entry = values.get(name)
        if not isinstance(entry, Mapping):
            continue
        top, left = int(entry.get("Max") or 0), int(entry.get("Remaining") or 0)
        ok = top == 0 or left >= top * LOW_LIMIT
        checks.append(
            Check(
                f"limit {name}",
                ok,
                f"{left:,} of {top:,} left",
                ""
                if ok
                else "wait for the rolling 24-hour window to free up, or ask Salesforce to raise the limit",
            )
        )
    return checks


def run_checks(org: str | None) -> list[Check]:
    """Every check for ``org``; stops early when the org cannot be reached or refuses the login."""
    config = resolve_org(org)
    where = "built-in local emulator" if config.local else config.source or config.login_url
    stderr().print(f"org: {config.name} ({where})", markup=False)
    try:
        client = SalesforceClient.connect(org)
    except KineticError as exc:
        return [Check("configuration", False, str(exc), "fix the org profile: kinetic org login")]
    try:
        try:
            checks = _connect_checks(client, config.local)
        except TransportError as exc:
            return [
                Check("connectivity and TLS", False, str(exc), "check the login URL, proxy and CA bundle")
            ]
        except (AuthenticationError, SessionExpiredError) as exc:
            return [
                Check("connectivity and TLS", True, f"{config.login_url} answered"),
                Check(
                    "authentication",
                    False,
                    str(exc),
                    "check the connected app (consumer key, secret, certificate for JWT, 'Admin approved "
                    "users are pre-authorized' + profile access), the username, password and security token",
                ),
            ]
        for step in (_version_check, _scope_check):
            checks.append(step(client))
        checks += _permission_checks(client)
        checks += _limit_checks(client)
        return checks
    finally:
        client.close()


@handle_errors
def doctor(org: OrgOption = None, json_output: JsonOption = False) -> None:
    """Check the org before a bulk load: connectivity, auth, version, scopes, permissions, limits.

    Each check is PASS, NOTE (passes, worth knowing) or FAIL with what to change in Setup.

    Example:
        $ kinetic doctor --org prod
    """
    checks = run_checks(org)
    if json_output:
        emit_json({"ok": all(c.ok for c in checks), "checks": [c.to_dict() for c in checks]})
    else:
        table = Table("", "check", "detail", "what to change")
        for c in checks:
            table.add_row(c.label, c.name, c.detail, c.fix)
        stdout().print(table)
    if any(c.name == "authentication" and not c.ok for c in checks):
        raise typer.Exit(int(ExitCode.AUTH))
    if not all(c.ok for c in checks):
        raise typer.Exit(int(ExitCode.ROWS_FAILED))


__all__ = ["Check", "doctor", "run_checks"]
