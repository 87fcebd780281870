"""Bad API calls and bad configuration, table-driven: each case expects one clear error.

API cases run through the public client against the shared emulator; a case either raises the
expected ``KineticError`` (or ``ValueError`` for a call refused before anything is sent) whose text names
the object, field or limit at fault, or returns per-row results in which the bad rows failed naming
the field and the good rows were saved. Configuration cases resolve a configuration and log in.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from reliability_helpers import store_keys

from kinetic_core import SalesforceClient
from kinetic_core.emulator.server import LocalOrg
from kinetic_core.errors import (
    ApiError,
    AuthenticationError,
    ConfigError,
    InvalidFieldError,
    KineticError,
    MalformedQueryError,
    NotFoundError,
    TransportError,
)


@dataclass(frozen=True)
class ApiCase:
    """A call that must fail clearly: ``raises`` (types) and ``names`` (regex on the message)."""

    id: str
    call: Callable[[SalesforceClient, LocalOrg, str], Any]
    raises: tuple[type[BaseException], ...]
    names: str


def _rows(prefix: str, n: int) -> list[dict[str, Any]]:
    return [{"Name": f"{prefix} {i}", "External_Id__c": f"{prefix}-{i}"} for i in range(1, n + 1)]


def _raw(client: SalesforceClient, method: str, suffix: str, **kw: Any) -> httpx.Response:
    return client.http.request(method, suffix, **kw)


API_CASES: list[ApiCase] = [
    ApiCase(
        "create-unknown-object",
        lambda c, o, p: c.create("Nope__c", {"Name": "x"}),
        (NotFoundError, ApiError),
        r"Nope__c",
    ),
    ApiCase(
        "describe-unknown-object",
        lambda c, o, p: c.describe("Nope__c"),
        (NotFoundError, ApiError),
        r"Nope__c",
    ),
    ApiCase(
        "bulk-insert-unknown-object",
        lambda c, o, p: c.bulk.insert("Nope__c", _rows(p, 3)),
        (ApiError,),
        r"Nope__c",
    ),
    ApiCase(
        "query-unknown-object",
        lambda c, o, p: list(c.query("SELECT Id FROM Nope__c")),
        (ApiError,),
        r"Nope__c",
    ),
    ApiCase(
        "object-name-injection",
        lambda c, o, p: c.create("Account/../../limits", {"Name": "x"}),
        (ValueError,),
        r"Account/\.\./\.\./limits",
    ),
    ApiCase(
        "broken-soql",
        lambda c, o, p: list(c.query("SELEC Id FROM Account")),
        (MalformedQueryError,),
        r"(?i)SELEC|unexpected|row:|column:",
    ),
    ApiCase(
        "soql-unknown-field",
        lambda c, o, p: list(c.query("SELECT Id, Nope__c FROM Account")),
        (InvalidFieldError,),
        r"Nope__c",
    ),
    ApiCase(
        "bulk-query-broken-soql",
        lambda c, o, p: list(c.bulk.query("SELECT Id FROM Account WHERE")),
        (ApiError,),
        r"(?i)unexpected|malformed|WHERE",
    ),
    ApiCase(
        "bulk-query-aggregate-refused",
        lambda c, o, p: list(c.bulk.query("SELECT COUNT(Id) FROM Account")),
        (ApiError,),
        r"(?i)aggregate|count",
    ),
    ApiCase(
        "rest-upsert-empty-external-id",
        lambda c, o, p: c.upsert("Account", "External_Id__c", "", {"Name": "x"}),
        (ValueError, ApiError),
        r"External_Id__c",
    ),
    ApiCase(
        "rest-upsert-unknown-external-id-field",
        lambda c, o, p: c.upsert("Account", "Nope__c", "k", {"Name": "x"}),
        (ApiError,),
        r"Nope__c",
    ),
    ApiCase(
        "rest-delete-without-id",
        lambda c, o, p: c.delete("Account", ""),
        (ValueError, ApiError),
        r"(?i)\bid\b",
    ),
    ApiCase(
        "composite-delete-without-ids",
        lambda c, o, p: _raw(c, "DELETE", "composite/sobjects"),
        (ApiError,),
        r"(?i)\bids?\b",
    ),
    ApiCase(
        "composite-over-200-records-by-hand",
        lambda c, o, p: _raw(
            c,
            "POST",
            "composite/sobjects",
            json={
                "allOrNone": False,
                "records": [{"attributes": {"type": "Account"}, **r} for r in _rows(p, 201)],
            },
        ),
        (ApiError,),
        r"200",
    ),
    ApiCase(
        "router-upsert-without-external-id-field",
        lambda c, o, p: c.load("Account", _rows(p, 2), operation="upsert"),
        (ValueError,),
        r"external_id",
    ),
    ApiCase(
        "bulk-upsert-unknown-external-id-field",
        lambda c, o, p: c.bulk.upsert("Account", _rows(p, 2), external_id_field="Nope__c"),
        (ApiError,),
        r"Nope__c",
    ),
    ApiCase(
        "query-locator-unknown",
        lambda c, o, p: _raw(c, "GET", "query/01gNOPE-2000"),
        (ApiError,),
        r"(?i)locator",
    ),
]


@pytest.mark.parametrize("case", API_CASES, ids=[c.id for c in API_CASES])
def test_bad_api_call(case: ApiCase, typed_org: LocalOrg, typed_client: SalesforceClient) -> None:
    prefix = f"ba-{case.id}"
    with pytest.raises(case.raises) as info:
        case.call(typed_client, typed_org, prefix)
    assert isinstance(info.value, KineticError | ValueError)
    assert re.search(case.names, str(info.value)), f"{case.id}: {type(info.value).__name__}: {info.value}"
    assert not store_keys(typed_org, "Account", prefix=prefix), f"{case.id}: rows were saved"


# -- per-row API cases: bad rows fail naming the field, good rows are saved, totals add up ----------
def test_upsert_batch_rows_without_external_id(typed_org: LocalOrg, typed_client: SalesforceClient) -> None:
    rows = _rows("ub", 4)
    del rows[1]["External_Id__c"]
    rows[2]["External_Id__c"] = ""
    results = typed_client.upsert_batch("Account", rows, "External_Id__c")
    assert len(results) == 4
    for bad in (1, 2):
        assert not results[bad].success
        text = " ".join(f"{e.code} {e.message} {e.fields}" for e in results[bad].errors)
        assert "External_Id__c" in text, text
    assert results[0].success
    assert results[3].success
    assert store_keys(typed_org, "Account", prefix="ub-") == {"ub-1": 1, "ub-4": 1}


def test_create_batch_201_records_is_chunked_and_every_row_answered(
    typed_org: LocalOrg, typed_client: SalesforceClient
) -> None:
    rows = _rows("cb", 201)
    rows[200]["Tier__c"] = "Platinum"
    results = typed_client.create_batch("Account", rows)
    assert [r.index for r in results] == list(range(201))
    assert sum(r.success for r in results) == 200
    assert not results[200].success
    assert "Tier__c" in str(results[200].errors)
    assert len(store_keys(typed_org, "Account", prefix="cb-")) == 200


def test_bulk_delete_rows_without_id(typed_org: LocalOrg, typed_client: SalesforceClient) -> None:
    keep = typed_org.org.store.insert("Account", {"Name": "del", "External_Id__c": "bd-1"})
    result = typed_client.bulk.delete("Account", [{"Id": keep}, {"Id": None}, {"Name": "no id"}])
    with result:
        assert (result.total, result.successful) == (3, 1)
        assert result.failed + result.unprocessed == 2
        bad = {
            r.row_number: f"{r.error_code} {r.error_message} {r.error_fields}" for r in result.failed_rows()
        }
    assert set(bad) == {2, 3}
    assert all(re.search(r"(?i)\bid\b", text) for text in bad.values()), bad
    assert not store_keys(typed_org, "Account", prefix="bd-")


def test_router_rest_load_keeps_going_after_a_bad_row(
    typed_org: LocalOrg, typed_client: SalesforceClient
) -> None:
    rows: list[dict[str, Any]] = _rows("rl", 3)
    rows[1]["Signed_On__c"] = "not a date"
    result = typed_client.load("Account", rows, strategy="rest")
    outcomes = list(result)
    assert [o.status for o in outcomes] == ["success", "failed", "success"]
    assert outcomes[1].row_number == 2
    assert store_keys(typed_org, "Account", prefix="rl-") == {"rl-1": 1, "rl-3": 1}


def test_composite_record_without_type_fails_that_record(typed_client: SalesforceClient) -> None:
    body = _raw(typed_client, "POST", "composite/sobjects", json={"records": [{"Name": "x"}]}).json()
    assert len(body) == 1
    assert body[0]["success"] is False
    assert re.search(r"(?i)type", body[0]["errors"][0]["message"])


# -- configuration ----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _key_pem(path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path


@dataclass(frozen=True)
class ConfigCase:
    """Settings given to ``SalesforceClient.connect`` and the error expected on first use."""

    id: str
    settings: Callable[[LocalOrg, Path], dict[str, Any]]
    raises: tuple[type[BaseException], ...]
    names: str


def _pw(org: LocalOrg) -> dict[str, Any]:
    return {
        "login_url": org.login_url,
        "client_id": org.client_id,
        "client_secret": org.client_secret,
        "username": org.username,
        "password": org.password,
    }


CONFIG_CASES: list[ConfigCase] = [
    ConfigCase(
        "missing-client-id",
        lambda o, t: {"environ": {"SF_USERNAME": "u@x.com", "SF_PASSWORD": "pw"}},
        (ConfigError,),
        r"SF_CLIENT_ID",
    ),
    ConfigCase(
        "jwt-missing-username",
        lambda o, t: {"environ": {"SF_CLIENT_ID": "x", "SF_PRIVATE_KEY_PATH": str(_key_pem(t / "k.pem"))}},
        (ConfigError,),
        r"SF_USERNAME",
    ),
    ConfigCase(
        "unreadable-private-key",
        lambda o, t: {
            "login_url": o.login_url,
            "client_id": o.client_id,
            "username": o.username,
            "private_key_path": str(t / "absent.pem"),
            "environ": {},
        },
        (ConfigError, AuthenticationError),
        r"absent\.pem",
    ),
    ConfigCase(
        "garbage-private-key",
        lambda o, t: {
            "login_url": o.login_url,
            "client_id": o.client_id,
            "username": o.username,
            "private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----",
            "environ": {},
        },
        (ConfigError, AuthenticationError),
        r"(?i)private key|JWT",
    ),
    ConfigCase(
        "wrong-private-key",
        lambda o, t: {
            "login_url": o.login_url,
            "client_id": o.client_id,
            "username": o.username,
            "private_key_path": str(_key_pem(t / "other.pem")),
            "environ": {},
        },
        (AuthenticationError,),
        r"invalid_grant",
    ),
    ConfigCase(
        "wrong-password",
        lambda o, t: {**_pw(o), "password": "not-it", "environ": {}},
        (AuthenticationError,),
        r"invalid_grant.*authentication failure",
    ),
    ConfigCase(
        "wrong-client-secret",
        lambda o, t: {**_pw(o), "client_secret": "nope", "environ": {}},
        (AuthenticationError,),
        r"invalid_client",
    ),
    ConfigCase(
        "wrong-login-url-nothing-listening",
        lambda o, t: {**_pw(o), "login_url": f"http://127.0.0.1:{_free_port()}", "environ": {}},
        (TransportError,),
        r"127\.0\.0\.1:\d+",
    ),
    ConfigCase(
        "wrong-login-url-not-a-token-endpoint",
        lambda o, t: {**_pw(o), "login_url": o.instance_url + "/services/data", "environ": {}},
        (AuthenticationError, ApiError),
        r"(?i)/services/data",
    ),
    ConfigCase(
        "expired-refresh-token",
        lambda o, t: {
            "login_url": o.login_url,
            "client_id": o.client_id,
            "refresh_token": "5Aep-expired-or-revoked",
            "environ": {},
        },
        (AuthenticationError,),
        r"invalid_grant.*expired",
    ),
    ConfigCase(
        "bad-verify-tls-value",
        lambda o, t: {
            "environ": {**dict.fromkeys(("SF_CLIENT_ID", "SF_USERNAME"), "x"), "SF_VERIFY_TLS": "perhaps"}
        },
        (ConfigError,),
        r"verify_tls",
    ),
    ConfigCase(
        "unknown-profile",
        lambda o, t: {"org": "nope", "environ": {}},
        (ConfigError,),
        r"nope",
    ),
]


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[c.id for c in CONFIG_CASES])
def test_bad_config(case: ConfigCase, typed_org: LocalOrg, tmp_path: Path) -> None:
    settings = case.settings(typed_org, tmp_path)
    org = settings.pop("org", None)

    def first_use() -> None:
        with SalesforceClient.connect(
            org, cwd=tmp_path, home=tmp_path / "home", sleep=lambda s: None, **settings
        ) as client:
            client.limits()

    with pytest.raises(case.raises) as info:
        first_use()
    assert re.search(case.names, str(info.value)), f"{case.id}: {type(info.value).__name__}: {info.value}"


def test_bad_dotenv_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SF_USERNAME=u@x.com\nthis is not a setting\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.env:2"):
        SalesforceClient.connect(environ={}, cwd=tmp_path, home=tmp_path / "home")
