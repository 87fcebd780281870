"""``resolve_org``: the one source an org's settings come from (see ``kinetic_core.config``)."""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from kinetic_core.config.org import (
    ENV_NAME,
    ENV_VARS,
    FIELD_NAMES,
    LOCAL_ORG,
    ORG_FIELDS,
    SECRET_FIELDS,
    OrgConfig,
)
from kinetic_core.config.profiles import load_profiles
from kinetic_core.envfile import load_dotenv
from kinetic_core.errors import ConfigError
from kinetic_core.home import kinetic_home

logger = logging.getLogger(__name__)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_CREDENTIALS_HINT = (
    "credentials (username + password, private_key_path, refresh_token, client_id + client_secret, "
    "or instance_url + access_token)"
)
_CREDENTIALS_ENV_HINT = (
    "credentials (SF_USERNAME + SF_PASSWORD, SF_PRIVATE_KEY_PATH, SF_REFRESH_TOKEN, SF_CLIENT_ID + "
    "SF_CLIENT_SECRET, or SF_INSTANCE_URL + SF_ACCESS_TOKEN)"
)


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


def _describe_missing(config: OrgConfig, env_names: bool) -> str:
    def one(name: str) -> str:
        if name == "credentials":
            return _CREDENTIALS_ENV_HINT if env_names else _CREDENTIALS_HINT
        return ENV_NAME.get(name, name) if env_names else name

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
        if key not in FIELD_NAMES:
            raise ConfigError(f"{where}: unknown setting {key!r}")
        if value is None or value == "":
            continue
        changes[key] = _coerce(key, value, where)
    return replace(base, **changes)


def _from_env(env: Mapping[str, str]) -> dict[str, str]:
    return {ENV_VARS[k]: v for k, v in env.items() if k in ENV_VARS and v != ""}


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
            if target not in FIELD_NAMES:
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
    if ORG_FIELDS & {k for k, v in extra.items() if v not in (None, "")}:
        return _complete(_apply(OrgConfig(source="the arguments"), extra, "arguments"), env_names=False)
    dotenv_path = (cwd or Path.cwd()) / ".env"
    dotenv = load_dotenv(dotenv_path.parent)
    from_env, from_dotenv = _from_env(env), _from_env(dotenv)
    candidates = (
        ("the environment (SF_* variables)", env, from_env),
        (f"{dotenv_path}", dotenv, from_dotenv),
    )
    for label, raw, values in candidates:
        if not ORG_FIELDS & set(values):
            continue
        typos = _misspelled(raw)
        if typos:
            raise ConfigError(f"the org settings from {label} have unknown variables: {', '.join(typos)}")
        if raw is env and ORG_FIELDS & set(from_dotenv):
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
