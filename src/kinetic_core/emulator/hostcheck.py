"""Which ``Host`` headers the emulator answers: its own address, never a name a web page chose.

A page on ``evil.example`` can re-point its name at 127.0.0.1 (DNS rebinding) and then call the
emulator, and read its answers, as if it were its own site; those requests carry
``Host: evil.example:8555``. Every route therefore checks ``Host`` against what the server is bound
to: the advertised host, ``localhost``, ``127.0.0.1`` or ``::1``, each with the server's port; a
server bound to every interface (``0.0.0.0``/``::``) also answers any IP literal with its port, since
an IP literal cannot be rebound. A request without ``Host`` (HTTP/1.0) cannot come from a browser and
is answered.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})


def split_host(value: str) -> tuple[str, str] | None:
    """``host[:port]`` or ``[v6][:port]`` as (lower-cased host, port text); None when malformed.

    Example:
        >>> split_host("[::1]:8555"), split_host("LocalHost:80"), split_host("a b")
        (('::1', '8555'), ('localhost', '80'), None)
    """
    value = value.strip()
    if not value or any(c in value for c in " /\\@?#"):
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:]
    else:
        host, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    if port and not port.isdigit():
        return None
    return host.lower().rstrip("."), port


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class HostPolicy:
    """The ``Host`` values one server accepts.

    Args:
        base_url: the URL the server advertises (scheme, host and port).
        bind_host: the interface it is bound to (a wildcard widens the accepted hosts to IP literals).

    Example:
        >>> policy = HostPolicy("http://127.0.0.1:8555", "127.0.0.1")
        >>> policy.allows("localhost:8555"), policy.allows("evil.example:8555"), policy.allows("127.0.0.1")
        (True, False, False)
    """

    def __init__(self, base_url: str, bind_host: str) -> None:
        parts = urlsplit(base_url)
        self.port = str(parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80))
        default_port = "443" if parts.scheme == "https" else "80"
        self._ports = {self.port} | ({""} if self.port == default_port else set())
        advertised = (parts.hostname or "").lower()
        self._names = LOOPBACK_NAMES | {advertised, bind_host.strip("[]").lower()} - _WILDCARDS
        self._any_ip = bind_host.strip("[]") in _WILDCARDS

    def allows(self, header: str | None) -> bool:
        """True when a request with this ``Host`` header is for this server."""
        if header is None:
            return True
        parsed = split_host(header)
        if parsed is None:
            return False
        host, port = parsed
        if port not in self._ports:
            return False
        return host in self._names or (self._any_ip and _is_ip(host))
