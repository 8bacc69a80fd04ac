"""The chat area's tables (namespace ``chat`` in the shared SQLite store).

Why one list: :meth:`Database.migrate` applies an ordered list of steps per namespace, so the
conversation, message and persona tables live in one place. Append new steps; never edit a
released one (step 2 adds branches: ``parent_id``/``leaf_id``). The knowledge-base
code keeps its own tables under ``chat_kb``.
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
    # 2: branches and versions. Each message points at the one it answers or follows
    # (parent_id); the conversation remembers which leaf is shown (leaf_id). Editing a user
    # turn or regenerating an answer adds a sibling instead of overwriting, so every earlier
    # version stays. Existing conversations become one straight branch.
    """
    ALTER TABLE chat_messages ADD COLUMN parent_id INTEGER;
    ALTER TABLE chat_conversations ADD COLUMN leaf_id INTEGER;
    UPDATE chat_messages SET parent_id = (
        SELECT MAX(p.id) FROM chat_messages p
        WHERE p.conversation_id = chat_messages.conversation_id AND p.id < chat_messages.id
    );
    UPDATE chat_conversations SET leaf_id = (
        SELECT MAX(m.id) FROM chat_messages m WHERE m.conversation_id = chat_conversations.id
    );
    CREATE INDEX chat_messages_parent ON chat_messages(conversation_id, parent_id);
    """,
]


def chat_db(settings: Settings | None = None) -> Database:
    """The shared database with the chat tables in place."""
    db = get_db(settings or get_settings())
    db.migrate("chat", MIGRATIONS)
    return db
