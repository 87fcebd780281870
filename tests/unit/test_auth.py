"""OAuth flows: request building, JWT claims, Basic header, token parsing, secrets kept out of reprs."""

from __future__ import annotations

import base64
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kinetic_core.auth import (
    AuthFlow,
    ClientCredentialsAuth,
    JwtBearerAuth,
    PasswordAuth,
    RefreshTokenAuth,
    SeededAuth,
    StaticTokenAuth,
    Token,
    jwt_audience,
    parse_token_response,
)
from kinetic_core.auth.flows import rsa_key_consistent
from kinetic_core.errors import AuthenticationError, ConfigError, SessionExpiredError

NOW = 1_700_000_000.0


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_jwt_assertion_claims_and_signature(rsa_key: rsa.RSAPrivateKey, tmp_path: Path) -> None:
    key_file = tmp_path / "server.key"
    key_file.write_bytes(pem(rsa_key))
    auth = JwtBearerAuth("https://login.salesforce.com", "cid", "me@acme.com", private_key_path=key_file)
    req = auth.token_request(NOW)
    assert req.url == "https://login.salesforce.com/services/oauth2/token"
    assert req.form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(
        req.form["assertion"],
        rsa_key.public_key(),
        algorithms=["RS256"],
        audience="https://login.salesforce.com",
        options={"verify_exp": False},
    )
    assert claims == {
        "iss": "cid",
        "sub": "me@acme.com",
        "aud": "https://login.salesforce.com",
        "exp": 1_700_000_180,
    }
    assert jwt.get_unverified_header(req.form["assertion"])["alg"] == "RS256"
    assert str(rsa_key) not in repr(auth)


def test_jwt_inline_key_and_audience_families(rsa_key: rsa.RSAPrivateKey) -> None:
    auth = JwtBearerAuth("http://127.0.0.1:9999/", "cid", "u", private_key=pem(rsa_key).decode())
    claims = jwt.decode(
        auth.assertion(NOW),
        rsa_key.public_key(),
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_aud": False},
    )
    assert claims["aud"] == "http://127.0.0.1:9999"
    assert jwt_audience("https://test.salesforce.com") == "https://test.salesforce.com"
    assert jwt_audience("https://acme--uat.sandbox.my.salesforce.com") == "https://test.salesforce.com"
    assert jwt_audience("https://acme.my.salesforce.com") == "https://login.salesforce.com"
    assert jwt_audience("https://login.salesforce.com") == "https://login.salesforce.com"


def test_jwt_assertion_is_what_pyjwt_signs(rsa_key: rsa.RSAPrivateKey) -> None:
    """RS256 is deterministic: the assertion is byte for byte PyJWT's, header and claims included."""
    auth = JwtBearerAuth("https://login.salesforce.com", "cid", "me@acme.com", private_key=pem(rsa_key))
    claims = {"iss": "cid", "sub": "me@acme.com", "aud": "https://login.salesforce.com", "exp": 1_700_000_180}
    assert auth.assertion(NOW) == jwt.encode(claims, pem(rsa_key), algorithm="RS256")


def test_jwt_needs_an_rsa_key() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pem = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    auth = JwtBearerAuth("https://login.salesforce.com", "cid", "u", private_key=ec_pem)
    with pytest.raises(ConfigError, match="RS256 needs an RSA key"):
        auth.token_request(NOW)


def test_a_damaged_rsa_key_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    """The key is loaded without OpenSSL's primality tests; its numbers are checked instead."""
    good = rsa_key.private_numbers()
    assert rsa_key_consistent(good)
    public = good.public_numbers
    wrong_d = rsa.RSAPrivateNumbers(good.p, good.q, good.d + 2, good.dmp1, good.dmq1, good.iqmp, public)
    wrong_crt = rsa.RSAPrivateNumbers(good.p, good.q, good.d, good.dmp1 + 2, good.dmq1, good.iqmp, public)
    swapped = rsa.RSAPrivateNumbers(good.p, good.p, good.d, good.dmp1, good.dmq1, good.iqmp, public)
    assert not any(rsa_key_consistent(n) for n in (wrong_d, wrong_crt, swapped))
    damaged = wrong_crt.private_key(unsafe_skip_rsa_key_validation=True)
    auth = JwtBearerAuth("https://login.salesforce.com", "cid", "u", private_key=pem(damaged))
    with pytest.raises(ConfigError, match="do not agree"):
        auth.token_request(NOW)


def test_jwt_key_problems_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        JwtBearerAuth("https://login.salesforce.com", "cid", "u")
    missing = JwtBearerAuth(
        "https://login.salesforce.com", "cid", "u", private_key_path=tmp_path / "nope.key"
    )
    with pytest.raises(ConfigError, match="cannot read"):
        missing.token_request(NOW)
    garbage = JwtBearerAuth("https://login.salesforce.com", "cid", "u", private_key="not a key")
    with pytest.raises(ConfigError, match="cannot sign"):
        garbage.token_request(NOW)


def test_password_flow_appends_security_token() -> None:
    auth = PasswordAuth("https://test.salesforce.com/", "cid", "csecret", "me@acme.com", "pw", "TOK")
    req = auth.token_request(NOW)
    assert req.url == "https://test.salesforce.com/services/oauth2/token"
    assert dict(req.form) == {
        "grant_type": "password",
        "client_id": "cid",
        "client_secret": "csecret",
        "username": "me@acme.com",
        "password": "pwTOK",
    }
    assert "pwTOK" not in repr(auth)
    assert "pwTOK" not in repr(req)
    assert "csecret" not in repr(auth)


def test_refresh_flow_and_rotation() -> None:
    auth = RefreshTokenAuth("https://login.salesforce.com", "cid", "R1", client_secret="s")
    assert dict(auth.token_request(NOW).form) == {
        "grant_type": "refresh_token",
        "client_id": "cid",
        "refresh_token": "R1",
        "client_secret": "s",
    }
    auth.accept(Token("a", "https://x", refresh_token="R2"))
    assert auth.token_request(NOW).form["refresh_token"] == "R2"
    assert "R2" not in repr(auth)


def test_client_credentials_basic_header() -> None:
    auth = ClientCredentialsAuth("https://acme.my.salesforce.com", "cid", "csecret")
    req = auth.token_request(NOW)
    assert dict(req.form) == {"grant_type": "client_credentials"}
    scheme, value = req.headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(value) == b"cid:csecret"
    assert "csecret" not in repr(auth)


def test_static_and_seeded() -> None:
    static = StaticTokenAuth("https://acme.my.salesforce.com/", "00D!abc")
    assert static.initial_token() == Token("00D!abc", "https://acme.my.salesforce.com")
    with pytest.raises(SessionExpiredError):
        static.token_request(NOW)
    inner = ClientCredentialsAuth("https://acme.my.salesforce.com", "cid", "s")
    seeded = SeededAuth(inner, Token("00D!abc", "https://acme.my.salesforce.com"))
    assert seeded.flow is AuthFlow.CLIENT_CREDENTIALS
    assert seeded.initial_token() is not None
    assert seeded.token_request(NOW).form["grant_type"] == "client_credentials"
    assert "00D!abc" not in repr(static.initial_token())


def test_parse_token_response_shapes() -> None:
    url = "https://login.salesforce.com/services/oauth2/token"
    ok = parse_token_response(
        200,
        b'{"access_token":"A","instance_url":"https://x.my.salesforce.com/",'
        b'"id":"https://login.salesforce.com/id/00D1/0051","refresh_token":"R"}',
        url,
    )
    assert ok.instance_url == "https://x.my.salesforce.com"
    assert (ok.org_id, ok.user_id, ok.refresh_token) == ("00D1", "0051", "R")
    assert "A" not in repr(ok).replace("instance_url", "").replace("Bearer", "")
    with pytest.raises(AuthenticationError) as info:
        parse_token_response(
            400, b'{"error":"invalid_client_id","error_description":"client identifier invalid"}', url
        )
    assert (info.value.error, info.value.description, info.value.status) == (
        "invalid_client_id",
        "client identifier invalid",
        400,
    )
    with pytest.raises(AuthenticationError, match="ERROR_HTTP_500"):
        parse_token_response(500, b"<html/>", url)
    with pytest.raises(AuthenticationError, match="instance_url"):
        parse_token_response(200, b'{"access_token":"A"}', url)
