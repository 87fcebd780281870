"""Who may log in with a username and password: the rule shared by the login calls.

The emulated org has one password and one security token for all of its users
(``OrgSettings.password`` and ``OrgSettings.security_token``, listed in ``emulator.json``).
[I] A login is accepted with the password alone or with the password followed by the security
token, as Salesforce does for a caller inside the org's trusted IP ranges; the emulator treats
every caller as trusted. An unknown or inactive user and a wrong password are refused alike.

This module knows no HTTP: the SOAP ``login()`` call renders its answer.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kinetic_core.emulator.tokens import Session

if TYPE_CHECKING:
    from kinetic_core.emulator.org import Org

SOAP_SESSION_SCOPE = "api web full"
"""[I] The scope recorded for a session started by SOAP ``login()`` (such sessions are unrestricted)."""

_USER_FIELDS = [
    "Id",
    "Username",
    "Email",
    "FirstName",
    "LastName",
    "Name",
    "IsActive",
    "ProfileId",
    "TimeZoneSidKey",
    "LocaleSidKey",
    "LanguageLocaleKey",
    "UserType",
]


class LoginRefused(Exception):
    """The credentials do not open a session (Salesforce answers ``INVALID_LOGIN``)."""


@dataclass(frozen=True)
class Login:
    """A granted login: the new session and the user record it belongs to."""

    session: Session
    user: dict[str, Any]


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def password_matches(org: Org, password: str) -> bool:
    """Whether ``password`` is the org's password, with or without the security token appended.

    Example:
        >>> password_matches(org, "kinetic" + "kineticToken")  # doctest: +SKIP
        True
    """
    s = org.settings
    return _same(password, s.password) or _same(password, s.password + s.security_token)


def user_record(org: Org, user_id: str) -> dict[str, Any]:
    """The fields of a User that login results report."""
    return org.store.get("User", user_id, _USER_FIELDS)


def password_login(org: Org, username: str, password: str, *, scope: str = SOAP_SESSION_SCOPE) -> Login:
    """Check a username and password and start a session for that user.

    Raises:
        LoginRefused: unknown or inactive user, or wrong password.

    Example:
        >>> login = password_login(org, "admin@kinetic.local", "kinetickineticToken")  # doctest: +SKIP
        >>> login.session.token[:3]  # doctest: +SKIP
        '00D'
    """
    found = org.store.user_by_username(username) if username else None
    if found is None or not password_matches(org, password):
        raise LoginRefused(username)
    user = user_record(org, str(found["Id"]))
    if user.get("IsActive") is False:
        raise LoginRefused(username)
    session = org.tokens.issue_access(
        str(user["Id"]), str(user["Username"]), scope, ttl_seconds=org.settings.token_ttl_seconds
    )
    return Login(session, user)


__all__ = ["SOAP_SESSION_SCOPE", "Login", "LoginRefused", "password_login", "password_matches", "user_record"]
