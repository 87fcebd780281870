"""The OAuth grants store of one org: pending authorization codes and device authorizations.

State only: the rules that issue, check and redeem these grants are the service layer's
(:mod:`kinetic_core.emulator.service.oauth` and :mod:`~kinetic_core.emulator.service.oauth_device`).
The org owns one store; both layers import this module and it imports neither.

Example:
    >>> grants = GrantStore(new_code=lambda n: "c" * n)
    >>> with grants.lock:
    ...     grants.codes[grants.new_code(4)] = CodeGrant(0.0, "api", "https://cb", "005", "admin")
    >>> sorted(grants.codes)
    ['cccc']
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CodeGrant:
    """An issued authorization code: who approved it, for what, and the PKCE challenge to answer."""

    expires_at: float
    scope: str
    redirect_uri: str
    user_id: str
    username: str
    code_challenge: str | None = None


@dataclass
class DeviceGrant:
    """One device authorization: pending until its user code is approved or denied, or it expires."""

    device_code: str
    user_code: str
    scope: str
    expires_at: float
    interval: int
    last_poll: float | None = None
    decision: str = "pending"  # pending | approved | denied
    user_id: str = ""
    username: str = ""


@dataclass
class GrantStore:
    """Authorization codes (by code) and device authorizations (by device code) of one org.

    Args:
        new_code: makes a new authorization code from a number of random bytes.

    Read and write ``codes`` with ``lock`` held, ``devices`` with ``device_lock`` held.
    """

    new_code: Callable[[int], str] = secrets.token_urlsafe
    codes: dict[str, CodeGrant] = field(default_factory=dict)
    devices: dict[str, DeviceGrant] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    device_lock: threading.Lock = field(default_factory=threading.Lock)


__all__ = ["CodeGrant", "DeviceGrant", "GrantStore"]
