"""What may become part of a request URL: ids and API names checked, values quoted, answer URLs kept home.

Pure functions, no I/O. Two rules:

* An id or API name the caller gives is checked before it becomes a path segment, so no value can
  change which resource a call reaches (``delete_job("../../sobjects/Account/001...")`` is refused,
  not sent). Values that are data, such as an external id in an upsert URL, are quoted instead.
* A URL taken from an answer (``nextRecordsUrl`` and the like) is resolved against the instance
  URL and followed only when it stays on the instance's scheme, host and port, under
  ``/services/``: the access token never travels anywhere else.

Example:
    >>> check_name("ns__Invoice_Line__c", "sObject")
    'ns__Invoice_Line__c'
    >>> path_value("A/1 ..")
    'A%2F1%20..'
    >>> on_instance("https://x.my.salesforce.com", "/services/data/v62.0/query/01g-2000")
    'https://x.my.salesforce.com/services/data/v62.0/query/01g-2000'
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urljoin, urlsplit

from kinetic_core._httpx import httpx
from kinetic_core.errors import InvalidNameError, UnsafeUrlError

_SEGMENT = r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*"
API_NAME = re.compile(rf"{_SEGMENT}(?:__{_SEGMENT}){{0,3}}")
"""Salesforce API names: a letter first, then letters, digits and single underscores, never an
underscore at the end; ``__`` only between the parts of ``ns__Name__c``-style names (namespace
prefix, suffixes such as ``__c``, ``__r``, ``__e``, ``__mdt``, ``Loc__Latitude__s``)."""
NAME_RULE = "letters, digits and single underscores, starting with a letter; __ only in ns__Name__c forms"

RECORD_ID = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
"""A Salesforce id: 15 (case-sensitive) or 18 (with checksum) letters and digits."""
ID_RULE = "15 or 18 letters and digits"

SERVICES = "/services/"


def check_name(name: str, what: str = "sObject") -> str:
    """``name`` if it is a well-formed API name, else ``InvalidNameError`` (a ``ValueError``).

    Example:
        >>> check_name("Account")
        'Account'
        >>> check_name("../Account")
        Traceback (most recent call last):
        ...
        kinetic_core.errors.InvalidNameError: not a valid sObject name: '../Account' (letters, ...
    """
    if not isinstance(name, str) or not API_NAME.fullmatch(name):
        raise InvalidNameError(f"{what} name", name, NAME_RULE)
    return name


def check_id(value: str, what: str = "record id") -> str:
    """``value`` if it is a well-formed 15- or 18-character id, else ``InvalidNameError``.

    Example:
        >>> check_id("750R0000000zlh9IAA", "job id")
        '750R0000000zlh9IAA'
    """
    if not isinstance(value, str) or not RECORD_ID.fullmatch(value):
        raise InvalidNameError(what, value, ID_RULE)
    return value


def path_value(value: object, what: str = "value") -> str:
    """A data value (an external id) as one quoted URL path segment; empty values are refused.

    Every character but letters, digits and ``-_.~`` is percent-quoted, so ``/``, ``?`` and ``#``
    cannot change the path; a value made only of dots is quoted whole (``%2E%2E``), since ``.``
    and ``..`` segments would otherwise be resolved away.

    Example:
        >>> path_value(".."), path_value("a.b")
        ('%2E%2E', 'a.b')
    """
    text = "" if value is None else str(value)
    if not text.strip():
        raise InvalidNameError(what, value, "a non-empty value is required")
    if text.strip(".") == "":
        return text.replace(".", "%2E")
    return quote(text, safe="")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host.lower(), url.port if url.port is not None else default


def on_instance(instance_url: str, url: str) -> str:
    """Resolve a URL taken from an answer against ``instance_url``; refuse it unless it stays home.

    Absolute URLs are kept; ``/services/...`` and ``services/...`` are taken from the instance
    root (``//host/...`` names another host and is refused). The result must have the
    instance's scheme, host and port, a path under ``/services/``, and no ``.``/``..`` segment.

    Raises:
        UnsafeUrlError: naming the URL and what is wrong with it.

    Example:
        >>> on_instance("https://x.my.salesforce.com", "https://evil.example/services/data")
        Traceback (most recent call last):
        ...
        kinetic_core.errors.UnsafeUrlError: refused to follow 'https://evil.example/services/data': ...
    """
    text = str(url).strip()
    if not text:
        raise UnsafeUrlError(text, instance_url, "it is empty")
    if "\\" in text or any(ord(c) < 0x21 for c in text):
        raise UnsafeUrlError(text, instance_url, "it holds a backslash, a space or a control character")
    _no_dot_segments(instance_url, text, text, decoded=True)
    resolved = urljoin(instance_url.rstrip("/") + "/", text)  # (urljoin drops dot segments)
    check_url(instance_url, resolved, shown=text)
    return resolved


def _no_dot_segments(instance_url: str, url: str, shown: str, *, decoded: bool = False) -> None:
    """Refuse ``.``/``..`` path segments (also percent-encoded ones when ``decoded``).

    A literal one would be resolved away before sending and change the target. An encoded one
    (``%2E%2E``) is sent as it is: the quoted form of an external id value made of dots, which
    is data; in a URL taken from an answer it is refused too.
    """
    parts = urlsplit(url).path.split("/")
    if any((unquote(part) if decoded else part) in (".", "..") for part in parts):
        raise UnsafeUrlError(shown, instance_url, "its path holds a '.' or '..' segment")


def check_url(instance_url: str, url: str, *, shown: str | None = None) -> None:
    """Refuse ``url`` (absolute) unless it is on ``instance_url``'s origin, under ``/services/``.

    Raises:
        UnsafeUrlError: naming the URL.
    """
    name = url if shown is None else shown
    try:
        target = httpx.URL(url)
        home = httpx.URL(instance_url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise UnsafeUrlError(name, instance_url, "it is not a valid URL") from None
    if _origin(target) != _origin(home):
        raise UnsafeUrlError(name, instance_url, f"it leads to {target.scheme}://{target.netloc.decode()}")
    if target.userinfo:
        raise UnsafeUrlError(name, instance_url, "it carries user information")
    _no_dot_segments(instance_url, url, name)
    raw_path = urlsplit(url).path
    if not (raw_path + "/").startswith(SERVICES) or not (target.path + "/").startswith(SERVICES):
        raise UnsafeUrlError(name, instance_url, "its path is not under /services/")
