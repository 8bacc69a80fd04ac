"""The Chat tab in headless Chromium at desktop and phone sizes (fake chat models for flow).

Covers issue 14's chat points: lists read on every page load, typing and sending while an
answer streams (both stored and answered), editing an earlier turn and flipping versions,
regenerate with versions, delete with confirmation, a dropped file giving a cited answer.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from llmapps.app import create_app
from llmapps.chat.service import get_service
from llmapps.config import get_settings
from tests.web.conftest import close_sidebar, goto, open_sidebar, shot

pytestmark = pytest.mark.browser


def start(live_server: Any, *responses: str, sleep: float | None = None) -> Any:
    settings = get_settings()
    model = FakeListChatModel(responses=list(responses), sleep=sleep)
    get_service(settings).model_factory = lambda spec, params: model
    return live_server(create_app(settings))


def send(page: Any, text: str) -> None:
    box = page.locator("#chat-input textarea")
    box.fill(text)
    box.press("Enter")


def bot_text(page: Any) -> str:
    return str(page.locator("#chat-chatbot").inner_text())


def test_conversation_made_over_http_shows_on_a_plain_page_load(
    ui_page: Any, live_server: Any
) -> None:
    server = start(live_server, "unused")
    page = ui_page
    goto(page, server.url)
    page.locator("#chat-input textarea").wait_for()
    made = httpx.post(f"{server.url}/chat/conversations", json={"title": "Made over HTTP"})
    assert made.status_code == 201
    page.goto(server.url)  # a plain load, no refresh button
    open_sidebar(page)
    page.locator("#chat-conversations").get_by_text("Made over HTTP").wait_for()
    # the input sits at the bottom of the screen, visible without scrolling
    close_sidebar(page)
    shot(page, "chat-list")
    box = page.locator("#chat-input").bounding_box()
    height = page.viewport_size["height"]
    assert box is not None and box["y"] + box["height"] <= height


def test_type_while_streaming_then_send_twice_both_stored_and_answered(
    ui_page: Any, live_server: Any
) -> None:
    long_answer = "Counting slowly: " + " ".join(str(i) for i in range(150)) + " done."
    server = start(live_server, long_answer, "The queued one is answered too.", sleep=0.02)
    page = ui_page
    goto(page, server.url)
    send(page, "first question")
    page.wait_for_function(
        "() => document.querySelector('#chat-chatbot').innerText.includes('Counting slowly: 0 1')"
    )
    box = page.locator("#chat-input textarea")
    box.fill("second question")
    # more tokens arrive; what was typed stays
    page.wait_for_function(
        "() => document.querySelector('#chat-chatbot').innerText.includes(' 40 ')"
    )
    assert box.input_value() == "second question"
    assert "done." not in bot_text(page)  # still streaming when it is sent
    box.press("Enter")
    page.locator("#chat-chatbot").get_by_text("queued 排队中").wait_for()
    page.locator("#chat-chatbot").get_by_text("The queued one is answered too.").wait_for()
    shot(page, "chat-queued")
    stored = get_service(get_settings()).store.messages(1)
    assert [m.content for m in stored] == [
        "first question",
        long_answer,
        "second question",
        "The queued one is answered too.",
    ]


def test_edit_earlier_turn_flip_versions_regenerate_delete(ui_page: Any, live_server: Any) -> None:
    server = start(live_server, "Answer one.", "Answer two.", "Answer one B.", "Answer one C.")
    page = ui_page
    goto(page, server.url)
    bot = page.locator("#chat-chatbot")
    send(page, "Question one")
    bot.get_by_text("Answer one.").wait_for()
    send(page, "Question two")
    bot.get_by_text("Answer two.").wait_for()
    # edit the first (earlier) user turn with the message's own edit button
    bot.get_by_role("button", name="Edit").first.click()
    editor = bot.locator("textarea").first
    editor.fill("Question one, edited")
    bot.get_by_role("button", name="Submit").click()
    bot.get_by_text("Answer one B.").wait_for()
    assert "Question two" not in bot_text(page)
    assert "2/2" in bot_text(page)
    shot(page, "chat-edited")
    # flip back to the first version: the old branch comes back with its later turn
    bot.get_by_role("link", name="‹").first.click()
    bot.get_by_text("Question two").wait_for()
    assert "Answer two." in bot_text(page) and "Answer one B." not in bot_text(page)
    bot.get_by_role("link", name="›").first.click()
    bot.get_by_text("Answer one B.").wait_for()
    # regenerate keeps the earlier answer as a version
    bot.get_by_role("link", name="↻ regenerate 重新生成").last.click()
    bot.get_by_text("Answer one C.").wait_for()
    bot.get_by_role("link", name="‹").last.click()
    bot.get_by_text("Answer one B.").wait_for()
    shot(page, "chat-versions")
    # delete asks first; dismissing keeps the message, accepting removes it
    page.once("dialog", lambda dialog: dialog.dismiss())
    bot.get_by_role("link", name="🗑 delete 删除").last.click()
    page.wait_for_timeout(500)
    assert "Answer one B." in bot_text(page)
    page.once("dialog", lambda dialog: dialog.accept())
    bot.get_by_role("link", name="🗑 delete 删除").last.click()
    page.wait_for_function(
        "() => !document.querySelector('#chat-chatbot').innerText.includes('Question one, edited')"
    )
    assert "Question one" in bot_text(page)  # the first version is shown again


def test_dropped_file_goes_to_the_conversation_kb_and_answer_cites_it(
    ui_page: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMAPPS_CHAT__KB_VECTORS", "false")
    server = start(live_server, "Opened boxes can be returned within 30 days [1].")
    page = ui_page
    goto(page, server.url)
    page.locator("#chat-input textarea").wait_for()
    # a real drag and drop: a DataTransfer holding the file, dropped on the input
    page.evaluate(
        """() => {
          const text = '# Returns\\n\\nOpened boxes can be returned within 30 days of delivery.\\n';
          const data = new DataTransfer();
          data.items.add(new File([text], 'policy.md', { type: 'text/markdown' }));
          const target = document.querySelector('#chat-input textarea');
          for (const type of ['dragenter', 'dragover', 'drop']) {
            target.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true,
                                                      dataTransfer: data }));
          }
        }"""
    )
    page.locator("#chat-input .thumbnail-item, #chat-input .thumbnail-wrapper").first.wait_for()
    shot(page, "chat-dropped")
    send(page, "Can opened boxes be returned?")
    bot = page.locator("#chat-chatbot")
    bot.get_by_text("within 30 days [1].").wait_for()
    source = bot.get_by_text("[1] 📄 policy.md")
    source.wait_for()
    assert source.count() == 1  # sources shown once
    source.click()  # opens to the quoted passage
    bot.get_by_text("within 30 days of delivery").wait_for()
    shot(page, "chat-cited")
    service = get_service(get_settings())
    conv = service.store.get(1)
    assert conv.kb == "chat-1"
    assert service.store.messages(1)[-1].citations[0]["source"] == "policy.md"
