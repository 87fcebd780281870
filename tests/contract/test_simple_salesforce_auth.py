"""simple-salesforce's own login flows and session handling against the emulator over HTTPS.

simple-salesforce builds its token URL as ``https://{domain}.salesforce.com/services/oauth2/token``;
a :class:`RedirectAdapter` mounted on the ``requests.Session`` it is given sends that one host to the
emulator, so the username-password, JWT bearer and client-credentials code paths run unchanged.
Session expiry is driven through the emulator's fault API (``POST /_emulator/faults``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
import requests
from contract_helpers import OrgHandle, RedirectAdapter, password_token, trusting_session
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

pytestmark = pytest.mark.contract

LOGIN_HOST = "https://login.salesforce.com"
MY_DOMAIN = "kinetic-local.my"


@pytest.fixture
def redirected(tls_org: OrgHandle) -> Iterator[tuple[requests.Session, RedirectAdapter]]:
    session = trusting_session(tls_org)
    adapter = RedirectAdapter(LOGIN_HOST, tls_org.login_url)
    session.mount(LOGIN_HOST, adapter)
    try:
        yield session, adapter
    finally:
        session.close()


def instance_netloc(org: OrgHandle) -> str:
    return urlparse(org.instance_url).netloc


def configure_faults(session: requests.Session, org: OrgHandle, config: dict[str, Any]) -> None:
    resp = session.post(
        f"{org.instance_url}/_emulator/faults", json=config, headers=org.local_org.admin_headers, timeout=10
    )
    assert resp.status_code in (200, 204), resp.text


def revoke(session: requests.Session, org: OrgHandle, token: str) -> None:
    resp = session.post(f"{org.login_url}/services/oauth2/revoke", data={"token": token}, timeout=10)
    assert resp.status_code == 200, resp.text


Redirected = tuple[requests.Session, RedirectAdapter]


def test_password_login_through_domain(tls_org: OrgHandle, redirected: Redirected) -> None:
    session, adapter = redirected
    sf = Salesforce(
        username=tls_org.username,
        password=tls_org.password,
        consumer_key=tls_org.client_id,
        consumer_secret=tls_org.client_secret,
        session=session,
        version=tls_org.api_version,
    )
    assert adapter.redirected == [f"{LOGIN_HOST}/services/oauth2/token"]
    assert sf.sf_instance == instance_netloc(tls_org)
    users = sf.query(f"SELECT Id, Username FROM User WHERE Username = '{tls_org.username}'")
    assert users["totalSize"] == 1


def test_password_login_wrong_password(tls_org: OrgHandle, redirected: Redirected) -> None:
    session, _ = redirected
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        Salesforce(
            username=tls_org.username,
            password="not-the-password",
            consumer_key=tls_org.client_id,
            consumer_secret=tls_org.client_secret,
            session=session,
        )
    assert exc.value.code == "invalid_grant"
    assert exc.value.auth_message == "authentication failure"


def test_jwt_bearer_login(tls_org: OrgHandle, redirected: Redirected) -> None:
    session, adapter = redirected
    assert tls_org.jwt_private_key is not None
    # aud is https://login.salesforce.com and exp a string of seconds: both accepted per A.2
    sf = Salesforce(
        username=tls_org.username,
        consumer_key=tls_org.client_id,
        privatekey_file=str(tls_org.jwt_private_key),
        session=session,
        version=tls_org.api_version,
    )
    assert adapter.redirected == [f"{LOGIN_HOST}/services/oauth2/token"]
    assert sf.sf_instance == instance_netloc(tls_org)
    assert sf.query("SELECT COUNT() FROM Account")["done"] is True


def test_client_credentials_login(tls_org: OrgHandle) -> None:
    session = trusting_session(tls_org)
    try:
        adapter = RedirectAdapter(f"https://{MY_DOMAIN}.salesforce.com", tls_org.login_url)
        session.mount(f"https://{MY_DOMAIN}.salesforce.com", adapter)
        sf = Salesforce(
            consumer_key=tls_org.client_id,
            consumer_secret=tls_org.client_secret,
            domain=MY_DOMAIN,
            session=session,
            version=tls_org.api_version,
        )
        assert adapter.redirected == [f"https://{MY_DOMAIN}.salesforce.com/services/oauth2/token"]
        assert isinstance(sf.is_sandbox(), bool)
    finally:
        session.close()


def test_revoked_token_raises_expired_session(tls_org: OrgHandle, https_session: requests.Session) -> None:
    token = password_token(https_session, tls_org)
    sf = Salesforce(
        instance_url=token["instance_url"],
        session_id=token["access_token"],
        session=https_session,
        version=tls_org.api_version,
    )
    assert sf.query("SELECT COUNT() FROM Account")["done"] is True
    revoke(https_session, tls_org, token["access_token"])
    with pytest.raises(SalesforceExpiredSession) as exc:
        sf.query("SELECT COUNT() FROM Account")
    assert exc.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    with pytest.raises(SalesforceExpiredSession):
        list(sf.bulk2.Account.query("SELECT Id FROM Account"))


def test_password_client_logs_in_again_after_revocation(tls_org: OrgHandle, redirected: Redirected) -> None:
    session, adapter = redirected
    sf = Salesforce(
        username=tls_org.username,
        password=tls_org.password,
        consumer_key=tls_org.client_id,
        consumer_secret=tls_org.client_secret,
        session=session,
        version=tls_org.api_version,
    )
    first_token = sf.session_id
    revoke(session, tls_org, first_token)
    # simple-salesforce re-logs in only for 401 + a JSON array whose errorCode is INVALID_SESSION_ID (A.9)
    assert sf.query("SELECT COUNT() FROM Account")["done"] is True
    assert sf.session_id != first_token
    assert len(adapter.redirected) == 2


def test_session_ttl_fault_expires_sessions(tls_org: OrgHandle, https_session: requests.Session) -> None:
    token = password_token(https_session, tls_org)
    sf = Salesforce(
        instance_url=token["instance_url"],
        session_id=token["access_token"],
        session=https_session,
        version=tls_org.api_version,
    )
    assert sf.query("SELECT COUNT() FROM Account")["done"] is True
    configure_faults(https_session, tls_org, {"session_ttl_seconds": 0})
    try:
        with pytest.raises(SalesforceExpiredSession) as exc:
            sf.query("SELECT COUNT() FROM Account")
        assert exc.value.content[0]["errorCode"] == "INVALID_SESSION_ID"
        with pytest.raises(SalesforceExpiredSession):
            sf.Account.describe()
    finally:
        configure_faults(https_session, tls_org, {})
    fresh = password_token(https_session, tls_org)
    sf2 = Salesforce(
        instance_url=fresh["instance_url"],
        session_id=fresh["access_token"],
        session=https_session,
        version=tls_org.api_version,
    )
    assert sf2.query("SELECT COUNT() FROM Account")["done"] is True


# ----------------------------------------------------------------------------- SOAP login (no consumer key)


def test_soap_login_with_security_token(tls_org: OrgHandle, redirected: Redirected) -> None:
    """The most common simple-salesforce login: username, password and security token, no connected app."""
    session, adapter = redirected
    sf = Salesforce(
        username=tls_org.username,
        password=tls_org.password,
        security_token=tls_org.security_token,
        session=session,
        version=tls_org.api_version,
    )
    assert adapter.redirected == [f"{LOGIN_HOST}/services/Soap/u/{tls_org.api_version}"]
    assert sf.sf_instance == instance_netloc(tls_org)
    users = sf.query(f"SELECT Id, Username FROM User WHERE Username = '{tls_org.username}'")
    assert users["totalSize"] == 1
    account = sf.Account.create({"Name": "Logged in over SOAP"})
    assert sf.Account.get(account["id"])["Name"] == "Logged in over SOAP"


def test_soap_login_through_domain_with_empty_token(tls_org: OrgHandle) -> None:
    """``domain=`` and an empty security token (a caller inside the org's trusted IP ranges)."""
    session = trusting_session(tls_org)
    try:
        adapter = RedirectAdapter(f"https://{MY_DOMAIN}.salesforce.com", tls_org.login_url)
        session.mount(f"https://{MY_DOMAIN}.salesforce.com", adapter)
        sf = Salesforce(
            username=tls_org.username,
            password=tls_org.password,
            security_token="",
            domain=MY_DOMAIN,
            session=session,
            version=tls_org.api_version,
        )
        assert adapter.redirected == [
            f"https://{MY_DOMAIN}.salesforce.com/services/Soap/u/{tls_org.api_version}"
        ]
        assert sf.query("SELECT COUNT() FROM Account")["done"] is True
    finally:
        session.close()


def test_soap_login_with_organization_id(tls_org: OrgHandle, redirected: Redirected) -> None:
    """The IP-filtering form: ``organizationId`` in a LoginScopeHeader; a wrong org id is refused."""
    session, _ = redirected
    org_id = tls_org.local_org.org.store.org_id
    sf = Salesforce(
        username=tls_org.username,
        password=tls_org.password,
        organizationId=org_id[:15],
        session=session,
        version=tls_org.api_version,
    )
    assert sf.query("SELECT COUNT() FROM Account")["done"] is True
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        Salesforce(
            username=tls_org.username,
            password=tls_org.password,
            organizationId="00D000000000001",
            session=session,
            version=tls_org.api_version,
        )
    assert exc.value.code == "INVALID_LOGIN"


def test_soap_login_wrong_token(tls_org: OrgHandle, redirected: Redirected) -> None:
    session, _ = redirected
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        Salesforce(
            username=tls_org.username,
            password=tls_org.password,
            security_token="not-the-token",
            session=session,
            version=tls_org.api_version,
        )
    assert exc.value.code == "INVALID_LOGIN"
    assert exc.value.auth_message == "Invalid username, password, security token; or user locked out."
