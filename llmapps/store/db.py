"""The SQLite store.

Why this shape: every application keeps its state in the same database file (one backup, one
place), but each owns its tables. ``Database.migrate(namespace, steps)`` applies an
application's ordered list of SQL migrations once, recorded in ``schema_versions``, so
applications never edit a shared schema file. SQL stays portable (no SQLite-only types) so
PostgreSQL could replace it.

Connections are per thread (sqlite3 objects must not cross threads); WAL mode lets readers and
one writer work at the same time, and ``busy_timeout`` waits out short write locks.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from llmapps.config import Settings, get_settings

_SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS schema_versions (
    namespace TEXT PRIMARY KEY,
    version INTEGER NOT NULL
)
"""


class Database:
    """A SQLite file with per-thread connections and namespaced migrations."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._migrate_lock = threading.Lock()
        self._migrated: set[str] = set()
        with self.transaction() as conn:
            conn.execute(_SCHEMA_TABLE)

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on error. Nested use joins the outer one."""
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        return list(self.conn.execute(sql, params).fetchall())

    def query_one(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def migrate(self, namespace: str, steps: Sequence[str]) -> None:
        """Apply the not-yet-applied ``steps`` (each a SQL script) of ``namespace`` in order."""
        if namespace in self._migrated:
            return
        with self._migrate_lock:
            if namespace in self._migrated:
                return
            with self.transaction() as conn:
                row = conn.execute(
                    "SELECT version FROM schema_versions WHERE namespace = ?", (namespace,)
                ).fetchone()
                current = row["version"] if row else 0
                for version, script in enumerate(steps, start=1):
                    if version <= current:
                        continue
                    for statement in _split_sql(script):
                        conn.execute(statement)
                if len(steps) > current:
                    conn.execute(
                        "INSERT INTO schema_versions(namespace, version) VALUES (?, ?) "
                        "ON CONFLICT(namespace) DO UPDATE SET version = excluded.version",
                        (namespace, len(steps)),
                    )
            self._migrated.add(namespace)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (``executescript`` would commit implicitly)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


_instances: dict[Path, Database] = {}
_instances_lock = threading.Lock()


def get_db(settings: Settings | None = None) -> Database:
    """The process-wide :class:`Database` for the settings' data directory."""
    path = (settings or get_settings()).db_path.resolve()
    with _instances_lock:
        db = _instances.get(path)
        if db is None:
            db = _instances[path] = Database(path)
        return db
