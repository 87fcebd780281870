"""The emulator's SQLite store: schema metadata, ids, typed values and records.

Example:
    >>> import tempfile, pathlib
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "org.db", build_schema())
    >>> store.get("User", store.admin_user_id)["Username"]
    'admin@kinetic.local'
    >>> store.close()
"""

from kinetic_core.emulator.store.bulkops import RowOutcome, UpsertOutcome
from kinetic_core.emulator.store.custom import SchemaError, build_schema, load_schema_file
from kinetic_core.emulator.store.describe import describe_global, describe_sobject
from kinetic_core.emulator.store.messages import MultipleMatches
from kinetic_core.emulator.store.records import Store, utc_now
from kinetic_core.emulator.store.standard import standard_objects
from kinetic_core.emulator.store.values import UNCHANGED, from_csv, from_json, to_csv, to_json

__all__ = [
    "UNCHANGED",
    "MultipleMatches",
    "RowOutcome",
    "SchemaError",
    "Store",
    "UpsertOutcome",
    "build_schema",
    "describe_global",
    "describe_sobject",
    "from_csv",
    "from_json",
    "load_schema_file",
    "standard_objects",
    "to_csv",
    "to_json",
    "utc_now",
]
