"""Kinetic Core: move data in and out of Salesforce.

Example:
    >>> from kinetic_core import SalesforceClient
    >>> client = SalesforceClient.connect()          # doctest: +SKIP
    >>> client.query_one("SELECT Id FROM Account")   # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "3.0.0.dev0"

__all__ = ["__version__"]
