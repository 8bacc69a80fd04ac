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
    model = FakeListChatModel(responses=[first, "A regenerated answer."], sleep=0.03)
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
