"""The chat turn with a real knowledge base (citations, threshold refusal) and tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from llmapps.chat.kb import add_paths, create_kb
from llmapps.chat.service import ChatService
from llmapps.config import get_settings


@pytest.fixture(autouse=True)
def _bm25_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """BM25 only: deterministic scores, and no embedding runs on the shared CPU."""
    monkeypatch.setenv("LLMAPPS_CHAT__KB_VECTORS", "false")


POLICY = """# Returns

Opened boxes can be returned within 30 days for a full refund. Keep the receipt.

# Shipping

Orders ship from Hangzhou within two working days. Express delivery costs 12 yuan.

# 保修

所有耳机保修两年，电池保修一年。
"""


class Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.prompts: list[Any] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.prompts.append(messages[0])


def _kb(tmp_path: Path) -> None:
    doc = tmp_path / "policy.md"
    doc.write_text(POLICY, encoding="utf-8")
    settings = get_settings()
    create_kb("shop", settings=settings)
    add_paths("shop", [doc], settings=settings)


def _service(*responses: str) -> tuple[ChatService, Recorder]:
    recorder = Recorder()
    model = FakeListChatModel(responses=list(responses), callbacks=[recorder])
    return ChatService(get_settings(), model_factory=lambda s, p: model), recorder


def test_answer_cites_sources_and_stores_them(tmp_path: Path) -> None:
    _kb(tmp_path)
    service, recorder = _service("Within 30 days [1].")
    events = list(service.send(None, "Can opened boxes be returned for a refund?", kb="shop"))
    cites = next(e for e in events if e.kind == "citations").data["citations"]
    assert cites and cites[0]["source"] == "policy.md" and cites[0]["location"] == "Returns"
    assert cites[0]["n"] == 1 and cites[0]["score"] >= get_settings().chat.kb_threshold
    system = recorder.prompts[0][0].content
    assert "[1] policy.md (Returns)" in system and "30 days" in system
    done = events[-1].data
    stored = service.store.message(done["message_id"])
    assert stored.content == "Within 30 days [1]." and stored.citations[0]["location"] == "Returns"
    assert "- [1] policy.md, Returns" in service.store.export_markdown(done["conversation_id"])
    zh = list(service.send(done["conversation_id"], "耳机保修多久？"))
    zh_cites = next(e for e in zh if e.kind == "citations").data["citations"]
    assert zh_cites[0]["location"] == "保修"


def test_below_threshold_says_it_does_not_know_without_calling_the_model(tmp_path: Path) -> None:
    _kb(tmp_path)
    service, recorder = _service("an invented answer")
    events = list(service.send(None, "What is the airspeed of an unladen swallow?", kb="shop"))
    done = events[-1].data
    assert done["refused"] is True
    assert done["content"].startswith("I don't know") and "shop" in done["content"]
    assert recorder.prompts == []  # nothing invented
    assert next(e for e in events if e.kind == "citations").data["citations"] == []
    # the sales persona hands off instead, in its own words
    zh = list(service.send(None, "量子纠缠的原理是什么？", persona="销售顾问", kb="shop"))
    assert zh[-1].data["refused"] and "转给同事" in zh[-1].data["content"]
    assert recorder.prompts == []


def test_agent_mode_shows_and_stores_tool_calls() -> None:
    service, _ = _service(
        'Thought: I should compute.\nAction: calculator\nAction Input: {"expression": "6*7"}',
        "Thought: done.\nFinal Answer: 6 times 7 is 42.",
    )
    events = list(service.send(None, "what is 6*7?", tools=["calculator"]))
    kinds = [e.kind for e in events]
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("done")
    call = next(e for e in events if e.kind == "tool_call").data
    result = next(e for e in events if e.kind == "tool_result").data
    assert call["name"] == "calculator" and result["content"] == "42"
    done = events[-1].data
    assert done["content"] == "6 times 7 is 42." and done["status"] == "complete"
    stored = service.store.message(done["message_id"])
    assert [e["kind"] for e in stored.tool_events] == ["tool_call", "tool_result"]
    assert stored.tool_events[1]["content"] == "42"


def test_unknown_tool_is_an_error_event() -> None:
    service, _ = _service("x")
    events = list(service.send(None, "hi", tools=["teleport"]))
    error = next(e for e in events if e.kind == "error").data["message"]
    assert "unknown tool" in error and "calculator" in error
