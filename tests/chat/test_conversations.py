"""Conversations against the real SQLite file: CRUD, search, export."""

from __future__ import annotations

import json

import pytest

from llmapps.chat.conversations import ConversationError, ConversationNotFound, ConversationStore
from llmapps.config import get_settings


def test_create_list_rename_delete() -> None:
    store = ConversationStore(get_settings())
    first = store.create(persona="assistant")
    second = store.create("Trip planning", kb="docs", memory="summary")
    assert first.id != second.id
    assert [c.id for c in store.all()] == [second.id, first.id]  # newest first
    renamed = store.rename(first.id, "  Groceries  ")
    assert renamed.title == "Groceries"
    assert store.get(second.id).kb == "docs"
    assert store.get(second.id).memory == "summary"
    store.add_message(second.id, "user", "hello")
    store.delete(second.id)
    with pytest.raises(ConversationNotFound):
        store.get(second.id)
    assert (
        store.db.query("SELECT * FROM chat_messages WHERE conversation_id = ?", (second.id,)) == []
    )
    assert [c.id for c in store.all()] == [first.id]
    with pytest.raises(ConversationError, match="empty title"):
        store.rename(first.id, " ")
    with pytest.raises(ConversationError, match="unknown memory strategy"):
        store.create(memory="forever")


def test_messages_keep_citations_tool_events_and_auto_title() -> None:
    store = ConversationStore(get_settings())
    conv = store.create()
    store.add_message(conv.id, "user", "What is the refund policy for opened boxes?")
    store.add_message(
        conv.id,
        "assistant",
        "30 days [1].",
        citations=[{"n": 1, "source": "policy.pdf", "location": "p. 2", "score": 0.8}],
        tool_events=[{"kind": "tool_call", "name": "calculator", "args": {"expression": "1+1"}}],
        status="stopped",
    )
    messages = store.messages(conv.id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].citations[0]["source"] == "policy.pdf"
    assert messages[1].tool_events[0]["name"] == "calculator"
    assert messages[1].status == "stopped"
    assert store.get(conv.id).title == "What is the refund policy for opened bo…"


def test_search_titles_and_message_text_case_insensitive() -> None:
    store = ConversationStore(get_settings())
    a = store.create("Budget 2026")
    b = store.create("Other")
    store.add_message(b.id, "user", "我们讨论一下 Kubernetes 的部署方案")
    c = store.create("Third")
    store.add_message(c.id, "user", "100% sure")
    assert [r["conversation"]["id"] for r in store.search("budget")] == [a.id]
    hits = store.search("kubernetes")
    assert [r["conversation"]["id"] for r in hits] == [b.id]
    assert "Kubernetes" in hits[0]["snippet"]
    assert [r["conversation"]["id"] for r in store.search("部署")] == [b.id]
    # LIKE wildcards in the query are literal
    assert [r["conversation"]["id"] for r in store.search("0%")] == [c.id]
    assert store.search("nothing like this") == []


def test_export_markdown_and_json() -> None:
    store = ConversationStore(get_settings())
    conv = store.create("Export me", persona="sales", kb="shop")
    store.add_message(conv.id, "user", "Price of the X1?")
    store.add_message(
        conv.id,
        "assistant",
        "It costs 99 yuan [1].",
        citations=[{"n": 1, "source": "prices.md", "location": "Pricing", "score": 0.9}],
    )
    md = store.export_markdown(conv.id)
    assert md.startswith("# Export me\n")
    assert "## You 你\n\nPrice of the X1?" in md
    assert "It costs 99 yuan [1]." in md
    assert "- [1] prices.md, Pricing" in md
    data = json.loads(json.dumps(store.export_json(conv.id)))
    assert data["conversation"]["kb"] == "shop"
    assert [m["content"] for m in data["messages"]] == ["Price of the X1?", "It costs 99 yuan [1]."]
    assert data["messages"][1]["citations"][0]["location"] == "Pricing"


def test_sqlite_history_is_a_langchain_chat_history() -> None:
    from langchain_core.messages import AIMessage, HumanMessage

    store = ConversationStore(get_settings())
    conv = store.create()
    history = store.history(conv.id)
    history.add_messages([HumanMessage("hi"), AIMessage("hello!")])
    assert [type(m).__name__ for m in history.messages] == ["HumanMessage", "AIMessage"]
    assert ConversationStore(get_settings()).messages(conv.id)[1].content == "hello!"
    history.clear()
    assert history.messages == []


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_runnable_with_message_history_over_sqlite() -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
    from langchain_core.runnables.history import RunnableWithMessageHistory

    store = ConversationStore(get_settings())
    conv = store.create()
    prompt = ChatPromptTemplate.from_messages(
        [MessagesPlaceholder("history"), ("human", "{question}")]
    )
    chain = RunnableWithMessageHistory(
        prompt | FakeListChatModel(responses=["first", "second"]),
        lambda session_id: store.history(int(session_id)),
        input_messages_key="question",
        history_messages_key="history",
    )
    config = {"configurable": {"session_id": str(conv.id)}}
    chain.invoke({"question": "one"}, config=config)  # type: ignore[arg-type]
    chain.invoke({"question": "two"}, config=config)  # type: ignore[arg-type]
    assert [(m.role, m.content) for m in store.messages(conv.id)] == [
        ("user", "one"),
        ("assistant", "first"),
        ("user", "two"),
        ("assistant", "second"),
    ]
