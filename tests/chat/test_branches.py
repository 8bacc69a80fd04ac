"""Branches and versions: edit any turn, regenerate with versions, delete, queue while busy.

Fake chat models drive the flow; the store is the real SQLite file of the test's data dir.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from llmapps.chat.conversations import ConversationStore
from llmapps.chat.schema import MIGRATIONS
from llmapps.chat.service import ChatError, ChatService, Turn
from llmapps.config import get_settings
from llmapps.store import Database


def make_service(*responses: str) -> ChatService:
    model = FakeListChatModel(responses=list(responses))
    return ChatService(get_settings(), model_factory=lambda spec, params: model)


def run(turn: Any) -> int:
    events = list(turn)
    return int(events[-1].data["conversation_id"])


def shown(service: ChatService, cid: int) -> list[str]:
    return [m.content for m in service.store.messages(cid)]


def test_edit_earlier_turn_branches_and_versions_flip() -> None:
    service = make_service("A1", "A2", "A1b", "A1c")
    cid = run(service.send(None, "Q1"))
    run(service.send(cid, "Q2"))
    assert shown(service, cid) == ["Q1", "A1", "Q2", "A2"]
    first_q = service.store.messages(cid)[0]
    run(service.edit(cid, first_q.id, "Q1 edited"))
    assert shown(service, cid) == ["Q1 edited", "A1b"]
    versions = service.store.versions(service.store.messages(cid)[0].id)
    assert [v.content for v in versions] == ["Q1", "Q1 edited"]
    # flip back: the old branch comes back whole, with the later turn
    service.switch_version(cid, versions[1].id, -1)
    assert shown(service, cid) == ["Q1", "A1", "Q2", "A2"]
    service.switch_version(cid, versions[0].id, +1)
    assert shown(service, cid) == ["Q1 edited", "A1b"]
    # regenerate keeps the earlier answer as version 1/2
    answer = service.store.messages(cid)[-1]
    run(service.regenerate(cid, answer.id))
    assert shown(service, cid) == ["Q1 edited", "A1c"]
    answers = service.store.versions(service.store.messages(cid)[-1].id)
    assert [a.content for a in answers] == ["A1b", "A1c"]
    service.switch_version(cid, answers[1].id, -1)
    assert shown(service, cid) == ["Q1 edited", "A1b"]


def test_history_sent_to_the_model_follows_the_branch() -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    seen: list[list[str]] = []

    class Recorder(BaseCallbackHandler):
        def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
            seen.append([str(m.content) for m in messages[0]])

    model = FakeListChatModel(responses=["A1", "A2", "B"], callbacks=[Recorder()])
    service = ChatService(get_settings(), model_factory=lambda spec, params: model)
    cid = run(service.send(None, "Q1"))
    run(service.send(cid, "Q2"))
    q2 = service.store.messages(cid)[2]
    run(service.edit(cid, q2.id, "Q2 new"))
    assert "Q2" not in seen[-1] and seen[-1][-3:] == ["Q1", "A1", "Q2 new"]


def test_delete_message_drops_what_followed_and_shows_another_version() -> None:
    service = make_service("A1", "A2", "A2b")
    cid = run(service.send(None, "Q1"))
    run(service.send(cid, "Q2"))
    run(service.regenerate(cid))
    newest = service.store.messages(cid)[-1]
    service.delete_message(cid, newest.id)
    assert shown(service, cid) == ["Q1", "A1", "Q2", "A2"]
    q2 = service.store.messages(cid)[2]
    service.delete_message(cid, q2.id)
    assert shown(service, cid) == ["Q1", "A1"]
    assert [m.content for m in service.store.all_messages(cid)] == ["Q1", "A1"]


def test_message_sent_while_answering_is_queued_stored_and_answered() -> None:
    service = make_service("first answer", "second answer")
    turn = service.submit(None, "first")
    assert isinstance(turn, Turn)
    events = iter(turn)
    start = next(events)
    cid = start.data["conversation_id"]
    queued = service.submit(cid, "second")  # the first answer has not finished
    assert not isinstance(queued, Turn) and queued.status == "queued"
    assert [m.content for m in service.store.queued(cid)] == ["second"]
    rest = list(events)
    assert [e.data["content"] for e in rest if e.kind == "done"] == [
        "first answer",
        "second answer",
    ]
    assert shown(service, cid) == ["first", "first answer", "second", "second answer"]
    assert service.store.queued(cid) == []
    # not busy any more: the next message is answered by its own turn
    assert isinstance(service.submit(cid, "third"), Turn)


def test_queued_message_survives_a_closed_client() -> None:
    service = make_service("one", "two")
    turn = service.submit(None, "first")
    assert isinstance(turn, Turn)
    stream = turn.threaded()
    cid = next(stream).data["conversation_id"]
    service.submit(cid, "second")
    stream.close()  # the page went away mid-answer
    store = ConversationStore(get_settings())
    kept = [m.content for m in store.all_messages(cid)]
    assert "first" in kept and "second" in kept


def test_edit_rejects_answers_and_foreign_messages() -> None:
    service = make_service("A1", "B1")
    cid = run(service.send(None, "Q1"))
    other = run(service.send(None, "other"))
    answer = service.store.messages(cid)[1]
    with pytest.raises(ChatError, match="only your own messages"):
        service.edit(cid, answer.id, "x")
    with pytest.raises(ChatError, match="not part of conversation"):
        service.edit(cid, service.store.messages(other)[0].id, "x")


def test_migration_turns_old_conversations_into_one_branch(tmp_path: Any) -> None:
    db = Database(tmp_path / "old.db")
    db.migrate("chat", MIGRATIONS[:1])
    db.execute(
        "INSERT INTO chat_conversations(id, title, created_at, updated_at) "
        "VALUES (1, 't', 'x', 'x')"
    )
    for role, text in (("user", "Q"), ("assistant", "A"), ("user", "Q2")):
        db.execute(
            "INSERT INTO chat_messages(conversation_id, role, content, created_at) "
            "VALUES (1, ?, ?, 'x')",
            (role, text),
        )
    fresh = Database(tmp_path / "old.db")
    fresh.migrate("chat", MIGRATIONS)
    rows = fresh.query("SELECT id, parent_id FROM chat_messages ORDER BY id")
    assert [(r["id"], r["parent_id"]) for r in rows] == [(1, None), (2, 1), (3, 2)]
    leaf = fresh.query_one("SELECT leaf_id FROM chat_conversations WHERE id = 1")
    assert leaf is not None and leaf["leaf_id"] == 3
