"""Web UI fixtures: the real app on loopback, Chromium at desktop and phone sizes.

``ui_page`` is parametrized over both sizes, so every test that uses it runs twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import report_page, watch_page

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
SHOTS = Path(__file__).resolve().parents[2] / ".cache" / "screenshots"


@pytest.fixture(params=list(SIZES))
def ui_page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    width, height = SIZES[request.param]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        is_mobile=request.param == "phone",
        has_touch=request.param == "phone",
        locale="en-US",
    )
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.size_name = request.param  # type: ignore[attr-defined]
    seen = watch_page(page)
    yield page
    report_page(request, page, seen)
    context.close()


def shot(page: Any, name: str) -> None:
    """Keep a screenshot for a person to look at (under .cache/screenshots)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{page.size_name}.png"))


def open_sidebar(page: Any) -> None:
    """On a phone the conversation list is folded away behind ☰."""
    if page.size_name == "phone":
        page.locator("#chat-toggle-sidebar").click()
        page.locator("#chat-sidebar.shown").wait_for()


def close_sidebar(page: Any) -> None:
    if page.size_name == "phone":
        page.locator("#chat-close-sidebar").click()
        page.locator("#chat-sidebar.shown").wait_for(state="detached")


def goto(page: Any, url: str) -> None:
    """Open the page and put away the first-run panel (it floats over the input)."""
    page.goto(url)
    page.locator("#first-run-dismiss").click()
    page.locator("#first-run").wait_for(state="hidden")


def open_tab(page: Any, name: str) -> None:
    """Pick a tab (top-level or nested); on a phone Gradio folds later tabs into ⋯ menus."""
    page.get_by_role("tab", name="Chat 对话").wait_for()  # the page has rendered
    tab = page.get_by_role("tab", name=name)
    if tab.is_visible():
        tab.click()
        return
    item = page.locator(".overflow-dropdown button", has_text=name)
    menus = page.get_by_role("button", name="More tabs")
    for index in range(menus.count()):
        menu = menus.nth(index)
        if not menu.is_visible():
            continue
        menu.click()
        if item.first.is_visible():
            # dispatched: the menu closes when Playwright scrolls before a real click
            item.first.dispatch_event("click")
            page.get_by_role("tab", name=name, selected=True).wait_for()
            return
        menu.click()  # not in this menu: close it again
    raise AssertionError(f"tab {name!r} not found")
