"""Identity URL (``/id/{org}/{user}``) and OpenID ``/services/oauth2/userinfo``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kinetic_core.emulator.errors import ApiError, not_found
from kinetic_core.emulator.org import Org
from kinetic_core.emulator.store.ids import is_well_formed, to18
from kinetic_core.emulator.tokens import Session
from kinetic_core.emulator.web import get_org, json_response, require_session, session_or_none

_USER_FIELDS = ["Id", "Username", "Email", "FirstName", "LastName", "Name", "LastModifiedDate"]


def _user(org: Org, user_id: str) -> dict[str, Any]:
    try:
        record = org.store.get("User", user_id, _USER_FIELDS)
    except ApiError:
        raise not_found() from None
    return record


def _urls(org: Org, version: str) -> dict[str, str]:
    base, org_id = org.base_url, org.store.org_id
    data = f"{base}/services/data/v{version}"
    return {
        "enterprise": f"{base}/services/Soap/c/{version}/{org_id}",
        "metadata": f"{base}/services/Soap/m/{version}/{org_id}",
        "partner": f"{base}/services/Soap/u/{version}/{org_id}",
        "rest": f"{data}/",
        "sobjects": f"{data}/sobjects/",
        "search": f"{data}/search/",
        "query": f"{data}/query/",
        "recent": f"{data}/recent/",
        "tooling_soap": f"{base}/services/Soap/T/{version}/{org_id}",
        "tooling_rest": f"{data}/tooling/",
        "profile": f"{base}/{org.admin_user_id}",
        "feeds": f"{data}/chatter/feeds",
        "groups": f"{data}/chatter/groups",
        "users": f"{data}/chatter/users",
        "feed_items": f"{data}/chatter/feed-items",
        "feed_elements": f"{data}/chatter/feed-elements",
        "custom_domain": base,
    }


def _photos(org: Org) -> dict[str, str]:
    return {
        "picture": f"{org.base_url}/profilephoto/005/F",
        "thumbnail": f"{org.base_url}/profilephoto/005/T",
    }


def identity_body(org: Org, session: Session, user_id: str, version: str) -> dict[str, Any]:
    """The identity document (A.10 key set)."""
    user = _user(org, user_id)
    first, last = user.get("FirstName"), user.get("LastName")
    display = user.get("Name") or " ".join(str(p) for p in (first, last) if p) or user.get("Username")
    return {
        "id": org.identity_url(str(user["Id"])),
        "asserted_user": session.user_id == user["Id"],
        "user_id": user["Id"],
        "organization_id": org.store.org_id,
        "username": user.get("Username"),
        "nick_name": str(user.get("Username", "")).split("@")[0],
        "display_name": display,
        "email": user.get("Email"),
        "email_verified": True,
        "first_name": first,
        "last_name": last,
        "timezone": "GMT",
        "photos": _photos(org),
        "addr_street": None,
        "addr_city": None,
        "addr_state": None,
        "addr_country": None,
        "addr_zip": None,
        "mobile_phone": None,
        "mobile_phone_verified": False,
        "is_lightning_login_user": False,
        "status": {"created_date": None, "body": None},
        "urls": _urls(org, version),
        "active": True,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "last_modification_date": user.get("LastModifiedDate"),
        "is_app_installed": True,
    }


def _session_for_identity(request: Request) -> Session:
    org = get_org(request)
    token = request.query_params.get("oauth_token")
    if token:
        session = session_or_none(org, f"Bearer {token}")
        if session is not None:
            return session
    return require_session(request)


async def identity(request: Request) -> Response:
    """``GET|POST /id/{org}/{user}``."""
    org = get_org(request)
    session = _session_for_identity(request)
    org_id, user_id = request.path_params["org_id"], request.path_params["user_id"]
    if not (is_well_formed(org_id) and is_well_formed(user_id)) or to18(org_id) != org.store.org_id:
        raise not_found()
    version = request.query_params.get("version") or "{version}"
    return json_response(identity_body(org, session, to18(user_id), version))


async def userinfo(request: Request) -> Response:
    """``GET|POST /services/oauth2/userinfo`` (OpenID Connect claims)."""
    org = get_org(request)
    session = require_session(request)
    doc = identity_body(org, session, session.user_id, "{version}")
    return json_response(
        {
            "sub": doc["id"],
            "user_id": doc["user_id"],
            "organization_id": doc["organization_id"],
            "preferred_username": doc["username"],
            "nickname": doc["nick_name"],
            "name": doc["display_name"],
            "email": doc["email"],
            "email_verified": True,
            "given_name": doc["first_name"],
            "family_name": doc["last_name"],
            "zoneinfo": "GMT",
            "photos": doc["photos"],
            "profile": f"{org.base_url}/{doc['user_id']}",
            "picture": doc["photos"]["picture"],
            "address": {},
            "is_salesforce_integration_user": False,
            "urls": doc["urls"],
            "active": True,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "updated_at": doc["last_modification_date"],
            "is_app_installed": True,
        }
    )
