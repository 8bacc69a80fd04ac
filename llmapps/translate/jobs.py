"""Job state in SQLite: what was asked, how far it got, where the outputs are.

Why persist jobs: an interrupted run (Ctrl-C, crash, server restart) must resume. The cache
already holds every finished batch; the job row remembers the request (file, options) and its
status, so the CLI finds the unfinished job for the same file and options and the server
requeues unfinished jobs when it starts again.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from llmapps.store.db import Database
from llmapps.translate.cache import migrate

# "failed" (bad input: corrupt, encrypted, over a limit) is finished: never resumed by itself.
UNFINISHED = ("queued", "running", "interrupted")


@dataclass
class JobRecord:
    id: str
    status: str
    fingerprint: str
    input_path: str
    options: dict[str, Any]
    progress: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "progress": self.progress,
            "formats": sorted(self.outputs),
            "error": self.error,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        migrate(db)

    def create(
        self, input_path: str, options: dict[str, Any], fingerprint: str, job_id: str | None = None
    ) -> JobRecord:
        now = time.time()
        job_id = job_id or uuid.uuid4().hex[:16]
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO translate_jobs(id, status, fingerprint, input_path, options, "
                "progress, outputs, error, created_at, updated_at) "
                "VALUES (?, 'queued', ?, ?, ?, '{}', '{}', NULL, ?, ?)",
                (job_id, fingerprint, input_path, json.dumps(options), now, now),
            )
        record = self.get(job_id)
        assert record is not None
        return record

    def get(self, job_id: str) -> JobRecord | None:
        row = self.db.query_one("SELECT * FROM translate_jobs WHERE id = ?", (job_id,))
        return _record(row) if row else None

    def find_unfinished(self, fingerprint: str) -> JobRecord | None:
        marks = ",".join("?" * len(UNFINISHED))
        row = self.db.query_one(
            f"SELECT * FROM translate_jobs WHERE fingerprint = ? AND status IN ({marks}) "
            "ORDER BY created_at DESC",
            (fingerprint, *UNFINISHED),
        )
        return _record(row) if row else None

    def recent(self, limit: int = 50) -> list[JobRecord]:
        """The newest jobs first, whatever their status (the web tab's job list)."""
        rows = self.db.query(
            "SELECT * FROM translate_jobs ORDER BY created_at DESC LIMIT ?", (int(limit),)
        )
        return [_record(r) for r in rows]

    def unfinished(self) -> list[JobRecord]:
        marks = ",".join("?" * len(UNFINISHED))
        rows = self.db.query(
            f"SELECT * FROM translate_jobs WHERE status IN ({marks}) ORDER BY created_at",
            UNFINISHED,
        )
        return [_record(r) for r in rows]

    def update(
        self,
        job_id: str,
        *,
        status: str | None = None,
        progress: dict[str, Any] | None = None,
        outputs: dict[str, str] | None = None,
        error: str | None = None,
    ) -> None:
        sets: list[str] = ["updated_at = ?"]
        params: list[Any] = [time.time()]
        if status is not None:
            sets.append("status = ?")
            params.append(status)
        if progress is not None:
            sets.append("progress = ?")
            params.append(json.dumps(progress, ensure_ascii=False))
        if outputs is not None:
            sets.append("outputs = ?")
            params.append(json.dumps(outputs))
        if error is not None or status == "done":
            sets.append("error = ?")
            params.append(error)
        with self.db.transaction() as conn:
            conn.execute(
                f"UPDATE translate_jobs SET {', '.join(sets)} WHERE id = ?", (*params, job_id)
            )


def _record(row: Any) -> JobRecord:
    return JobRecord(
        id=row["id"],
        status=row["status"],
        fingerprint=row["fingerprint"],
        input_path=row["input_path"],
        options=json.loads(row["options"]),
        progress=json.loads(row["progress"] or "{}"),
        outputs=json.loads(row["outputs"] or "{}"),
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
