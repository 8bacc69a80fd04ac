"""The stored responses of /v1/responses on a real SQLite file: continuation, deletion, cap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmapps.serve.responses_store import ResponseStore
from llmapps.store import Database


def response(rid: str, text: str) -> dict[str, Any]:
    message = {"type": "message", "role": "assistant", "content": [{"text": text}]}
    return {"id": rid, "created_at": 0, "model": "m", "output": [message]}


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def test_conversation_is_context_then_output(tmp_path: Path) -> None:
    store = ResponseStore(Database(tmp_path / "llmapps.db"))
    store.save(response("resp_1", "Hello Ada."), [user("I am Ada.")])
    assert store.conversation("resp_1") == [
        user("I am Ada."),
        *response("resp_1", "Hello Ada.")["output"],
    ]
    assert store.context("resp_1") == [user("I am Ada.")]
    assert store.get("resp_1") == response("resp_1", "Hello Ada.")
    assert store.conversation("resp_missing") is None


def test_delete_and_migration_reopen(tmp_path: Path) -> None:
    path = tmp_path / "llmapps.db"
    store = ResponseStore(Database(path))
    store.save(response("resp_1", "a"), [])
    reopened = ResponseStore(Database(path))  # the migration runs once; rows survive
    assert reopened.get("resp_1") is not None
    assert reopened.delete("resp_1") is True
    assert reopened.delete("resp_1") is False
    assert reopened.get("resp_1") is None


def test_oldest_responses_go_beyond_the_cap(tmp_path: Path) -> None:
    store = ResponseStore(Database(tmp_path / "llmapps.db"), max_rows=2)
    for i in range(1, 4):
        store.save(response(f"resp_{i}", str(i)), [])
    assert store.get("resp_1") is None
    assert store.get("resp_2") is not None and store.get("resp_3") is not None
