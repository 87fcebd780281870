"""Record helpers: flatten query results into ``Relationship.Field`` keys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def _is_query_result(value: Mapping[str, Any]) -> bool:
    return "records" in value and "totalSize" in value and isinstance(value.get("records"), list)


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten one REST record: drop ``attributes``, nest parents as ``Account.Owner.Name`` keys.

    A null parent stays a single ``None`` key (``"Account": None``); a child subquery becomes a list of
    flattened child records (``None`` when there are no children); compound values (addresses) are kept.

    Example:
        >>> flatten({"attributes": {"type": "Contact"}, "Id": "003",
        ...          "Account": {"attributes": {"type": "Account"}, "Name": "Acme", "Owner": None}})
        {'Id': '003', 'Account.Name': 'Acme', 'Account.Owner': None}
    """
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        name = prefix + key
        if isinstance(value, Mapping) and _is_query_result(value):
            out[name] = [flatten(child) for child in value["records"]]
        elif isinstance(value, Mapping) and "attributes" in value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def cell_text(value: Any) -> str:
    """One value as a CSV cell: empty for None, ``true``/``false``, JSON for dicts and lists.

    Example:
        >>> [cell_text(v) for v in (None, True, 1.5, {"a": 1})]
        ['', 'true', '1.5', '{"a": 1}']
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)
