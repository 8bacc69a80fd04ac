"""The Translator tab in headless Chromium at desktop and phone sizes: language names, the
model picker, the job list (progress, cancel, resume, downloads) across reloads, and the
side-by-side page preview. The model is a loopback OpenAI-compatible server."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from llmapps.app import create_app
from llmapps.config import get_settings
from llmapps.store.db import get_db
from llmapps.translate.jobs import JobStore
from tests.conftest import upload_files
from tests.translate.translate_pdfs import make_simple_pdf
from tests.web.conftest import goto, open_tab, shot
from tests.web.fake_openai import make_app

pytestmark = pytest.mark.browser


def wait_text(page: Any, selector: str, text: str) -> None:
    page.wait_for_function(
        "([sel, text]) => (document.querySelector(sel)?.innerText || '').includes(text)",
        arg=[selector, text],
    )


def test_jobs_cancel_resume_reload_preview(
    ui_page: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gate = threading.Event()  # requests wait until the test lets them through
    upstream = live_server(make_app(lambda prompt: "已翻译的段落", gate))
    monkeypatch.setenv("LLMAPPS_MODELS__DEFAULT", f"openai-compatible:fake@{upstream.url}/v1")
    monkeypatch.setenv("LLMAPPS_TRANSLATE__RETRY_WAIT_S", "0")
    pdf = make_simple_pdf(tmp_path / "book.pdf", pages=2, paragraphs=2)
    server = live_server(create_app(get_settings()))
    page = ui_page
    goto(page, server.url)
    open_tab(page, "Translator 翻译")
    # languages by name in both languages, the same model picker as the other tabs
    page.locator("#translate-to input").click()
    page.get_by_role("option", name="中文 Chinese (Simplified)").wait_for()
    page.keyboard.press("Escape")
    page.locator("#translate-model input").click()
    page.get_by_role("option", name="local:smollm2").first.wait_for()
    page.keyboard.press("Escape")
    page.locator("#translate-file").get_by_text("Click to Upload").wait_for()  # ready for a file
    upload_files(page, "translate-file", pdf)
    page.locator("#translate-run").click()
    jobs = page.locator("#translate-jobs")
    wait_text(page, "#translate-jobs", "book.pdf")
    record = JobStore(get_db(get_settings())).recent()[0]
    # cancel while it waits on the model
    wait_text(page, "#translate-progress", "book.pdf")
    page.locator("#translate-cancel").click()
    wait_text(page, "#translate-jobs", "cancelled 已取消")
    shot(page, "translate-cancelled")
    assert JobStore(get_db(get_settings())).get(record.id).status == "cancelled"  # type: ignore[union-attr]
    # a plain reload: the job list is still there; pick the row, resume, let it finish
    gate.set()
    page.goto(server.url)
    open_tab(page, "Translator 翻译")
    jobs.get_by_test_id("cell-0-1").click()
    wait_text(page, "#translate-progress", "cancelled")
    page.locator("#translate-resume").click()
    wait_text(page, "#translate-jobs", "done 完成")
    assert "100%" in jobs.inner_text()
    page.locator("#translate-downloads a").first.wait_for()
    names = page.locator("#translate-downloads").inner_text()
    assert "book" in names
    # side by side: original and translated page 1, then page 2 with the picker
    page.locator("#translate-original img").wait_for()
    page.locator("#translate-translated img").wait_for()
    first = page.locator("#translate-original img").get_attribute("src")
    track = page.locator("#translate-page input[type=range]")
    box = track.bounding_box()
    assert box is not None
    track.click(position={"x": box["width"] - 2, "y": box["height"] / 2})  # the last page
    page.wait_for_function(
        "(old) => document.querySelector('#translate-original img')?.src !== old", arg=first
    )
    shot(page, "translate-preview")
