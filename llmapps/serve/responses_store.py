"""Stored responses of ``/v1/responses`` (``store: true``), in the shared SQLite store.

Why each row keeps the whole conversation (``context``: every input item up to and including
this request's) and not just a link to its predecessor: ``previous_response_id`` then costs one
read, and deleting a response never breaks the responses that continued from it, which is how
OpenAI behaves. Instructions are not part of the context; OpenAI does not carry them over either.

The table lives in its own migration namespace (``serve_responses``). The store holds at most
``max_rows`` responses; the oldest beyond that are removed when a new one is saved, so a
long-running server cannot fill the disk through this endpoint.
"""

from __future__ import annotations

import json
from typing import Any

from llmapps.store import Database

NAMESPACE = "serve_responses"
MIGRATIONS = [
    """
    CREATE TABLE serve_responses (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        model TEXT NOT NULL,
        body TEXT NOT NULL,
        context TEXT NOT NULL
    );
    """,
]
DEFAULT_MAX_ROWS = 10_000


class ResponseStore:
    """Save, read and delete responses; ``context`` is the conversation a continuation extends."""

    def __init__(self, db: Database, max_rows: int = DEFAULT_MAX_ROWS) -> None:
        self.db = db
        self.max_rows = max(1, max_rows)
        db.migrate(NAMESPACE, MIGRATIONS)

    def save(self, response: dict[str, Any], context: list[dict[str, Any]]) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO serve_responses(id, created_at, model, body, context) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    response["id"],
                    int(response["created_at"]),
                    str(response["model"]),
                    json.dumps(response, ensure_ascii=False),
                    json.dumps(context, ensure_ascii=False),
                ),
            )
            conn.execute(
                "DELETE FROM serve_responses WHERE seq <= "
                "(SELECT MAX(seq) FROM serve_responses) - ?",
                (self.max_rows,),
            )

    def get(self, response_id: str) -> dict[str, Any] | None:
        row = self.db.query_one("SELECT body FROM serve_responses WHERE id = ?", (response_id,))
        return None if row is None else dict(json.loads(row["body"]))

    def conversation(self, response_id: str) -> list[dict[str, Any]] | None:
        """The items a continuation of ``response_id`` starts from: its context, then its output."""
        row = self.db.query_one(
            "SELECT body, context FROM serve_responses WHERE id = ?", (response_id,)
        )
        if row is None:
            return None
        return list(json.loads(row["context"])) + list(json.loads(row["body"])["output"])

    def context(self, response_id: str) -> list[dict[str, Any]] | None:
        """The input items of ``response_id`` (inherited ones included), oldest first."""
        row = self.db.query_one("SELECT context FROM serve_responses WHERE id = ?", (response_id,))
        return None if row is None else list(json.loads(row["context"]))

    def delete(self, response_id: str) -> bool:
        with self.db.transaction() as conn:
            cursor = conn.execute("DELETE FROM serve_responses WHERE id = ?", (response_id,))
            return cursor.rowcount > 0
