"""Sentinel tab (issue 14): lists read on every page load, a history row opens its report,
downloads carry the repository's name, errors name the form's fields. Desktop and phone."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from llmapps.app import create_app
from llmapps.config import get_settings
from llmapps.sentinel import service
from tests.sentinel.sentinel_emulator import GitHubEmulator
from tests.web.conftest import goto, open_tab, shot, ui_page  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def test_history_row_opens_report_and_files_carry_target(
    github: GitHubEmulator,
    ui_page: Any,  # noqa: F811
    live_server: Any,
) -> None:
    settings = get_settings()
    now = datetime.now(UTC)
    repo = github.repo("acme/rocket")
    repo.add_pr(7, "feat: add plugin API", merged=now - timedelta(hours=2), updated=now)
    server = live_server(create_app(settings))
    # made after the server started (as the CLI would): a plain page load must show them
    service.add_subscription(settings, "acme/rocket")
    model = FakeListChatModel(responses=["## New features\n\n- Plugin API landed [PR7].\n"] * 4)
    # in its own thread: Playwright's sync API keeps an event loop running in this one
    worker = threading.Thread(
        target=service.generate_report,
        args=(settings, "acme/rocket"),
        kwargs={"days": 1, "lang": "en", "chat_model": model},
    )
    worker.start()
    worker.join()
    assert service.history(settings), "the report was not stored"
    page = ui_page
    goto(page, server.url)
    open_tab(page, "Sentinel 哨兵")
    subs = page.locator("#sentinel-subs")
    subs.get_by_role("gridcell", name="acme/rocket").first.wait_for()
    # a mistake in the form: the message names the field, not a CLI flag
    page.locator("#sentinel-sub-target textarea, #sentinel-sub-target input").first.fill("a/b")
    at = page.locator("#sentinel-sub-at textarea, #sentinel-sub-at input").first
    at.fill("25:99")
    page.locator("#sentinel-sub-add").click()
    status = page.locator("#sentinel-sub-status")
    status.get_by_text("At 时间").wait_for()
    assert "--at" not in status.inner_text()
    open_tab(page, "History 历史")
    history = page.locator("#sentinel-history")
    history.get_by_role("gridcell", name="acme/rocket").first.wait_for()
    # a click on the row opens the report
    history.get_by_role("gridcell", name="acme/rocket").first.click()
    page.locator("#sentinel-hist-output").get_by_text("Plugin API landed").wait_for()
    files = page.locator("#sentinel-hist-files")
    files.get_by_text("acme_rocket-").first.wait_for()
    shot(page, "sentinel-history")
