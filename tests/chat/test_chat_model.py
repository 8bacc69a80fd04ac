"""End to end on the real embedded model (SmolLM2-135M): a turn, streaming over HTTP, trimming."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from llmapps.app import create_app
from llmapps.chat.memory import build_messages
from llmapps.chat.service import ChatService
from llmapps.config import get_settings
from llmapps.models import get_chat_model

pytestmark = pytest.mark.model


def test_turn_on_the_embedded_model_streams_and_stores() -> None:
    service = ChatService(get_settings())
    service.personas.create(
        {
            "name": "tiny",
            "system_prompt": "Answer in one short sentence.",
            "max_tokens": 12,
            "temperature": 0.0,
        }
    )
    events = list(service.send(None, "What colour is the sky?", persona="tiny"))
    tokens = [e.data["text"] for e in events if e.kind == "token"]
    done = events[-1].data
    assert not [e for e in events if e.kind == "error"]
    assert len(tokens) >= 2 and done["status"] == "complete"
    assert done["content"] == "".join(tokens) and done["content"].strip()
    stored = service.store.messages(done["conversation_id"])
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[1].content == done["content"]


def test_http_streaming_on_the_embedded_model(live_server: Any) -> None:
    server = live_server(create_app(get_settings(), ui=False))
    with httpx.Client(base_url=server.url, timeout=120) as client:
        client.post("/chat/personas", json={"name": "tiny", "max_tokens": 10, "temperature": 0})
        cid = client.post("/chat/conversations", json={"persona": "tiny"}).json()["id"]
        with client.stream(
            "POST", f"/chat/conversations/{cid}/messages", json={"content": "Say hello."}
        ) as response:
            events = [json.loads(line) for line in response.iter_lines() if line]
    tokens = [e for e in events if e["type"] == "token"]
    assert tokens and events[-1]["type"] == "done" and events[-1]["status"] == "complete"


def test_exact_token_trimming_with_a_small_context(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMAPPS_MODELS__N_CTX", "256")
    settings = get_settings()
    model = get_chat_model(settings=settings, max_tokens=64)
    service = ChatService(settings)
    conv = service.store.create()
    for i in range(12):
        service.store.add_message(conv.id, "user", f"Tell me fact number {i} about the sea.")
        service.store.add_message(conv.id, "assistant", f"Fact {i}: the sea is large and salty.")
    result = build_messages(
        model=model,
        settings=settings,
        system="You are brief.",
        history=service.store.messages(conv.id),
        question="And one more?",
        strategy="full",
        window_turns=8,
    )
    assert result.budget == 256 - 64 - 16
    assert 0 < result.kept < 24 and result.dropped == 24 - result.kept
    exact = sum(model.get_num_tokens(str(m.content)) + 6 for m in result.messages)
    assert exact == result.tokens <= result.budget
    # the model accepts what was kept
    reply = model.invoke(result.messages)
    assert isinstance(reply.content, str)
    # a message that cannot fit is refused with a clear error, not cut
    events = list(ChatService(settings, model_factory=lambda s, p: model).send(None, "sea " * 400))
    assert any(e.kind == "error" and "tokens" in e.data["message"] for e in events)


def test_kb_turn_on_the_embedded_model_with_hybrid_retrieval(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from llmapps.chat.kb import add_paths, create_kb

    monkeypatch.setenv("LLMAPPS_CHAT__KB_VECTORS", "true")  # the bundled model's vectors too
    settings = get_settings()
    doc = tmp_path / "policy.md"
    doc.write_text(
        "# Returns\n\nOpened boxes can be returned within 30 days for a full refund.\n\n"
        "# Shipping\n\nOrders ship from Hangzhou within two working days.\n",
        encoding="utf-8",
    )
    create_kb("shop", settings=settings)
    add_paths("shop", [doc], settings=settings)  # embedded-model vectors + BM25
    service = ChatService(settings)
    service.personas.create({"name": "tiny", "max_tokens": 16, "temperature": 0.0})
    events = list(
        service.send(None, "Can opened boxes be returned for a refund?", persona="tiny", kb="shop")
    )
    cites = next(e for e in events if e.kind == "citations").data["citations"]
    assert cites[0]["source"] == "policy.md" and cites[0]["location"] == "Returns"
    done = events[-1].data
    assert done["status"] == "complete" and done["content"].strip() and not done["refused"]
    assert service.store.message(done["message_id"]).citations[0]["location"] == "Returns"
    unrelated = list(
        service.send(done["conversation_id"], "What is the airspeed of an unladen swallow?")
    )
    assert unrelated[-1].data["refused"] is True
    assert unrelated[-1].data["content"].startswith("I don't know")


def test_agent_turn_on_the_embedded_model_ends_and_is_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMAPPS_CHAT__AGENT_MAX_STEPS", "2")
    service = ChatService(get_settings())
    service.personas.create({"name": "tiny", "max_tokens": 48, "temperature": 0.0})
    events = list(
        service.send(
            None, "What is 12*12? Use the calculator.", persona="tiny", tools=["calculator"]
        )
    )
    done = events[-1]
    assert done.kind == "done" and done.data["status"] == "complete", events
    stored = service.store.message(done.data["message_id"])
    assert stored.content == done.data["content"] and stored.content.strip()
    calls = [e for e in events if e.kind == "tool_call"]
    assert [e["kind"] for e in stored.tool_events].count("tool_call") == len(calls)
