"""Org configuration: environment variables, a ``.env`` file, ``~/.kinetic/orgs.toml`` profiles, ``local``.

Resolution (``resolve_org``):

* ``org=None``: the ``SF_*`` environment variables, over a ``.env`` file in the working directory
  (the environment wins); if neither names any credential, the ``default`` profile of ``orgs.toml``
  if it has one, else the built-in ``local`` org.
* ``org="local"``: the built-in emulator org (see ``kinetic_core.rest.local``).
* ``org="<name>"``: the ``[orgs.<name>]`` table of ``orgs.toml``. A profile does not read ``SF_*``
  variables (they may belong to another org), except the secrets it names with ``<field>_env`` keys.
* Keyword overrides win over every source.

The flow follows from what is set: private key -> JWT bearer; username + password -> password;
refresh token -> refresh token; client id + secret alone -> client credentials; instance URL +
access token -> static session. When a session *and* credentials are set, the session is used first
and renewed with the credentials.

The Kinetic home (``~/.kinetic``) moves with the ``KINETIC_HOME`` environment variable.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
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
from kinetic_core.errors import ConfigError

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
_CREDENTIAL_FIELDS = frozenset(
    {
        "client_id",
        "username",
        "private_key_path",
        "private_key",
        "refresh_token",
        "instance_url",
        "access_token",
    }
)
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


def _unquote(raw: str, path: Path, lineno: int) -> str:
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        end = raw.find(quote, 1)
        if quote == '"':
            end = 1
            while end < len(raw) and raw[end] != '"':
                end += 2 if raw[end] == "\\" else 1
        if end >= len(raw) or end < 1:
            raise ConfigError(f"{path}:{lineno}: unterminated quoted value")
        rest = raw[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise ConfigError(f"{path}:{lineno}: unexpected text after the quoted value")
        inner = raw[1:end]
        if quote == "'":
            return inner
        escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}
        return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), "\\" + m.group(1)), inner)
    value = re.split(r"\s+#", raw, maxsplit=1)[0]
    return value.strip()


def parse_dotenv(text: str, path: Path = Path(".env")) -> dict[str, str]:
    """Parse ``.env`` text: ``KEY=value`` lines, optional ``export``, ``#`` comments, quoted values.

    Single quotes are literal; double quotes understand ``\\n \\t \\r \\" \\\\``. Any other line is an
    error naming the file and line (never its value).

    Example:
        >>> parse_dotenv('export SF_USERNAME=me@x.com  # me\\nSF_PASSWORD="p#w"\\n')
        {'SF_USERNAME': 'me@x.com', 'SF_PASSWORD': 'p#w'}
    """
    values: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        key, sep, raw = stripped.partition("=")
        key = key.strip()
        if not sep or not _KEY.fullmatch(key):
            raise ConfigError(f"{path}:{lineno}: expected KEY=value")
        values[key] = _unquote(raw.strip(), path, lineno)
    return values


def load_dotenv(directory: Path) -> dict[str, str]:
    """The variables of ``directory/.env``; empty when there is no such file."""
    path = directory / ".env"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return parse_dotenv(text, path)


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
        if key.endswith("_env"):
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
        ConfigError: unknown profile, malformed ``.env``/``orgs.toml``, unknown override.

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
        return _apply(_profile(org, load_profiles(home), env, home), extra, "overrides")
    dotenv = load_dotenv(cwd or Path.cwd())
    merged = {**_from_env(dotenv), **_from_env(env)}
    if _CREDENTIAL_FIELDS & (set(merged) | {k for k, v in extra.items() if v}):
        sources = [s for s, d in (("environment", _from_env(env)), (".env", _from_env(dotenv))) if d]
        base = _apply(OrgConfig(source=" + ".join(sources) or "overrides"), merged, "environment")
        return _apply(base, extra, "overrides")
    doc = load_profiles(home)
    default = doc.get("default")
    if isinstance(default, str) and default != LOCAL_ORG:
        return _apply(_profile(default, doc, env, home), extra, "overrides")
    base = OrgConfig(name=LOCAL_ORG, source="built-in local org", local=True)
    return _apply(base, {**merged, **extra}, "overrides")


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
    ``<field>_env`` keys (e.g. ``password_env = "PROD_PASSWORD"``).

    Example:
        >>> save_profile("prod", {"login_url": "https://login.salesforce.com", "username": "me@x.com",
        ...                       "password_env": "PROD_PW"}, Path("/tmp/kh"))  # doctest: +SKIP
    """
    if not _KEY.fullmatch(name) or name == LOCAL_ORG:
        raise ConfigError(f"invalid profile name {name!r}")
    for key in values:
        base_key = key[: -len("_env")] if key.endswith("_env") else key
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
