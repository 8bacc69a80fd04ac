"""The translation cache: one SQLite row per (model, languages, prompt, glossary, style, text).

Why keyed on all of these: a cached answer is only valid for the exact request that produced
it; anything that changes the prompt must miss. A hit costs no model call, so a second run of
the same document, or the rest of an interrupted one, is free.
"""

from __future__ import annotations

import hashlib
import json
import time

from llmapps.store.db import Database

MIGRATIONS = [
    """
    CREATE TABLE translate_cache (
        key VARCHAR(64) PRIMARY KEY,
        model VARCHAR(200) NOT NULL,
        source_lang VARCHAR(20) NOT NULL,
        target_lang VARCHAR(20) NOT NULL,
        source_text TEXT NOT NULL,
        translation TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE translate_jobs (
        id VARCHAR(40) PRIMARY KEY,
        status VARCHAR(20) NOT NULL,
        fingerprint VARCHAR(64) NOT NULL,
        input_path TEXT NOT NULL,
        options TEXT NOT NULL,
        progress TEXT NOT NULL,
        outputs TEXT NOT NULL,
        error TEXT,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX translate_jobs_fingerprint ON translate_jobs(fingerprint, status);
    """
]


def migrate(db: Database) -> None:
    db.migrate("translate", MIGRATIONS)


def cache_key(
    model: str, source: str, target: str, prompt_version: str, glossary: str, style: str, text: str
) -> str:
    raw = json.dumps([model, source, target, prompt_version, glossary, style, text])
    return hashlib.sha256(raw.encode()).hexdigest()


class TranslationCache:
    """Look-ups and stores on the shared database (thread-safe: per-thread connections)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        migrate(db)

    def get_many(self, keys: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.query(
                f"SELECT key, translation FROM translate_cache WHERE key IN ({marks})", chunk
            )
            found.update({r["key"]: r["translation"] for r in rows})
        return found

    def put_many(self, rows: list[tuple[str, str, str, str, str, str]]) -> None:
        """``rows``: (key, model, source_lang, target_lang, source_text, translation)."""
        now = time.time()
        with self.db.transaction() as conn:
            for key, model, src, tgt, text, translation in rows:
                conn.execute(
                    "INSERT INTO translate_cache(key, model, source_lang, target_lang, "
                    "source_text, translation, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET translation = excluded.translation",
                    (key, model, src, tgt, text, translation, now),
                )
