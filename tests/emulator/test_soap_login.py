"""The partner SOAP endpoint: login() and logout() as Salesforce answers them, faults included."""

from __future__ import annotations

from xml.etree import ElementTree

import httpx
import pytest

from kinetic_core.emulator.server import LocalOrg

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "{urn:partner.soap.sforce.com}"
FAULT_NS = "{urn:fault.partner.soap.sforce.com}"
RESULT_KEYS = [
    "metadataServerUrl",
    "passwordExpired",
    "sandbox",
    "serverUrl",
    "sessionId",
    "userId",
    "userInfo",
]
USER_INFO_KEYS = [
    "accessibilityMode",
    "chatterExternal",
    "currencySymbol",
    "orgAttachmentFileSizeLimit",
    "orgDefaultCurrencyIsoCode",
    "orgDefaultCurrencyLocale",
    "orgDisallowHtmlAttachments",
    "orgHasPersonAccounts",
    "organizationId",
    "organizationMultiCurrency",
    "organizationName",
    "profileId",
    "roleId",
    "sessionSecondsValid",
    "userDefaultCurrencyIsoCode",
    "userEmail",
    "userFullName",
    "userId",
    "userLanguage",
    "userLocale",
    "userName",
    "userTimeZone",
    "userType",
    "userUiSkin",
]


def _envelope(call: str, header: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="{SOAP_ENV}">'
        f"<env:Header>{header}</env:Header><env:Body>{call}</env:Body></env:Envelope>"
    )


def _login_body(username: str, password: str) -> str:
    return _envelope(
        '<n1:login xmlns:n1="urn:partner.soap.sforce.com">'
        f"<n1:username>{username}</n1:username><n1:password>{password}</n1:password></n1:login>"
    )


def _post(org: LocalOrg, body: str, version: str = "59.0", action: str = "login") -> httpx.Response:
    return httpx.post(
        f"{org.login_url}/services/Soap/u/{version}",
        content=body.encode("utf-8"),
        headers={"Content-Type": "text/xml", "SOAPAction": action},
        timeout=30,
    )


def _fault(response: httpx.Response) -> tuple[str, str, str | None, str | None]:
    assert response.status_code == 500, response.text
    assert response.headers["content-type"].startswith("text/xml")
    fault = ElementTree.fromstring(response.content).find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None, response.text
    return (
        fault.findtext("faultcode") or "",
        fault.findtext("faultstring") or "",
        fault.findtext(f"detail/*/{FAULT_NS}exceptionCode"),
        fault.findtext(f"detail/*/{FAULT_NS}exceptionMessage"),
    )


def test_login_with_security_token_answers_login_result(local_org: LocalOrg) -> None:
    response = _post(
        local_org, _login_body(local_org.username, local_org.password + local_org.security_token)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/xml;charset=UTF-8"
    root = ElementTree.fromstring(response.content)
    result = root.find(f"{{{SOAP_ENV}}}Body/{PARTNER}loginResponse/{PARTNER}result")
    assert result is not None
    assert [child.tag.removeprefix(PARTNER) for child in result] == RESULT_KEYS
    info = result.find(f"{PARTNER}userInfo")
    assert info is not None
    assert [child.tag.removeprefix(PARTNER) for child in info] == USER_INFO_KEYS

    org = local_org.org
    org15 = org.store.org_id[:15]
    text = {child.tag.removeprefix(PARTNER): child.text for child in result}
    assert text["serverUrl"] == f"{local_org.instance_url}/services/Soap/u/59.0/{org15}"
    assert text["metadataServerUrl"] == f"{local_org.instance_url}/services/Soap/m/59.0/{org15}"
    assert text["passwordExpired"] == "false"
    assert text["sandbox"] == "false"
    assert text["userId"] == org.admin_user_id
    facts = {child.tag.removeprefix(PARTNER): child.text for child in info}
    assert facts["organizationId"] == org.store.org_id
    assert facts["userName"] == local_org.username
    assert facts["userId"] == org.admin_user_id
    assert facts["organizationName"] == org.settings.org_name
    assert facts["sessionSecondsValid"] == "7200"
    assert facts["profileId"] is not None
    assert facts["profileId"].startswith("00e")
    nil = "{http://www.w3.org/2001/XMLSchema-instance}nil"
    assert info.find(f"{PARTNER}roleId").get(nil) == "true"  # type: ignore[union-attr]

    # the session id is an access token: REST Bearer works with it
    session_id = text["sessionId"]
    assert session_id is not None
    assert session_id.startswith(org15 + "!")
    rest = httpx.get(
        f"{local_org.instance_url}/services/data/v59.0/query",
        params={"q": "SELECT Username FROM User WHERE Id = '" + org.admin_user_id + "'"},
        headers={"Authorization": f"Bearer {session_id}"},
        timeout=30,
    )
    assert rest.status_code == 200, rest.text
    assert rest.json()["records"][0]["Username"] == local_org.username


def test_login_with_password_alone_and_other_user(local_org: LocalOrg) -> None:
    response = _post(local_org, _login_body("standard@kinetic.local", local_org.password))
    assert response.status_code == 200, response.text
    assert "<userName>standard@kinetic.local</userName>" in response.text


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("admin@kinetic.local", "wrong"),
        ("admin@kinetic.local", "kineticWRONGTOKEN"),
        ("nobody@kinetic.local", "kinetic"),
        ("admin@kinetic.local", "kinétic"),  # non-ASCII: refused, never a 500 of another kind
        ("", ""),
    ],
)
def test_bad_credentials_are_an_invalid_login_fault(
    local_org: LocalOrg, username: str, password: str
) -> None:
    response = _post(local_org, _login_body(username, password))
    code, text, exc_code, exc_message = _fault(response)
    assert code == "sf:INVALID_LOGIN"
    assert text == "INVALID_LOGIN: Invalid username, password, security token; or user locked out."
    assert exc_code == "INVALID_LOGIN"
    assert exc_message == "Invalid username, password, security token; or user locked out."
    assert '<sf:LoginFault xsi:type="sf:LoginFault">' in response.text


def test_logout_ends_the_session(local_org: LocalOrg) -> None:
    login = _post(local_org, _login_body(local_org.username, local_org.password))
    session_id = ElementTree.fromstring(login.content).findtext(f".//{PARTNER}sessionId")
    assert session_id
    header = f'<SessionHeader xmlns="{PARTNER[1:-1]}"><sessionId>{session_id}</sessionId></SessionHeader>'
    out = _post(local_org, _envelope('<logout xmlns="urn:partner.soap.sforce.com"/>', header), action='""')
    assert out.status_code == 200, out.text
    assert ElementTree.fromstring(out.content).find(f".//{PARTNER}logoutResponse") is not None
    rest = httpx.get(
        f"{local_org.instance_url}/services/data/v59.0/limits",
        headers={"Authorization": f"Bearer {session_id}"},
        timeout=30,
    )
    assert rest.status_code == 401
    again = _post(local_org, _envelope('<logout xmlns="urn:partner.soap.sforce.com"/>', header))
    code, text, exc_code, _ = _fault(again)
    assert (code, exc_code) == ("sf:INVALID_SESSION_ID", "INVALID_SESSION_ID")
    assert text == "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session"


@pytest.mark.parametrize(
    ("body", "version", "expected_code"),
    [
        ("not xml at all", "59.0", "soapenv:Client"),
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "59.0", "soapenv:Client"),
        ("<Envelope/>", "59.0", "soapenv:Client"),
        (_envelope(""), "59.0", "soapenv:Client"),
        (_envelope('<query xmlns="urn:partner.soap.sforce.com"/>'), "59.0", "sf:FUNCTIONALITY_NOT_ENABLED"),
        (_envelope('<login xmlns="urn:enterprise.soap.sforce.com"/>'), "59.0", "soapenv:Client"),
        (_login_body("admin@kinetic.local", "kinetic"), "29.0", "sf:UNSUPPORTED_API_VERSION"),
        (_login_body("admin@kinetic.local", "kinetic"), "65.0", "sf:UNSUPPORTED_API_VERSION"),
        (_login_body("admin@kinetic.local", "kinetic"), "abc", "sf:UNSUPPORTED_API_VERSION"),
    ],
)
def test_malformed_requests_are_faults(
    local_org: LocalOrg, body: str, version: str, expected_code: str
) -> None:
    code, text, _, _ = _fault(_post(local_org, body, version=version))
    assert code == expected_code
    assert text


def test_login_counts_as_soap_in_statistics(local_org: LocalOrg) -> None:
    _post(local_org, _login_body(local_org.username, local_org.password))
    assert local_org.admin("stats")["requests"].get("soap") == 1
