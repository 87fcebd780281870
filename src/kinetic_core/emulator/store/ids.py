"""Salesforce record ids: 15-char case-sensitive ids and their 18-char checksummed form.

The checksum: split the 15 characters into three chunks of five; for each chunk
build a 5-bit number whose bit *i* is set when character *i* of the chunk is an
uppercase ASCII letter; map each number through ``A..Z0..5``.
"""

from __future__ import annotations

import string

_SUFFIX_ALPHABET = string.ascii_uppercase + "012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_ID_CHARS = frozenset(string.ascii_letters + string.digits)
_BITS = frozenset("01")
_UPPER_BITS = str.maketrans(
    dict.fromkeys(string.ascii_uppercase, "1") | {c: "0" for c in _BASE62 if not c.isupper()}
)


def checksum(id15: str) -> str:
    """The three-character suffix of a 15-character id.

    Example:
        >>> checksum("001D000000IqhSL")
        'IAZ'
    """
    bits = id15.translate(_UPPER_BITS)
    if len(bits) == 15 and set(bits) <= _BITS:
        alphabet = _SUFFIX_ALPHABET
        return (
            alphabet[int(bits[4::-1], 2)] + alphabet[int(bits[9:4:-1], 2)] + alphabet[int(bits[14:9:-1], 2)]
        )
    suffix = []
    for start in (0, 5, 10):
        value = 0
        for i, ch in enumerate(id15[start : start + 5]):
            if "A" <= ch <= "Z":
                value |= 1 << i
        suffix.append(_SUFFIX_ALPHABET[value])
    return "".join(suffix)


def to18(record_id: str) -> str:
    """Normalise a 15- or 18-character id to its 18-character form.

    Raises:
        ValueError: when the value is not a well-formed id.

    Example:
        >>> to18("001D000000IqhSL")
        '001D000000IqhSLIAZ'
    """
    if not is_well_formed(record_id):
        raise ValueError(f"malformed id {record_id}")
    if len(record_id) == 18:
        return record_id[:15] + record_id[15:].upper()  # the suffix was just checked against the checksum
    return record_id + checksum(record_id)


def is_well_formed(record_id: str) -> bool:
    """True for 15 alphanumerics, or 18 whose last three match the checksum (case-insensitively)."""
    if not isinstance(record_id, str) or len(record_id) not in (15, 18):
        return False
    if not set(record_id) <= _ID_CHARS:
        return False
    if len(record_id) == 18:
        return record_id[15:].upper() == checksum(record_id[:15])
    return True


def make_id(key_prefix: str, number: int, pod: str = "8c") -> str:
    """Build the 18-char id for record ``number`` of an object with ``key_prefix``.

    Layout: 3-char key prefix, 2-char pod, one reserved ``0``, 9 base-62 digits.

    Example:
        >>> make_id("001", 1)
        '0018c0000000001AAA'
    """
    if len(key_prefix) != 3 or len(pod) != 2:
        raise ValueError("key prefix must be 3 chars and pod 2 chars")
    digits = []
    n = number
    for _ in range(9):
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    if n:
        raise ValueError("record number out of range")
    id15 = key_prefix + pod + "0" + "".join(reversed(digits))
    return id15 + checksum(id15)


_PAIRS = [a + b for a in _BASE62 for b in _BASE62]
_PAIR_BITS = [int(a.isupper()) | int(b.isupper()) << 1 for a in _BASE62 for b in _BASE62]


def make_ids(key_prefix: str, first: int, count: int, pod: str = "8c") -> list[str]:
    """``count`` consecutive ids from record number ``first``: the same as calling :func:`make_id`, faster.

    Example:
        >>> make_ids("001", 1, 2) == [make_id("001", 1), make_id("001", 2)]
        True
    """
    if len(key_prefix) != 3 or len(pod) != 2:
        raise ValueError("key prefix must be 3 chars and pod 2 chars")
    if first < 0 or first + count > 62**9:
        raise ValueError("record number out of range")
    head = key_prefix + pod
    head_sum = _SUFFIX_ALPHABET[int(head.translate(_UPPER_BITS)[::-1], 2)]
    pairs, pair_bits, alphabet = _PAIRS, _PAIR_BITS, _SUFFIX_ALPHABET
    out: list[str] = []
    n, stop = first, first + count
    while n < stop:
        # Ids of one run of 3,844 share all but their last two characters and the last checksum bits.
        high, d1 = divmod(n, 3844)
        run = min(stop - n, 3844 - d1)
        rest, d2 = divmod(high, 3844)
        rest, d3 = divmod(rest, 3844)
        rest, d4 = divmod(rest, 3844)
        p3 = pairs[d3]
        mid = "0" + _BASE62[rest] + pairs[d4] + p3[0]
        prefix = head + mid + p3[1] + pairs[d2]
        fixed = head_sum + alphabet[int(mid.translate(_UPPER_BITS)[::-1], 2)]
        low = pair_bits[d3] >> 1 | pair_bits[d2] << 1
        out.extend(
            [prefix + pairs[d] + fixed + alphabet[low | pair_bits[d] << 3] for d in range(d1, d1 + run)]
        )
        n += run
    return out
