"""The login-and-approve pages of the interactive OAuth flows, and the device verification page.

The rules (device codes, polling, approval) live in :mod:`kinetic_core.emulator.service.oauth_device`;
these handlers read the form, call it and render a page.
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from kinetic_core.emulator.service import oauth_device
from kinetic_core.emulator.service.oauth_device import VERIFICATION_PATH
from kinetic_core.emulator.web import get_org


def approval_page(
    title: str,
    action: str,
    hidden: dict[str, str],
    message: str = "",
    status: int = 200,
    *,
    user_code: str | None = None,
) -> Response:
    """A minimal login-and-approve page: hidden fields, username, password, Allow and Deny buttons.

    With ``user_code`` (the device verification page) it also asks for the code shown by the device.
    """
    fields = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in hidden.items()
    )
    if user_code is not None:
        fields += f'<label>Code <input name="user_code" value="{escape(user_code)}"></label> '
    note = f'<p class="error">{escape(message)}</p>' if message else ""
    body = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head><body>'
        f'<h1>{escape(title)}</h1>{note}<form method="post" action="{escape(action)}">{fields}'
        '<label>Username <input name="username" autocomplete="username"></label> '
        '<label>Password <input name="password" type="password" autocomplete="current-password"></label> '
        '<button name="action" value="approve">Allow</button> '
        '<button name="action" value="deny">Deny</button>'
        "</form></body></html>"
    )
    return HTMLResponse(body, status_code=status)


def _user_code_page(user_code: str, message: str = "", status: int = 200) -> Response:
    return approval_page("Connect your device", VERIFICATION_PATH, {}, message, status, user_code=user_code)


async def verify(request: Request) -> Response:
    """``/setup/connect``: GET answers the code-and-login page, POST approves or denies a user code."""
    org = get_org(request)
    if request.method == "GET":
        return _user_code_page(request.query_params.get("user_code", ""))
    try:
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return _user_code_page("", "The form must be UTF-8.", 400)
    typed = form.get("user_code", "")
    outcome = oauth_device.decide(org, typed, form)
    if outcome == "unknown_code":
        return _user_code_page(typed, "That code is not valid or has expired.", 400)
    if outcome == "bad_credentials":
        return _user_code_page(typed, "Wrong username or password.", 401)
    if outcome == "denied":
        return HTMLResponse("<!doctype html><p>Access denied. You can close this window.</p>")
    return HTMLResponse("<!doctype html><p>Your device is connected. You can close this window.</p>")


__all__ = ["approval_page", "verify"]
