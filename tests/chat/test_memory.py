"""Memory strategies and trimming to the model's context (real SQLite, fake models)."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from llmapps.chat.conversations import ConversationStore
from llmapps.chat.memory import (
    ContextOverflowError,
    build_messages,
    estimate_tokens,
    select_history,
    update_summary,
)
from llmapps.config import get_settings


def _conversation(turns: int) -> tuple[ConversationStore, int]:
    store = ConversationStore(get_settings())
    conv = store.create()
    for i in range(turns):
        store.add_message(conv.id, "user", f"question {i}")
        store.add_message(conv.id, "assistant", f"answer {i}")
    return store, conv.id


def test_full_and_window_strategies() -> None:
    store, cid = _conversation(5)
    history = store.messages(cid)
    assert len(select_history("full", history, 2)) == 10
    window = select_history("window", history, 2)
    assert [m.content for m in window] == ["question 3", "answer 3", "question 4", "answer 4"]
    settings = get_settings()
    result = build_messages(
        model=FakeListChatModel(responses=["x"]),
        settings=settings,
        system="Be brief.",
        history=history,
        question="question 5",
        strategy="window",
        window_turns=2,
    )
    assert [m.type for m in result.messages] == ["system", "human", "ai", "human", "ai", "human"]
    assert result.messages[1].content == "question 3"
    assert result.messages[-1].content == "question 5"
    assert result.dropped == 0


def test_trimming_to_a_small_context_drops_oldest_and_reports_it() -> None:
    settings = get_settings()
    settings.chat.context_tokens = 200
    settings.chat.answer_tokens = 100
    store = ConversationStore(settings)
    conv = store.create()
    for i in range(6):
        store.add_message(conv.id, "user", f"question number {i} " + "words " * 5)
        store.add_message(conv.id, "assistant", f"answer number {i} " + "words " * 5)
    model = FakeListChatModel(responses=["x"])
    result = build_messages(
        model=model,
        settings=settings,
        system="",
        history=store.messages(conv.id),
        question="the new question",
        strategy="full",
        window_turns=8,
    )
    assert result.dropped > 0
    assert result.tokens <= result.budget == 200 - 100 - 16
    assert result.messages[-1].content == "the new question"
    assert result.messages[-2].content.startswith("answer number 5")  # newest kept
    assert "left out" in result.notes[0]
    with pytest.raises(ContextOverflowError, match="shorten the message"):
        build_messages(
            model=model,
            settings=settings,
            system="",
            history=[],
            question="far too long " * 100,
            strategy="full",
            window_turns=8,
        )


def test_estimate_counts_chinese_per_character() -> None:
    assert estimate_tokens("你好世界") == 4
    assert estimate_tokens("abcdef") == 2


def test_summary_strategy_asks_the_model_and_stores_the_summary() -> None:
    store, cid = _conversation(4)  # 8 messages, window of 1 turn keeps the last 2
    settings = get_settings()
    model = FakeListChatModel(responses=["The user asked questions 0 to 2."])
    conv = update_summary(store, store.get(cid), store.messages(cid), model, settings, 1)
    assert conv.summary == "The user asked questions 0 to 2."
    messages = store.messages(cid)
    assert conv.summary_upto == messages[5].id  # everything but the last turn folded
    assert store.get(cid).summary == conv.summary  # stored in SQLite
    result = build_messages(
        model=model,
        settings=settings,
        system="Sys.",
        history=messages,
        question="next",
        strategy="summary",
        window_turns=1,
        summary=conv.summary,
        summary_upto=conv.summary_upto,
    )
    assert "The user asked questions 0 to 2." in result.messages[0].content
    assert [m.content for m in result.messages[1:]] == ["question 3", "answer 3", "next"]
    # nothing new left the window: no second model call
    again = update_summary(store, conv, messages, model, settings, 1)
    assert again.summary_upto == conv.summary_upto
