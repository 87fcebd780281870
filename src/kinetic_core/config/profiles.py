"""Org profiles in ``<Kinetic home>/orgs.toml``: read, add or replace, remove, list.

The file never holds a secret: a profile names the environment variable that holds it
(``password_env = "PROD_PASSWORD"``). It is written readable by its owner only, atomically.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kinetic_core.config.org import FIELD_NAMES, LOCAL_ORG, SECRET_FIELDS
from kinetic_core.errors import ConfigError
from kinetic_core.home import kinetic_home

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def load_profiles(home: Path) -> dict[str, Any]:
    """The parsed ``orgs.toml`` of a Kinetic home (empty when absent)."""
    path = home / "orgs.toml"
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return {}
    import tomllib  # only when there is a file to parse (a process configured by env vars has none)

    with fh:
        try:
            return tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None


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
        if base_key not in FIELD_NAMES:
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
