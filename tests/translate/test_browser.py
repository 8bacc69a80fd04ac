"""The Translator tab in headless Chromium: upload, run on the embedded model, download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from llmapps.app import create_app
from llmapps.config import get_settings
from tests.conftest import upload_files


@pytest.mark.browser
@pytest.mark.model
def test_translator_tab(live_server: Any, browser_page: Any, tmp_path: Path) -> None:
    doc = tmp_path / "hello.md"
    doc.write_text("# Hello\n\nThank you very much.\n", encoding="utf-8")
    server = live_server(create_app(get_settings(), ui=True))
    page = browser_page
    page.goto(server.url + "/")
    page.get_by_role("tab", name="Translator 翻译").click()
    upload_files(page, "translate-file", doc)
    page.locator("#translate-run").click()
    link = page.locator("#translate-downloads a").first
    link.wait_for(timeout=240_000)
    progress = page.locator("#translate-progress").inner_text()
    assert "done" in progress and "blocks 2/2" in progress
    href = link.get_attribute("href")
    assert href and "hello.zh" in href
    url = href if href.startswith("http") else server.url + href
    body = httpx.get(url, timeout=30)
    assert body.status_code == 200 and body.text.startswith("# ")
