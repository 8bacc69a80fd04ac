"""The Chat tab in headless Chromium: knowledge-base upload from the settings drawer, sources
shown once, tool calls in agent mode, stop keeping the partial answer.

The layout, queueing, versions and drag-and-drop are covered at two screen sizes in
tests/web/test_chat_ui.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from llmapps.app import create_app
from llmapps.chat.service import get_service
from llmapps.config import get_settings
from tests.conftest import upload_files

pytestmark = pytest.mark.browser


def send(page: Any, text: str) -> None:
    box = page.locator("#chat-input textarea")
    box.fill(text)
    box.press("Enter")


def test_chat_tab_kb_citations_tools_and_stop(
    browser_page: Any, live_server: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMAPPS_CHAT__KB_VECTORS", "false")
    settings = get_settings()
    doc = tmp_path / "policy.md"
    doc.write_text("# Returns\n\nOpened boxes can be returned within 30 days.\n", encoding="utf-8")
    # Streams for hours (10 ms a character): only the stop button can end it, however slow
    # the machine is.
    long_answer = "Counting slowly: " + " ".join(str(i) for i in range(100_000))
    model = FakeListChatModel(
        responses=[
            "Within 30 days [1].",
            'Action: calculator\nAction Input: {"expression": "6*7"}',
            "Final Answer: It is 42.",
            long_answer,
        ],
        sleep=0.01,
    )
    get_service(settings).model_factory = lambda spec, params: model
    server = live_server(create_app(settings))
    page = browser_page
    page.goto(server.url)
    page.locator("#chat-settings").get_by_text("Persona").first.click()  # open the drawer
    page.locator("#chat-kb-name textarea").fill("shop")
    upload_files(page, "chat-kb-files", doc)
    page.locator("#chat-kb-add").click()
    page.locator("#chat-kb-result").get_by_text("policy.md").wait_for()
    send(page, "Can opened boxes be returned?")
    bot = page.locator("#chat-chatbot")
    bot.get_by_text("Within 30 days [1].").wait_for()
    source = bot.get_by_text("[1] 📄 policy.md")
    source.wait_for()
    assert source.count() == 1
    # agent mode: detach the KB, tick the calculator
    page.locator("#chat-kb input").click()
    page.get_by_role("option", name="(none 无)").click()
    page.locator("#chat-tools").get_by_label("calculator").check()
    send(page, "what is 6*7?")
    bot.get_by_text("It is 42.").wait_for()
    assert "calculator" in bot.inner_text()
    stored = get_service(settings).store.messages(1)
    assert stored[-1].tool_events[0]["name"] == "calculator"
    assert stored[1].citations[0]["source"] == "policy.md"
    assert (settings.home / "kb_uploads" / "shop" / "policy.md").is_file()
    # stop a long answer half way: the partial answer stays, marked as stopped
    page.locator("#chat-tools").get_by_label("calculator").uncheck()
    send(page, "count to four hundred")
    bot.get_by_text("Counting slowly: 0 1 2").wait_for()
    # force: while tokens stream, Gradio re-renders the page, and on two loaded cores the
    # button's box is never "stable" for two animation frames (Playwright's check); a person
    # clicks it all the same. The assertions below fail if the click did not stop the answer.
    page.locator("#chat-stop").click(force=True)
    bot.get_by_text("stopped 已停止").first.wait_for()
    last = get_service(settings).store.messages(1)[-1]
    assert last.status == "stopped" and last.content.startswith("Counting slowly: 0 1 2")
    assert len(last.content) < len(long_answer)
