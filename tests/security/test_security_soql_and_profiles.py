"""Hostile values cannot change a query built with ``soql()``; profiles are readable only by their owner."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinetic_core.client import SalesforceClient
from kinetic_core.config import save_profile
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.rest.soql import select, soql

HOSTILE = [
    "' OR Name != '",
    "x' OR Id != null OR Name = 'x",
    "\\' OR Name LIKE '%",
    "\\",
    "\\\\'",
    "'; DELETE FROM Account; --",
    "%",
    "_",
    '"',
    "a\nb\r\tc",
    "') OR (Name != '",
    "Ünïcødé ✓ 漢字 🚀",
    "{} {{ }}",
    "null",
    "NULL' OR Name = null OR Name = 'x",
]


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalOrg, SalesforceClient]]:
    root = tmp_path_factory.mktemp("fuzz")
    with LocalOrg(data_dir=root / "org") as org:
        client = SalesforceClient.connect(
            login_url=org.login_url,
            client_id=org.client_id,
            client_secret=org.client_secret,
            username=org.username,
            password=org.password,
            environ={},
            cwd=root,
            home=root / "home",
        )
        with client:
            for decoy in ("decoy", "x", "a", "%", "Name", "' OR '1'='1"):
                org.org.store.insert("Account", {"Name": decoy})
            yield org, client


def _check(org: LocalOrg, client: SalesforceClient, hostile: str) -> None:
    record_id = org.org.store.insert("Account", {"Name": hostile})
    query = soql("SELECT Id, Name FROM Account WHERE Name = {}", hostile)
    rows = list(client.query(query))
    store = org.org.store
    with store.read() as conn:
        table = store.schema.get("Account").table  # type: ignore[union-attr]
        # SOQL's = on text is case-insensitive (the emulator folds ASCII letters, as SQLite's NOCASE does)
        expected = {
            str(r[0])
            for r in conn.execute(
                f'SELECT id FROM "{table}" WHERE isdeleted = 0 AND name = ? COLLATE NOCASE', (hostile,)
            )
        }
    assert record_id in expected
    assert {r["Id"] for r in rows} == expected, f"query {query!r} returned {[r['Name'] for r in rows]}"
    assert all(r["Name"].lower() == hostile.lower() for r in rows)
    helper = select("Account", ["Id"], "Name = {} AND Name != {}", hostile, hostile + "!")
    assert {r["Id"] for r in client.query(helper)} == expected
    assert client.count("Account", "Name = {}", hostile) == len(expected)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_known_hostile_strings(fuzz_client: tuple[LocalOrg, SalesforceClient], hostile: str) -> None:
    _check(*fuzz_client, hostile)


names = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("'\"\\%_(){}\n\r\t ;-=!<>,.*")),
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"),
    ),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() == s and s.strip() != "")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile=names)
def test_fuzzed_strings_match_exactly_their_rows(
    fuzz_client: tuple[LocalOrg, SalesforceClient], hostile: str
) -> None:
    _check(*fuzz_client, hostile)


@pytest.mark.parametrize("name", ["Account WHERE Id != null", "Name, (SELECT Id FROM Contacts)", "Id--", ""])
def test_select_refuses_names_that_are_not_identifiers(name: str) -> None:
    with pytest.raises(ValueError):
        select("Account", [name])
    with pytest.raises(ValueError):
        select(name or " ", ["Id"])


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_profiles_file_is_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = save_profile("prod", {"username": "me@x.com", "password_env": "PROD_PW"}, tmp_path)
    finally:
        os.umask(old)
    assert _mode(path) & 0o077 == 0, f"{path} has mode {oct(_mode(path))}: readable by others"


def test_kinetic_org_login_writes_a_private_profile(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kinetic_core.cli import app

    home = tmp_path / "home"
    args = ["org", "login", "prod", "--client-id", "cid", "--username", "me@x.com"]
    args += ["--password-env", "PROD_PW", "--client-secret-env", "PROD_SECRET", "--no-check", "--json"]
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(
            app, args, env={"KINETIC_HOME": str(home), "PROD_PW": "CANARY-pw", "PROD_SECRET": "CANARY-s"}
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    path = home / "orgs.toml"
    assert path.is_file()
    assert _mode(path) & 0o077 == 0, f"{path} has mode {oct(_mode(path))}: readable by others"
    text = path.read_text(encoding="utf-8")
    assert "CANARY" not in text
    assert "CANARY" not in result.output
    assert "PROD_PW" in text
