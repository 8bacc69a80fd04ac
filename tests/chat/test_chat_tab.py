"""The Chat tab in headless Chromium: send, streamed answer, conversation list, regenerate."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from llmapps.app import create_app
from llmapps.chat.service import get_service
from llmapps.config import get_settings

pytestmark = pytest.mark.browser


def test_chat_tab_send_stream_list_regenerate(browser_page: Any, live_server: Any) -> None:
    settings = get_settings()
    first = "The first streamed answer arrives one character at a time."
    long_answer = "Counting slowly: " + " ".join(str(i) for i in range(400))
    model = FakeListChatModel(responses=[first, "A regenerated answer.", long_answer], sleep=0.03)
    get_service(settings).model_factory = lambda spec, params: model
    server = live_server(create_app(settings))
    page = browser_page
    page.goto(server.url)
    page.get_by_role("tab", name="Chat 对话").click()
    page.locator("#chat-input textarea").fill("Hello from the browser")
    page.locator("#chat-send").click()
    bot = page.locator("#chat-chatbot")
    # streaming: a prefix is visible before the whole answer is
    page.wait_for_function(
        "() => { const t = document.querySelector('#chat-chatbot').innerText;"
        " return t.includes('The first') && !t.includes('one character at a time.'); }",
        timeout=30_000,
    )
    bot.get_by_text(first).wait_for(timeout=30_000)
    assert "Hello from the browser" in bot.inner_text()
    conversations = page.locator("#chat-conversations")
    conversations.get_by_text("Hello from the browser · #1").wait_for(timeout=30_000)
    page.locator("#chat-regenerate").click()
    bot.get_by_text("A regenerated answer.").wait_for(timeout=30_000)
    assert first not in bot.inner_text()
    stored = get_service(settings).store.messages(1)
    assert [m.content for m in stored] == ["Hello from the browser", "A regenerated answer."]
    # stop a long answer half way: the partial answer stays, marked as stopped
    page.locator("#chat-input textarea").fill("count to four hundred")
    page.locator("#chat-send").click()
    bot.get_by_text("Counting slowly: 0 1 2").wait_for(timeout=30_000)
    page.locator("#chat-stop").click()
    bot.get_by_text("stopped 已停止").wait_for(timeout=30_000)
    last = get_service(settings).store.messages(1)[-1]
    assert last.status == "stopped" and last.content.startswith("Counting slowly: 0 1 2")
    assert len(last.content) < len(long_answer)


def test_chat_tab_citations_and_tool_calls(
    browser_page: Any, live_server: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMAPPS_CHAT__KB_VECTORS", "false")
    settings = get_settings()
    doc = tmp_path / "policy.md"
    doc.write_text("# Returns\n\nOpened boxes can be returned within 30 days.\n", encoding="utf-8")
    model = FakeListChatModel(
        responses=[
            "Within 30 days [1].",
            'Action: calculator\nAction Input: {"expression": "6*7"}',
            "Final Answer: It is 42.",
        ]
    )
    get_service(settings).model_factory = lambda spec, params: model
    server = live_server(create_app(settings))
    page = browser_page
    page.goto(server.url)
    page.get_by_role("tab", name="Chat 对话").click()
    # upload a file into a new knowledge base; the picker then attaches it
    page.get_by_text("Knowledge base files 知识库文件").click()
    page.locator("#chat-kb-name textarea").fill("shop")
    page.locator("#chat-kb-files input[type=file]").set_input_files(str(doc))
    page.wait_for_timeout(1000)
    page.locator("#chat-kb-add").click()
    page.locator("#chat-kb-result").get_by_text("policy.md").wait_for(timeout=30_000)
    page.locator("#chat-input textarea").fill("Can opened boxes be returned?")
    page.locator("#chat-send").click()
    page.locator("#chat-citations").get_by_text("policy.md").wait_for(timeout=30_000)
    assert "Returns" in page.locator("#chat-citations").inner_text()
    page.locator("#chat-chatbot").get_by_text("Within 30 days [1].").wait_for(timeout=30_000)
    # agent mode: detach the KB, tick the calculator
    page.locator("#chat-kb input").click()
    page.get_by_role("option", name="(none 无)").click()
    page.locator("#chat-tools").get_by_label("calculator").check()
    page.locator("#chat-input textarea").fill("what is 6*7?")
    page.locator("#chat-send").click()
    bot = page.locator("#chat-chatbot")
    bot.get_by_text("It is 42.").wait_for(timeout=30_000)
    assert "calculator" in bot.inner_text()
    stored = get_service(settings).store.messages(1)
    assert stored[-1].tool_events[0]["name"] == "calculator"
    assert stored[1].citations[0]["source"] == "policy.md"
    assert (settings.home / "kb_uploads" / "shop" / "policy.md").is_file()
