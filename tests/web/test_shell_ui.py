"""The page shell (issue 14 point 6) and fresh lists (point 1), at desktop and phone sizes:
first-run panel, language from the browser with a switch that persists, gzip, errors in both
languages logged as one line, pickers read from the store on each page load."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from llmapps.app import create_app
from llmapps.config import get_settings
from tests.web.conftest import SIZES, open_sidebar, shot

pytestmark = pytest.mark.browser


def test_gzip_for_page_and_config(live_server: Any) -> None:
    server = live_server(create_app(get_settings()))
    for path in ("/", "/config"):
        reply = httpx.get(server.url + path, headers={"Accept-Encoding": "gzip"})
        assert reply.status_code == 200
        assert reply.headers.get("content-encoding") == "gzip", path
        assert int(reply.headers["content-length"]) < len(reply.content) / 2


@pytest.mark.parametrize("size", list(SIZES))
def test_first_run_panel_and_language_switch_persist(
    browser: Any, live_server: Any, size: str
) -> None:
    server = live_server(create_app(get_settings()))
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server.url)
    panel = page.locator("#first-run")
    panel.get_by_text("当前模型").wait_for()  # Chinese browser: Chinese first
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert "local:smollm2" in panel.inner_text()  # which model answers
    assert not panel.get_by_text("Model in use").is_visible()
    page.locator("#lang-switch").get_by_text("English").click()
    panel.get_by_text("Model in use").wait_for()
    assert page.evaluate("document.documentElement.lang") == "en"
    page.screenshot(path=f"/tmp/first-run-{size}.png")
    page.locator("#first-run-dismiss").click()
    panel.wait_for(state="hidden")
    page.reload()
    page.get_by_role("tab", name="Chat 对话").wait_for()
    page.wait_for_function("document.documentElement.lang === 'en'")  # remembered
    page.wait_for_function(
        "getComputedStyle(document.querySelector('#first-run')).display === 'none'"
    )
    context.close()


def test_lists_fresh_on_page_load_and_mistakes_in_both_languages(
    ui_page: Any,
    live_server: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMAPPS_CHAT__KB_VECTORS", "false")
    settings = get_settings()
    server = live_server(create_app(settings))
    from llmapps.chat.kb import create_kb

    create_kb("made-later", settings=settings)  # after start, as the CLI would
    page = ui_page
    page.goto(server.url)
    page.locator("#first-run-dismiss").click()
    page.locator("#chat-settings").get_by_text("Persona").first.click()
    page.locator("#chat-kb input").click()
    page.get_by_role("option", name="made-later").wait_for()
    page.keyboard.press("Escape")
    # a user's mistake: one line in both languages in the page, one line in the log
    caplog.set_level(logging.INFO, logger="llmapps.web")
    open_sidebar(page)
    page.locator("#chat-manage").get_by_text("Manage").click()
    page.locator("#chat-rename-btn").click()
    page.get_by_text("open a conversation first / 请先打开一个对话").first.wait_for()
    shot(page, "error-toast")
    mistakes = [r for r in caplog.records if r.name == "llmapps.web"]
    assert mistakes and all(r.exc_info is None for r in mistakes)
    assert mistakes[0].getMessage() == "user mistake: open a conversation first"
