"""One SQLite database under the data directory, with per-namespace schema migrations."""

from llmapps.store.db import Database, get_db

__all__ = ["Database", "get_db"]
