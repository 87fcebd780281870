"""The partner SOAP endpoint (``/services/Soap/u/{ver}``): the ``login`` and ``logout`` calls only.

``login`` checks a username and a password (optionally followed by the security token, see
:mod:`kinetic_core.emulator.credentials`) and answers the partner WSDL's ``loginResponse``: the
session id is an ordinary access token of the org, good as a REST Bearer token and as Bulk API
1.0's ``X-SFDC-Session``. ``logout`` ends the session named in the ``SessionHeader``. Every failure
is a SOAP 1.1 fault with HTTP status 500, as Salesforce sends it; other partner calls answer a
fault saying the emulator does not support them.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response

from kinetic_core.emulator.credentials import LoginRefused, password_login
from kinetic_core.emulator.org import MAX_API_VERSION, RETIRED_BELOW, Org
from kinetic_core.emulator.store.ids import is_well_formed, to18
from kinetic_core.emulator.web import get_org

logger = logging.getLogger(__name__)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS = "urn:partner.soap.sforce.com"
XML_TYPE = "text/xml;charset=UTF-8"
LOGIN_LAST_VERSION = 64
"""login() is not available from API version 65.0 on [D]."""
# [I] The exact fault of login() in 65.0+ is not documented; the emulator answers UNSUPPORTED_API_VERSION.

INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
_VERSION = re.compile(r"^\d+\.\d$")
_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


class SoapFault(Exception):
    """A SOAP fault: ``faultcode``, ``faultstring`` and the ``detail`` fault type (if any)."""

    def __init__(self, code: str, message: str, *, detail: str | None = "UnexpectedErrorFault") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = detail

    def render(self) -> str:
        if self.detail is None:  # an envelope-level (client) fault: no sf: detail
            return (
                f'{_HEAD}<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}"><soapenv:Body><soapenv:Fault>'
                f"<faultcode>{escape(self.code)}</faultcode><faultstring>{escape(self.message)}</faultstring>"
                "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
            )
        code, msg, kind = escape(self.code), escape(self.message), self.detail
        return (
            f'{_HEAD}<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}"'
            ' xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
            f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {msg}</faultstring>"
            f'<detail><sf:{kind} xsi:type="sf:{kind}"><sf:exceptionCode>{code}</sf:exceptionCode>'
            f"<sf:exceptionMessage>{msg}</sf:exceptionMessage></sf:{kind}></detail>"
            "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        )


def _xml(body: str, status: int = 200) -> Response:
    return Response(body.encode("utf-8"), status_code=status, media_type=XML_TYPE)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def parse_envelope(raw: bytes) -> tuple[ElementTree.Element | None, ElementTree.Element]:
    """The ``Header`` (or None) and the first element of the ``Body`` of a SOAP 1.1 envelope.

    Raises:
        SoapFault: ``soapenv:Client`` for a body that is not such an envelope (DTDs are refused).
    """
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise SoapFault("soapenv:Client", "DOCTYPE is not allowed in a SOAP message", detail=None)
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError as exc:
        raise SoapFault(
            "soapenv:Client", f"The request is not well-formed XML ({exc})", detail=None
        ) from None
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFault(
            "soapenv:Client", f"Expected a SOAP 1.1 Envelope, found {_local(root.tag)}", detail=None
        )
    header = root.find(f"{{{SOAP_ENV}}}Header")
    body = root.find(f"{{{SOAP_ENV}}}Body")
    call = body[0] if body is not None and len(body) else None
    if call is None:
        raise SoapFault("soapenv:Client", "Unable to find a call in the SOAP Body", detail=None)
    return header, call


def _child_text(element: ElementTree.Element | None, name: str) -> str | None:
    if element is None:
        return None
    for child in element.iter():
        if child is not element and _local(child.tag) == name:
            return child.text or ""
    return None


def _check_version(version: str, *, login: bool) -> None:
    major = int(version.split(".")[0]) if _VERSION.match(version) else -1
    if major < RETIRED_BELOW or major > MAX_API_VERSION or not version.endswith(".0"):
        raise SoapFault("UNSUPPORTED_API_VERSION", f"Invalid Api version specified on URL: {version}")
    if login and major > LOGIN_LAST_VERSION:
        raise SoapFault(
            "UNSUPPORTED_API_VERSION",
            f"login() is not available in API version {version}; use API version 64.0 or earlier, or OAuth",
        )


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _element(name: str, value: Any) -> str:
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    if isinstance(value, bool):
        return f"<{name}>{_bool(value)}</{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


def login_result(org: Org, version: str, session_id: str, user: dict[str, Any]) -> str:
    """The ``loginResponse`` envelope (partner WSDL ``LoginResult``, fields in WSDL order)."""
    org15 = org.store.org_id[:15]
    base = org.base_url
    first, last = user.get("FirstName"), user.get("LastName")
    full_name = user.get("Name") or " ".join(str(p) for p in (first, last) if p)
    info: list[tuple[str, Any]] = [
        ("accessibilityMode", False),
        ("chatterExternal", False),
        ("currencySymbol", "$"),
        ("orgAttachmentFileSizeLimit", 5242880),
        ("orgDefaultCurrencyIsoCode", "USD"),
        ("orgDefaultCurrencyLocale", "en_US"),
        ("orgDisallowHtmlAttachments", False),
        ("orgHasPersonAccounts", False),
        ("organizationId", org.store.org_id),
        ("organizationMultiCurrency", False),
        ("organizationName", org.settings.org_name),
        ("profileId", user.get("ProfileId")),
        ("roleId", None),
        ("sessionSecondsValid", int(org.settings.token_ttl_seconds)),
        ("userDefaultCurrencyIsoCode", None),
        ("userEmail", user.get("Email")),
        ("userFullName", full_name),
        ("userId", user["Id"]),
        ("userLanguage", user.get("LanguageLocaleKey") or "en_US"),
        ("userLocale", user.get("LocaleSidKey") or "en_US"),
        ("userName", user.get("Username")),
        ("userTimeZone", user.get("TimeZoneSidKey") or "GMT"),
        ("userType", user.get("UserType") or "Standard"),
        ("userUiSkin", "Theme3"),
    ]
    result: list[tuple[str, Any]] = [
        ("metadataServerUrl", f"{base}/services/Soap/m/{version}/{org15}"),
        ("passwordExpired", False),
        ("sandbox", False),
        ("serverUrl", f"{base}/services/Soap/u/{version}/{org15}"),
        ("sessionId", session_id),
        ("userId", user["Id"]),
    ]
    return (
        f'{_HEAD}<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns="{PARTNER_NS}"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>'
        + "".join(_element(k, v) for k, v in result)
        + "<userInfo>"
        + "".join(_element(k, v) for k, v in info)
        + "</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )


def _login(org: Org, version: str, header: ElementTree.Element | None, call: ElementTree.Element) -> Response:
    _check_version(version, login=True)
    username = _child_text(call, "username") or ""
    password = _child_text(call, "password") or ""
    scope = _child_text(header, "LoginScopeHeader")
    scoped_org = (_child_text(header, "organizationId") or "").strip() if scope is not None else ""
    try:
        # [I] an organizationId in a LoginScopeHeader must name this org (15 or 18 characters)
        if scoped_org and not (is_well_formed(scoped_org) and to18(scoped_org) == org.store.org_id):
            raise LoginRefused(username)
        granted = password_login(org, username.strip(), password)
    except LoginRefused:
        logger.info("SOAP login refused for %r", username)
        raise SoapFault("INVALID_LOGIN", INVALID_LOGIN, detail="LoginFault") from None
    return _xml(login_result(org, version, granted.session.token, granted.user))


def _logout(org: Org, version: str, header: ElementTree.Element | None) -> Response:
    _check_version(version, login=False)
    token = (_child_text(header, "sessionId") or "").strip()
    if not token or org.tokens.lookup(token) is None:
        raise SoapFault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
    org.tokens.revoke(token)
    return _xml(
        f'{_HEAD}<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns="{PARTNER_NS}">'
        "<soapenv:Body><logoutResponse/></soapenv:Body></soapenv:Envelope>"
    )


async def partner(request: Request) -> Response:
    """``POST /services/Soap/u/{ver}[/{org_id}]``: dispatch on the call in the SOAP Body."""
    org = get_org(request)
    version = request.path_params["ver"]
    try:
        header, call = parse_envelope(await request.body())
        name = _local(call.tag)
        if _namespace(call.tag) != PARTNER_NS:
            raise SoapFault(
                "soapenv:Client",
                f"No operation available for request {{{_namespace(call.tag)}}}{name}",
                detail=None,
            )
        if name == "login":
            return _login(org, version, header, call)
        if name == "logout":
            return _logout(org, version, header)
        raise SoapFault(
            "FUNCTIONALITY_NOT_ENABLED", f"The SOAP call {name}() is not supported by this emulator"
        )
    except SoapFault as fault:
        return _xml(fault.render(), status=500)
