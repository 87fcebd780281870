"""SOQL for the emulator: lark grammar -> syntax tree -> schema validation -> SQL -> Salesforce JSON/CSV.

Entry point: :class:`QueryEngine` (``run``/``more`` for REST query and queryAll,
``columns`` for ``columns=true``, ``validate_bulk``/``iter_csv_rows`` for Bulk 2.0).
"""

from __future__ import annotations

from .bulk import BulkQueryPlan
from .engine import QueryEngine, QueryPage, utc_now
from .parser import parse_soql

__all__ = ["BulkQueryPlan", "QueryEngine", "QueryPage", "parse_soql", "utc_now"]
