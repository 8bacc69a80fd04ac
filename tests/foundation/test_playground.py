"""The Playground tab in headless Chromium against the real app and the embedded model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from llmapps.app import create_app
from llmapps.config import load_settings
from llmapps.models.calllog import recent_calls

pytestmark = [pytest.mark.browser, pytest.mark.model]

# Poll the answer box every 10 ms and remember each distinct value: more than one non-empty
# value before the final one means the text arrived piece by piece (streamed).
WATCH_OUTPUT = """
() => {
  window.__seen = [];
  const box = () => document.querySelector('#playground-output [data-testid=markdown]');
  window.__watch = setInterval(() => {
    const el = box();
    if (!el) return;
    const v = el.innerText.trim();
    if (v && window.__seen[window.__seen.length - 1] !== v) window.__seen.push(v);
  }, 10);
}
"""


def _open(page: Any, live_server: Callable[..., Any]) -> None:
    server = live_server(create_app(load_settings()))
    page.goto(server.url + "/")
    page.get_by_role("tab", name="Playground 试验场").click()
    page.locator("#playground-prompt textarea").wait_for()


def _set_model(page: Any, spec: str) -> None:
    box = page.locator("#playground-model input")
    box.click()
    box.fill(spec)
    box.press("Enter")
    page.locator("#playground-prompt textarea").click()  # blur: Gradio commits the custom value


def test_playground_streams_answer(browser_page: Any, live_server: Callable[..., Any]) -> None:
    page = browser_page
    _open(page, live_server)
    _set_model(page, "local:smollm2")
    page.locator("#playground-system textarea").fill("You are a friendly poet.")
    max_tokens = page.locator("#playground-max-tokens input[type=number]")
    max_tokens.fill("48")
    max_tokens.press("Enter")
    page.locator("#playground-prompt textarea").fill("Write a short poem about the sea.")
    page.evaluate(WATCH_OUTPUT)
    page.locator("#playground-submit").click()
    page.locator("#playground-status", has_text="done").wait_for(timeout=90_000)
    seen = page.evaluate("() => { clearInterval(window.__watch); return window.__seen; }")
    final = page.locator("#playground-output [data-testid=markdown]").inner_text().strip()
    assert final.strip()
    assert len(seen) >= 2, seen  # intermediate states were shown: streamed, not all at once
    assert final.startswith(seen[0])
    row = recent_calls(load_settings(), app="playground")[0]
    assert row["spec"] == "local:smollm2"
    assert 0 < row["completion_tokens"] <= 48  # the max-tokens control reached the model
    assert row["prompt_tokens"] > 15  # the system prompt was sent too


def test_playground_shows_a_clear_error(browser_page: Any, live_server: Callable[..., Any]) -> None:
    page = browser_page
    _open(page, live_server)
    _set_model(page, "nosuchprovider:model")
    page.locator("#playground-prompt textarea").fill("hello")
    page.locator("#playground-submit").click()
    status = page.locator("#playground-status", has_text="error")
    status.wait_for(timeout=30_000)
    assert "unknown model spec 'nosuchprovider:model'" in status.inner_text()
