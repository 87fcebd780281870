"""A local Salesforce org: a real HTTP(S) server on SQLite speaking the Salesforce protocol.

Example:
    >>> from kinetic_core.emulator import LocalOrg
    >>> with LocalOrg() as org:  # doctest: +SKIP
    ...     print(org.instance_url)
"""

from __future__ import annotations

from kinetic_core.emulator.app import create_app
from kinetic_core.emulator.org import Org, OrgSettings
from kinetic_core.emulator.server import LocalOrg

__all__ = ["LocalOrg", "Org", "OrgSettings", "create_app"]
