"""The chat area's tables (namespace ``chat`` in the shared SQLite store).

Why one list: :meth:`Database.migrate` applies an ordered list of steps per namespace, so the
conversation, message and persona tables live in one place. Append new steps; never edit a
released one. The knowledge-base code keeps its own tables under ``chat_kb``.
"""

from __future__ import annotations

from llmapps.config import Settings, get_settings
from llmapps.store import Database, get_db

MIGRATIONS = [
    """
    CREATE TABLE chat_conversations (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        persona TEXT,
        model TEXT,
        kb TEXT,
        memory TEXT,
        tools TEXT,
        summary TEXT NOT NULL DEFAULT '',
        summary_upto INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE chat_messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES chat_conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        content TEXT NOT NULL,
        citations TEXT NOT NULL DEFAULT '[]',
        tool_events TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL DEFAULT 'complete',
        created_at TEXT NOT NULL
    );
    CREATE INDEX chat_messages_conv ON chat_messages(conversation_id, id);
    CREATE TABLE chat_personas (
        name TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
]


def chat_db(settings: Settings | None = None) -> Database:
    """The shared database with the chat tables in place."""
    db = get_db(settings or get_settings())
    db.migrate("chat", MIGRATIONS)
    return db
