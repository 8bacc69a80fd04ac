"""The Sentinel tab in headless Chromium: subscribe, generate a report now, see the history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import pytest
from playwright.sync_api import expect

from llmapps.config import get_settings
from llmapps.sentinel.subscriptions import get
from tests.sentinel.sentinel_emulator import GitHubEmulator


def field(page: Any, elem_id: str) -> Any:
    return page.locator(f"#{elem_id}").locator("textarea, input").first


@pytest.mark.browser
@pytest.mark.model
def test_tab_subscribe_generate_and_browse(
    github: GitHubEmulator,
    browser_page: Any,
    live_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from llmapps.app import create_app

    monkeypatch.setenv("LLMAPPS_SENTINEL__REPORT_MAX_TOKENS", "24")
    settings = get_settings()
    now = datetime.now(UTC)
    repo = github.repo("acme/rocket")
    repo.add_pr(
        7, "feat: add plugin API", merged=now - timedelta(hours=2), updated=now - timedelta(hours=2)
    )
    repo.add_issue(8, "Crash on start", created=now - timedelta(hours=3), comments=5)
    server = live_server(create_app(settings))
    page = browser_page
    page.goto(server.url)
    page.get_by_role("tab", name="Sentinel 哨兵").click()

    field(page, "sentinel-sub-target").fill("acme/rocket")
    field(page, "sentinel-sub-emails").fill("pm@example.com")
    page.locator("#sentinel-sub-add").click()
    page.locator("#sentinel-sub-status").get_by_text("subscribed acme/rocket").wait_for()
    expect(page.locator("#sentinel-subs")).to_contain_text("pm@example.com")

    # edit it: clicking its row loads it into the form; change schedule, language, recipients
    page.locator("#sentinel-subs").get_by_role("gridcell", name="acme/rocket").click()
    expect(field(page, "sentinel-edit-ref")).to_have_value("1")
    expect(field(page, "sentinel-edit-emails")).to_have_value("pm@example.com")
    expect(field(page, "sentinel-edit-every")).to_have_value("daily")
    every = field(page, "sentinel-edit-every")
    every.fill("weekly")
    every.press("Enter")
    field(page, "sentinel-edit-at").fill("09:15")
    field(page, "sentinel-edit-tz").fill("Asia/Shanghai")
    page.locator("#sentinel-edit-lang").get_by_text("en", exact=True).click()
    field(page, "sentinel-edit-emails").fill("ops@example.com, lead@example.com")
    field(page, "sentinel-edit-webhooks").fill(
        "https://oapi.dingtalk.com/robot/send?access_token=t"
    )
    page.locator("#sentinel-edit-save").click()
    page.locator("#sentinel-sub-status").get_by_text("saved acme/rocket").wait_for()
    table = page.locator("#sentinel-subs")
    expect(table).to_contain_text("weekly 09:15")
    expect(table).to_contain_text("ops@example.com, lead@example.com")
    expect(table).to_contain_text("Asia/Shanghai")
    expect(table).to_contain_text("dingtalk")
    expect(table).not_to_contain_text("pm@example.com")
    sub = get(settings, "acme/rocket")
    assert (sub.schedule, sub.at_time, sub.timezone, sub.language, sub.emails) == (
        "weekly",
        "09:15",
        "Asia/Shanghai",
        "en",
        ["ops@example.com", "lead@example.com"],
    )
    # a bad value is one line in the status, nothing changes
    field(page, "sentinel-edit-tz").fill("Mars/Base")
    page.locator("#sentinel-edit-save").click()
    page.locator("#sentinel-sub-status").get_by_text("unknown time zone").wait_for()
    assert get(settings, "acme/rocket").timezone == "Asia/Shanghai"
    # loading by id works too, and clearing the recipients removes them
    field(page, "sentinel-edit-ref").fill("acme/rocket")
    page.locator("#sentinel-edit-load").click()
    expect(field(page, "sentinel-edit-tz")).to_have_value("Asia/Shanghai")
    field(page, "sentinel-edit-emails").fill("")
    page.locator("#sentinel-edit-save").click()
    page.locator("#sentinel-sub-status").get_by_text("saved acme/rocket").wait_for()
    expect(table).not_to_contain_text("ops@example.com")
    assert get(settings, "acme/rocket").emails == []

    page.get_by_role("tab", name="Report now 立即生成").click()
    # the tab is served over HTTP: local git paths outside sentinel.git_roots are refused
    field(page, "sentinel-report-target").fill("/etc")
    page.locator("#sentinel-report-go").click()
    page.locator("#sentinel-report-status").get_by_text("sentinel.git_roots").wait_for()
    field(page, "sentinel-report-target").fill("acme/rocket")
    page.locator("#sentinel-report-lang").get_by_text("en", exact=True).click()
    page.locator("#sentinel-report-go").click()
    page.locator("#sentinel-report-status").get_by_text("✅ report").wait_for(timeout=240_000)
    output = page.locator("#sentinel-report-output")
    assert output.get_by_role("heading", name="New features").is_visible()
    link = output.get_by_role("link", name="#7")
    assert link.get_attribute("href") == "https://github.com/acme/rocket/pull/7"
    assert output.get_by_role("link", name="#8").get_attribute("href") == (
        "https://github.com/acme/rocket/issues/8"
    )
    expect(page.locator("#sentinel-report-files")).to_contain_text(".md")
    href = page.locator("#sentinel-report-files a[href*='.md']").first.get_attribute("href")
    download = page.request.get(urljoin(server.url + "/", href))
    assert download.ok and "(https://github.com/acme/rocket/pull/7)" in download.text()

    page.get_by_role("tab", name="History 历史").click()
    expect(page.locator("#sentinel-history")).to_contain_text("acme/rocket")
    field(page, "sentinel-hist-id").fill("1")
    page.locator("#sentinel-hist-show").click()
    page.locator("#sentinel-hist-output").get_by_role("link", name="#7").wait_for()
