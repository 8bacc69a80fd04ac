"""The chat turn with LangChain fake chat models: events, stop, regenerate, edit."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from llmapps.chat.service import ChatError, ChatEvent, ChatService
from llmapps.config import get_settings


def service_with(*responses: str, sleep: float | None = None) -> tuple[ChatService, list[Any]]:
    """A service whose model factory hands out one fake model; records what it was asked."""
    model = FakeListChatModel(responses=list(responses), sleep=sleep)
    calls: list[Any] = []

    def factory(spec: str | None, params: dict[str, Any]) -> BaseChatModel:
        calls.append((spec, params))
        return model

    return ChatService(get_settings(), model_factory=factory), calls


def kinds(events: list[ChatEvent]) -> list[str]:
    return [e.kind for e in events]


def test_turn_streams_tokens_and_stores_both_messages() -> None:
    service, calls = service_with("Hello there!")
    events = list(service.send(None, "Hi", persona="translator", model="local:other"))
    assert kinds(events)[0] == "start" and kinds(events)[-1] == "done"
    tokens = [e.data["text"] for e in events if e.kind == "token"]
    assert len(tokens) > 1 and "".join(tokens) == "Hello there!"
    done = events[-1].data
    assert done["status"] == "complete" and done["content"] == "Hello there!"
    cid = done["conversation_id"]
    stored = service.store.messages(cid)
    assert [(m.role, m.content) for m in stored] == [("user", "Hi"), ("assistant", "Hello there!")]
    assert stored[1].id == done["message_id"]
    conv = service.store.get(cid)
    assert (conv.persona, conv.model, conv.title) == ("translator", "local:other", "Hi")
    assert calls == [("local:other", {"temperature": 0.2})]  # persona parameters applied


def test_second_turn_sends_history_and_system_prompt() -> None:
    from langchain_core.callbacks import BaseCallbackHandler

    seen: list[Any] = []

    class Recorder(BaseCallbackHandler):
        def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
            seen.append(messages[0])

    model = FakeListChatModel(responses=["one", "two"], callbacks=[Recorder()])
    service = ChatService(get_settings(), model_factory=lambda spec, params: model)
    first = list(service.send(None, "first question", persona="coder"))
    cid = first[-1].data["conversation_id"]
    list(service.send(cid, "second question"))
    sent = seen[-1]
    assert sent[0].type == "system" and "software engineer" in sent[0].content
    assert [m.content for m in sent[1:]] == ["first question", "one", "second question"]


def test_stop_mid_stream_keeps_the_partial_answer() -> None:
    service, _ = service_with("abcdefghijklmnopqrstuvwxyz" * 4, sleep=0.005)
    turn = service.send(None, "tell me the alphabet")
    events: list[ChatEvent] = []
    for event in turn:
        events.append(event)
        if sum(1 for e in events if e.kind == "token") == 5:
            assert service.stop(turn.conversation_id)
    done = events[-1]
    assert done.kind == "done" and done.data["status"] == "stopped"
    partial = done.data["content"]
    assert 5 <= len(partial) < 104 and "abcdefghijklmnopqrstuvwxyz".startswith(partial[:5])
    stored = service.store.messages(turn.conversation_id)[-1]
    assert (stored.role, stored.content, stored.status) == ("assistant", partial, "stopped")
    assert service.stop(turn.conversation_id) is False  # nothing running any more


def test_closing_the_stream_stores_what_was_said() -> None:
    service, _ = service_with("0123456789" * 10, sleep=0.005)
    turn = service.send(None, "count")
    stream = turn.threaded()
    seen = 0
    for event in stream:
        if event.kind == "token":
            seen += 1
            if seen == 3:
                break
    stream.close()  # type: ignore[attr-defined]
    stored = service.store.messages(turn.conversation_id)[-1]
    assert stored.role == "assistant" and stored.status == "stopped"
    assert stored.content.startswith("012") and len(stored.content) < 100


def test_regenerate_replaces_the_last_answer() -> None:
    service, _ = service_with("first answer", "second answer")
    cid = list(service.send(None, "question"))[-1].data["conversation_id"]
    events = list(service.regenerate(cid))
    assert events[-1].data["content"] == "second answer"
    stored = service.store.messages(cid)
    assert [(m.role, m.content) for m in stored] == [
        ("user", "question"),
        ("assistant", "second answer"),
    ]


def test_edit_last_user_message_answers_again() -> None:
    service, _ = service_with("answer A", "answer B")
    cid = list(service.send(None, "typo questoin"))[-1].data["conversation_id"]
    list(service.edit_last(cid, "typo question"))
    stored = service.store.messages(cid)
    assert [(m.role, m.content) for m in stored] == [
        ("user", "typo question"),
        ("assistant", "answer B"),
    ]


def test_bad_input_raises_before_streaming() -> None:
    service, _ = service_with("x")
    with pytest.raises(ChatError, match="empty message"):
        service.send(None, "   ")
    conv = service.new_conversation()
    with pytest.raises(ChatError, match="nothing to regenerate"):
        service.regenerate(conv.id)
    with pytest.raises(ChatError, match="answers only from a knowledge base"):
        service.send(conv.id, "price?", persona="sales")
    from llmapps.chat.personas import PersonaNotFound

    with pytest.raises(PersonaNotFound):
        service.send(None, "hi", persona="nobody")


def test_context_overflow_is_an_error_event_not_a_silent_cut() -> None:
    settings = get_settings()
    settings.chat.context_tokens = 100
    settings.chat.answer_tokens = 50
    service = ChatService(settings, model_factory=lambda s, p: FakeListChatModel(responses=["x"]))
    events = list(service.send(None, "word " * 200))
    errors = [e for e in events if e.kind == "error"]
    assert errors and "shorten the message" in errors[0].data["message"]
    assert events[-1].data["status"] == "error"


def test_summary_memory_in_a_turn_stores_the_models_summary() -> None:
    service, _ = service_with("a1", "a2", "SUMMARY: talked about a and b", "a3")
    conv = service.new_conversation(memory="summary")
    service.personas.create({"name": "tiny-window", "window_turns": 1, "memory": "summary"})
    service.configure(conv.id, persona="tiny-window")
    list(service.send(conv.id, "about a"))
    list(service.send(conv.id, "about b"))
    events = list(service.send(conv.id, "and now?"))
    assert events[-1].data["content"] == "a3"
    stored = service.store.get(conv.id)
    assert stored.summary == "SUMMARY: talked about a and b"
    assert stored.summary_upto == service.store.messages(conv.id)[1].id
