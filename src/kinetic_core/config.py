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
* ``org="local"``: the built-in emulator org (see ``kinetic_core.rest.local``).
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

import difflib
import logging
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kinetic_core.auth import (
    Authenticator,
    AuthFlow,
    ClientCredentialsAuth,
    JwtBearerAuth,
    PasswordAuth,
    RefreshTokenAuth,
    SeededAuth,
    StaticTokenAuth,
    Token,
)
from kinetic_core.envfile import load_dotenv as load_dotenv
from kinetic_core.envfile import parse_dotenv as parse_dotenv
from kinetic_core.errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_API_VERSION = "62.0"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
LOCAL_ORG = "local"

ENV_VARS: Mapping[str, str] = {
    "SF_LOGIN_URL": "login_url",
    "SF_CLIENT_ID": "client_id",
    "SF_CLIENT_SECRET": "client_secret",
    "SF_USERNAME": "username",
    "SF_PASSWORD": "password",
    "SF_SECURITY_TOKEN": "security_token",
    "SF_PRIVATE_KEY_PATH": "private_key_path",
    "SF_PRIVATE_KEY": "private_key",
    "SF_REFRESH_TOKEN": "refresh_token",
    "SF_INSTANCE_URL": "instance_url",
    "SF_ACCESS_TOKEN": "access_token",
    "SF_API_VERSION": "api_version",
    "SF_CA_BUNDLE": "ca_bundle",
    "SF_VERIFY_TLS": "verify_tls",
}
"""Environment variable -> ``OrgConfig`` field."""

SECRET_FIELDS = frozenset(
    {"client_secret", "password", "security_token", "private_key", "refresh_token", "access_token"}
)
_TUNING_FIELDS = frozenset({"api_version", "ca_bundle", "verify_tls"})
_ORG_FIELDS = frozenset(ENV_VARS.values()) - _TUNING_FIELDS
"""Settings that say which org and who: any of them makes a source the org's one source."""
_ENV_NAME = {field_name: var for var, field_name in ENV_VARS.items()}
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class OrgConfig:
    """Everything needed to reach one org. Secret fields never show in ``repr``.

    Example:
        >>> cfg = OrgConfig(username="me@x.com", password="pw", client_id="id", client_secret="s")
        >>> cfg.flow, "pw" in repr(cfg)
        (<AuthFlow.PASSWORD: 'password'>, False)
    """

    name: str = "env"
    login_url: str = DEFAULT_LOGIN_URL
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    private_key_path: str | None = None
    private_key: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    instance_url: str | None = None
    access_token: str | None = field(default=None, repr=False)
    api_version: str = DEFAULT_API_VERSION
    ca_bundle: str | None = None
    verify_tls: bool = True
    source: str = ""
    local: bool = False

    @property
    def flow(self) -> AuthFlow | None:
        """The OAuth flow the settings select; None for ``local`` or when nothing usable is set."""
        if self.local:
            return None
        if self.private_key or self.private_key_path:
            return AuthFlow.JWT
        if self.username and self.password:
            return AuthFlow.PASSWORD
        if self.refresh_token:
            return AuthFlow.REFRESH_TOKEN
        if self.client_id and self.client_secret:
            return AuthFlow.CLIENT_CREDENTIALS
        if self.instance_url and self.access_token:
            return AuthFlow.STATIC
        return None

    def missing(self) -> list[str]:
        """The settings this configuration lacks (field names); empty when complete or local.

        Example:
            >>> OrgConfig(username="me@x.com", client_id="id").missing()
            ['password']
        """
        if self.local:
            return []
        flow = self.flow
        keyed = bool(self.private_key or self.private_key_path)
        rules = [
            (bool(self.password) and not self.username, "username"),
            (bool(self.security_token) and not self.password, "password"),
            (
                bool(self.username)
                and not (self.password or keyed or self.refresh_token or self.access_token),
                "password",
            ),
            (bool(self.access_token) and not self.instance_url, "instance_url"),
            (bool(self.instance_url) and not self.access_token and flow is None, "access_token"),
            (bool(self.client_secret) and not self.client_id, "client_id"),
            (
                not self.client_id
                and (
                    flow in (AuthFlow.JWT, AuthFlow.PASSWORD, AuthFlow.REFRESH_TOKEN)
                    or (flow is None and bool(self.username or self.password))
                ),
                "client_id",
            ),
            (flow is AuthFlow.JWT and not self.username, "username"),
        ]
        needed = list(dict.fromkeys(name for broken, name in rules if broken))
        if flow is None and not needed:
            needed.append("credentials")
        return needed

    @property
    def verify(self) -> bool | str:
        """The TLS verification setting: a CA bundle path, or True/False."""
        if not self.verify_tls:
            return False
        return self.ca_bundle or True

    def authenticator(self) -> Authenticator:
        """The OAuth flow object for these settings.

        Raises:
            ConfigError: nothing usable is configured, or the chosen flow lacks a value.
        """
        flow = self.flow
        if flow is None:
            raise ConfigError(
                f"org {self.name!r} ({self.source or 'no source'}) has no usable credentials: set a "
                "private key, username + password, a refresh token, client id + secret, or instance URL + "
                "access token"
            )

        def need(*names: str) -> None:
            missing = [n for n in names if not getattr(self, n)]
            if missing:
                env = {v: k for k, v in ENV_VARS.items()}
                raise ConfigError(
                    f"the {flow} flow of org {self.name!r} needs "
                    + ", ".join(f"{n} ({env.get(n, n)})" for n in missing)
                )

        auth: Authenticator
        if flow is AuthFlow.STATIC:
            assert self.instance_url is not None
            assert self.access_token is not None
            return StaticTokenAuth(self.instance_url, self.access_token)
        if flow is AuthFlow.JWT:
            need("client_id", "username")
            auth = JwtBearerAuth(
                self.login_url,
                str(self.client_id),
                str(self.username),
                private_key=self.private_key.replace("\\n", "\n") if self.private_key else None,
                private_key_path=self.private_key_path,
            )
        elif flow is AuthFlow.PASSWORD:
            need("client_id")
            auth = PasswordAuth(
                self.login_url,
                str(self.client_id),
                self.client_secret,
                str(self.username),
                str(self.password),
                self.security_token,
            )
        elif flow is AuthFlow.REFRESH_TOKEN:
            need("client_id")
            auth = RefreshTokenAuth(
                self.login_url, str(self.client_id), str(self.refresh_token), client_secret=self.client_secret
            )
        else:
            auth = ClientCredentialsAuth(self.login_url, str(self.client_id), str(self.client_secret))
        if self.instance_url and self.access_token:
            return SeededAuth(auth, Token(self.access_token, self.instance_url.rstrip("/")))
        return auth


def kinetic_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$KINETIC_HOME`` if set, else ``~/.kinetic``.

    Example:
        >>> kinetic_home({"KINETIC_HOME": "/tmp/k"})
        PosixPath('/tmp/k')
    """
    env = os.environ if environ is None else environ
    value = env.get("KINETIC_HOME")
    return Path(value).expanduser() if value else Path.home() / ".kinetic"


def _coerce(name: str, value: Any, where: str) -> Any:
    if name == "verify_tls":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{where}: verify_tls must be true or false")
    if name in ("local",):
        return bool(value)
    if value is None:
        return None
    if not isinstance(value, str | int | float | Path):
        raise ConfigError(f"{where}: {name} must be a string")
    text = str(value)
    if name == "api_version":
        text = text.lstrip("vV")
    if name in ("login_url", "instance_url"):
        text = text.rstrip("/")
    return text


_FIELD_NAMES = frozenset(f.name for f in fields(OrgConfig)) - {"name", "source", "local"}
_CREDENTIALS_HINT = (
    "credentials (username + password, private_key_path, refresh_token, client_id + client_secret, "
    "or instance_url + access_token)"
)
_CREDENTIALS_ENV_HINT = (
    "credentials (SF_USERNAME + SF_PASSWORD, SF_PRIVATE_KEY_PATH, SF_REFRESH_TOKEN, SF_CLIENT_ID + "
    "SF_CLIENT_SECRET, or SF_INSTANCE_URL + SF_ACCESS_TOKEN)"
)


def _describe_missing(config: OrgConfig, env_names: bool) -> str:
    def one(name: str) -> str:
        if name == "credentials":
            return _CREDENTIALS_ENV_HINT if env_names else _CREDENTIALS_HINT
        return _ENV_NAME.get(name, name) if env_names else name

    return ", ".join(one(n) for n in config.missing())


def _complete(config: OrgConfig, *, env_names: bool) -> OrgConfig:
    """``config`` when it names a usable org; else a ConfigError naming its source and what is missing."""
    if config.missing():
        raise ConfigError(
            f"the org settings from {config.source} are incomplete: missing "
            f"{_describe_missing(config, env_names)} (settings are never combined from two sources)"
        )
    return config


def _misspelled(names: Iterable[str]) -> list[str]:
    """``SF_*`` names one or two letters away from a Kinetic variable, e.g. ``SF_USERNAM``."""
    found = []
    for name in sorted(names):
        if not name.startswith("SF_") or name in ENV_VARS:
            continue
        for known in ENV_VARS:
            close = difflib.SequenceMatcher(None, name, known).ratio() >= 0.8
            if close and abs(len(name) - len(known)) <= 2:
                found.append(f"{name} (did you mean {known}?)")
                break
    return found


def _apply(base: OrgConfig, values: Mapping[str, Any], where: str) -> OrgConfig:
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in _FIELD_NAMES:
            raise ConfigError(f"{where}: unknown setting {key!r}")
        if value is None or value == "":
            continue
        changes[key] = _coerce(key, value, where)
    return replace(base, **changes)


def _from_env(env: Mapping[str, str]) -> dict[str, str]:
    return {ENV_VARS[k]: v for k, v in env.items() if k in ENV_VARS and v != ""}


def load_profiles(home: Path) -> dict[str, Any]:
    """The parsed ``orgs.toml`` of a Kinetic home (empty when absent)."""
    path = home / "orgs.toml"
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _read_secret_file(path: Path, where: str) -> str:
    """A secret kept in its own file (an interactive login's refresh token), surrounding blanks removed."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {path}: {exc.strerror}") from None
    if not text:
        raise ConfigError(f"{where}: {path} is empty")
    return text


def _profile(name: str, doc: Mapping[str, Any], env: Mapping[str, str], home: Path) -> OrgConfig:
    orgs = doc.get("orgs", {})
    table = orgs.get(name) if isinstance(orgs, Mapping) else None
    if not isinstance(table, Mapping):
        known = ", ".join(sorted(orgs)) if isinstance(orgs, Mapping) else ""
        raise ConfigError(
            f"no org profile {name!r} in {home / 'orgs.toml'} (known: {known or 'none'}; built-in: local)"
        )
    where = f"{home / 'orgs.toml'} [orgs.{name}]"
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key.endswith("_file") and key[: -len("_file")] in SECRET_FIELDS:
            values[key[: -len("_file")]] = _read_secret_file(Path(str(value)).expanduser(), f"{where} {key}")
        elif key.endswith("_env"):
            target = key[: -len("_env")]
            if target not in _FIELD_NAMES:
                raise ConfigError(f"{where}: unknown setting {key!r}")
            if str(value) not in env:
                raise ConfigError(f"{where}: {key} names {value!r}, which is not set")
            values[target] = env[str(value)]
        else:
            values[key] = value
    return _apply(OrgConfig(name=name, source=where), values, where)


def resolve_org(
    org: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    home: Path | None = None,
) -> OrgConfig:
    """Resolve the configuration of ``org`` (see the module docstring for the order).

    Raises:
        ConfigError: unknown profile, malformed ``.env``/``orgs.toml``, unknown override, or a source
            that names an org incompletely (the message names the source and what is missing).

    Example:
        >>> resolve_org(environ={"SF_INSTANCE_URL": "https://a.my.salesforce.com", "SF_ACCESS_TOKEN": "t"},
        ...             cwd=Path("/nonexistent")).flow
        <AuthFlow.STATIC: 'static'>
    """
    env = dict(os.environ if environ is None else environ)
    home = home or kinetic_home(env)
    extra = dict(overrides or {})
    if org == LOCAL_ORG:
        base = OrgConfig(name=LOCAL_ORG, source="built-in local org", local=True)
        return _apply(base, extra, "overrides")
    if org is not None:
        profile = _apply(_profile(org, load_profiles(home), env, home), extra, "overrides")
        return _complete(profile, env_names=False)
    if _ORG_FIELDS & {k for k, v in extra.items() if v not in (None, "")}:
        return _complete(_apply(OrgConfig(source="the arguments"), extra, "arguments"), env_names=False)
    dotenv_path = (cwd or Path.cwd()) / ".env"
    dotenv = load_dotenv(dotenv_path.parent)
    from_env, from_dotenv = _from_env(env), _from_env(dotenv)
    candidates = (
        ("the environment (SF_* variables)", env, from_env),
        (f"{dotenv_path}", dotenv, from_dotenv),
    )
    for label, raw, values in candidates:
        if not _ORG_FIELDS & set(values):
            continue
        typos = _misspelled(raw)
        if typos:
            raise ConfigError(f"the org settings from {label} have unknown variables: {', '.join(typos)}")
        if raw is env and _ORG_FIELDS & set(from_dotenv):
            logger.warning("%s is ignored: the environment's SF_* variables name the org", dotenv_path)
        config = _apply(OrgConfig(source=label), values, label)
        return _complete(_apply(config, extra, "arguments"), env_names=True)
    typos = _misspelled(env) + _misspelled(dotenv)
    if typos:
        raise ConfigError(
            f"no org is configured, but these look like misspelled settings: {', '.join(typos)} "
            f"(in the environment or {dotenv_path}); fix or unset them"
        )
    doc = load_profiles(home)
    default = doc.get("default")
    if isinstance(default, str) and default != LOCAL_ORG:
        return _complete(_apply(_profile(default, doc, env, home), extra, "overrides"), env_names=False)
    logger.info(
        "no org configured (no SF_* org settings in the environment or %s, no default profile in %s): "
        "using the built-in local org, data in %s",
        dotenv_path,
        home / "orgs.toml",
        home / LOCAL_ORG,
    )
    base = OrgConfig(name=LOCAL_ORG, source="built-in local org", local=True)
    return _apply(base, {**from_dotenv, **from_env, **extra}, "overrides")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def save_profile(
    name: str, values: Mapping[str, Any], home: Path | None = None, *, default: bool = False
) -> Path:
    """Add or replace the ``[orgs.<name>]`` profile in ``orgs.toml``.

    Secret values are refused: store them in environment variables and reference them with
    ``<field>_env`` keys (e.g. ``password_env = "PROD_PASSWORD"``), or in a file of their own, readable by
    its owner only, referenced with ``<field>_file`` (what ``kinetic org login web|device`` does).

    Example:
        >>> save_profile("prod", {"login_url": "https://login.salesforce.com", "username": "me@x.com",
        ...                       "password_env": "PROD_PW"}, Path("/tmp/kh"))  # doctest: +SKIP
    """
    if not _KEY.fullmatch(name) or name == LOCAL_ORG:
        raise ConfigError(f"invalid profile name {name!r}")
    for key in values:
        base_key = key.removesuffix("_env")
        if key.endswith("_file") and key.removesuffix("_file") in SECRET_FIELDS:
            base_key = key.removesuffix("_file")
        if base_key not in _FIELD_NAMES:
            raise ConfigError(f"unknown setting {key!r}")
        if key in SECRET_FIELDS:
            raise ConfigError(f"refusing to write the secret {key!r} to a file: use {key}_env = 'VARIABLE'")
    home = home or kinetic_home()
    doc = dict(load_profiles(home))
    orgs = dict(doc.get("orgs", {}))
    orgs[name] = dict(values)
    doc["orgs"] = orgs
    if default:
        doc["default"] = name
    return _write_profiles(home, doc)


def remove_profile(name: str, home: Path | None = None) -> bool:
    """Remove a profile; True when it existed."""
    home = home or kinetic_home()
    doc = dict(load_profiles(home))
    orgs = dict(doc.get("orgs", {}))
    if name not in orgs:
        return False
    del orgs[name]
    doc["orgs"] = orgs
    if doc.get("default") == name:
        del doc["default"]
    _write_profiles(home, doc)
    return True


def list_profiles(home: Path | None = None) -> list[str]:
    """Names of the profiles in ``orgs.toml`` (the built-in ``local`` is not listed)."""
    orgs = load_profiles(home or kinetic_home()).get("orgs", {})
    return sorted(orgs) if isinstance(orgs, Mapping) else []


def _write_profiles(home: Path, doc: Mapping[str, Any]) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    lines = []
    if isinstance(doc.get("default"), str):
        lines.append(f"default = {_toml_value(doc['default'])}")
    for org_name, table in sorted(doc.get("orgs", {}).items()):
        lines += ["", f"[orgs.{org_name}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    path = home / "orgs.toml"
    text = "\n".join(lines).lstrip("\n") + "\n"
    # Readable by its owner only, from the first byte: created 0600, then replaced atomically.
    tmp = path.with_name(f".orgs.toml.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
