"""Sentinel's tables (namespace ``sentinel``) in the shared SQLite database.

Why one module: every sentinel module reaches its tables through :func:`sentinel_db`, which
applies the migrations once per process. Steps are append-only; never edit a released step.
"""

from __future__ import annotations

from llmapps.config import Settings
from llmapps.store import Database, get_db

MIGRATIONS = [
    """
    CREATE TABLE sentinel_subscriptions (
        id INTEGER PRIMARY KEY,
        kind VARCHAR(16) NOT NULL,
        target TEXT NOT NULL,
        schedule TEXT NOT NULL,
        at_time VARCHAR(8),
        timezone VARCHAR(64) NOT NULL,
        language VARCHAR(8) NOT NULL,
        emails TEXT NOT NULL,
        webhooks TEXT NOT NULL,
        model TEXT,
        enabled INTEGER NOT NULL DEFAULT 1,
        last_window_end VARCHAR(32),
        last_run_at VARCHAR(32),
        last_status TEXT,
        created_at VARCHAR(32) NOT NULL,
        updated_at VARCHAR(32) NOT NULL,
        UNIQUE (kind, target)
    );
    CREATE TABLE sentinel_http_cache (
        url TEXT PRIMARY KEY,
        etag TEXT,
        link TEXT,
        body TEXT NOT NULL,
        stored_at VARCHAR(32) NOT NULL
    );
    CREATE TABLE sentinel_activity (
        id INTEGER PRIMARY KEY,
        target TEXT NOT NULL,
        kind VARCHAR(32) NOT NULL,
        item_key TEXT NOT NULL,
        title TEXT NOT NULL,
        url TEXT,
        author TEXT,
        occurred_at VARCHAR(32) NOT NULL,
        data TEXT NOT NULL,
        first_seen_at VARCHAR(32) NOT NULL,
        UNIQUE (target, kind, item_key)
    );
    CREATE INDEX sentinel_activity_when ON sentinel_activity (target, occurred_at);
    CREATE TABLE sentinel_hn_snapshots (
        id INTEGER PRIMARY KEY,
        taken_at VARCHAR(32) NOT NULL,
        list_name VARCHAR(16) NOT NULL,
        rank INTEGER NOT NULL,
        item_id INTEGER NOT NULL,
        title TEXT NOT NULL,
        url TEXT,
        score INTEGER NOT NULL,
        comments INTEGER NOT NULL,
        author TEXT,
        posted_at VARCHAR(32)
    );
    CREATE INDEX sentinel_hn_when ON sentinel_hn_snapshots (taken_at);
    CREATE TABLE sentinel_reports (
        id INTEGER PRIMARY KEY,
        subscription_id INTEGER,
        target TEXT NOT NULL,
        report_type VARCHAR(16) NOT NULL,
        window_start VARCHAR(32) NOT NULL,
        window_end VARCHAR(32) NOT NULL,
        version INTEGER NOT NULL,
        language VARCHAR(8) NOT NULL,
        model TEXT,
        title TEXT NOT NULL,
        markdown TEXT NOT NULL,
        path TEXT NOT NULL,
        raw_path TEXT NOT NULL,
        item_count INTEGER NOT NULL,
        created_at VARCHAR(32) NOT NULL
    );
    CREATE INDEX sentinel_reports_target ON sentinel_reports (target, created_at);
    CREATE TABLE sentinel_deliveries (
        id INTEGER PRIMARY KEY,
        report_id INTEGER NOT NULL,
        channel VARCHAR(16) NOT NULL,
        destination TEXT NOT NULL,
        format VARCHAR(16),
        status VARCHAR(16) NOT NULL,
        attempts INTEGER NOT NULL,
        last_error TEXT,
        created_at VARCHAR(32) NOT NULL,
        updated_at VARCHAR(32) NOT NULL
    );
    CREATE TABLE sentinel_jobs (
        id VARCHAR(191) PRIMARY KEY,
        next_run_time DOUBLE PRECISION,
        job_state TEXT NOT NULL
    );
    CREATE INDEX sentinel_jobs_next ON sentinel_jobs (next_run_time);
    """,
]


# Watch filters and "no repeats" (issue 13): a namespace of their own, applied after
# ``sentinel``, so these steps never collide with steps other work appends to MIGRATIONS.
WATCH_MIGRATIONS = [
    """
    ALTER TABLE sentinel_subscriptions ADD COLUMN watch TEXT NOT NULL DEFAULT '{}';
    CREATE TABLE sentinel_seen (
        scope VARCHAR(64) NOT NULL,
        kind VARCHAR(32) NOT NULL,
        item_key VARCHAR(191) NOT NULL,
        report_id INTEGER NOT NULL,
        PRIMARY KEY (scope, kind, item_key)
    );
    """,
]


def sentinel_db(settings: Settings) -> Database:
    """The shared database with sentinel's tables migrated."""
    db = get_db(settings)
    db.migrate("sentinel", MIGRATIONS)
    db.migrate("sentinel_watch", WATCH_MIGRATIONS)
    return db
