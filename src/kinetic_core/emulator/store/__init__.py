"""The emulator's SQLite store: schema metadata, ids, typed values and records."""
