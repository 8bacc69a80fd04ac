"""End to end on the real embedded model (SmolLM2 via llama.cpp): the Chat tab streams an
answer from it, stores it, and a plain reload shows the conversation again."""

from __future__ import annotations

from typing import Any

import pytest

from llmapps.app import create_app
from llmapps.chat.service import get_service
from llmapps.config import get_settings
from tests.web.conftest import SIZES

pytestmark = [pytest.mark.browser, pytest.mark.model]


def test_chat_answers_from_the_embedded_model(browser: Any, live_server: Any) -> None:
    settings = get_settings()
    server = live_server(create_app(settings))
    width, height = SIZES["desktop"]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(180_000)
    page.goto(server.url)
    page.locator("#first-run-dismiss").click()
    box = page.locator("#chat-input textarea")
    box.fill("What is the capital of France?")
    box.press("Enter")
    page.locator("#chat-status").get_by_text("ready 就绪").wait_for()
    stored = get_service(settings).store.messages(1)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[1].content.strip() and stored[1].status == "complete"
    assert stored[1].content.strip()[:20] in page.locator("#chat-chatbot").inner_text()
    page.goto(server.url)
    page.locator("#chat-conversations").get_by_text("What is the capital of France?").click()
    page.locator("#chat-chatbot").get_by_text("What is the capital of France?").wait_for()
    context.close()
