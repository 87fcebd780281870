"""Org configuration: environment variables, a ``.env`` file, ``~/.kinetic/orgs.toml`` profiles, ``local``.

Resolution (``resolve_org``). An org's settings come from exactly one source, never a mix of two
(a ``.env`` in the working directory must not be able to send credentials exported in the
environment to a login URL of its choosing):

* ``org=None``: keyword arguments that name an org (login URL or any credential); else the ``SF_*``
  environment variables if any of them names an org; else the ``SF_*`` lines of ``.env`` in the working
  directory; else the ``default`` profile of ``orgs.toml``; else the built-in ``local`` org (logged at
  INFO with its data dir). The chosen source must be complete: a partial one (``SF_USERNAME`` without
  ``SF_PASSWORD``, a login URL alone, a misspelled ``SF_USERNAM``) is a ``ConfigError`` naming the
  source and what is missing, never a fall-back to the local org.
* ``org="local"``: the built-in emulator org (see ``kinetic_core.localorg``).
* ``org="<name>"``: the ``[orgs.<name>]`` table of ``orgs.toml``. A profile does not read ``SF_*``
  variables (they may belong to another org), except the secrets it names with ``<field>_env`` keys.
* Keyword arguments that only tune (API version, TLS settings) apply over the chosen source.

``OrgConfig.source`` names the source; the CLI prints it on stderr and every ``ConfigError`` names it.

The flow follows from what is set: private key -> JWT bearer; username + password -> password;
refresh token -> refresh token; client id + secret alone -> client credentials; instance URL +
access token -> static session. When a session *and* credentials are set, the session is used first
and renewed with the credentials.

The Kinetic home (``~/.kinetic``) moves with the ``KINETIC_HOME`` environment variable.
"""

from __future__ import annotations

from kinetic_core.config.org import (
    DEFAULT_API_VERSION,
    DEFAULT_LOGIN_URL,
    ENV_VARS,
    LOCAL_ORG,
    SECRET_FIELDS,
    OrgConfig,
)
from kinetic_core.config.profiles import list_profiles, load_profiles, remove_profile, save_profile
from kinetic_core.config.resolve import resolve_org
from kinetic_core.envfile import load_dotenv, parse_dotenv
from kinetic_core.home import kinetic_home

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_LOGIN_URL",
    "ENV_VARS",
    "LOCAL_ORG",
    "SECRET_FIELDS",
    "OrgConfig",
    "kinetic_home",
    "list_profiles",
    "load_dotenv",
    "load_profiles",
    "parse_dotenv",
    "remove_profile",
    "resolve_org",
    "save_profile",
]
