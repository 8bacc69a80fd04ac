"""Webhook URLs embed tokens: HTTP and UI listings show them redacted, storage keeps them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from llmapps.config import get_settings
from llmapps.sentinel import service
from llmapps.sentinel.notifiers.webhook import redact_webhook

SLACK = "https://hooks.slack.com/services/T0001/B0002/s3cr3tTOKENvalue"
FEISHU = "https://open.feishu.cn/open-apis/bot/v2/hook/9f8e7d6c-secret-uuid"
SECRETS = ("s3cr3tTOKENvalue", "T0001/B0002", "9f8e7d6c-secret-uuid")


def _stored_urls() -> list[str]:
    sub = service.get_subscription(get_settings(), "hn")
    return [h["url"] for h in sub.webhooks]


def test_redact_webhook_keeps_host_and_a_hint() -> None:
    shown = redact_webhook(SLACK)
    assert shown.startswith("https://hooks.slack.com/…#") and "s3cr3t" not in shown
    assert redact_webhook(FEISHU) != redact_webhook(FEISHU + "x")  # hooks stay distinguishable
    assert redact_webhook("https://user:pw@example.com:8443/x?token=abc").startswith(
        "https://example.com:8443/…#"
    )
    assert "pw" not in redact_webhook("https://user:pw@example.com/x")
    assert "abc" not in redact_webhook("not a url abc")


def test_http_listings_redact_and_storage_keeps_urls(live_server: Callable[..., Any]) -> None:
    from llmapps.app import create_app

    server = live_server(create_app(get_settings(), ui=False))
    with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as http:
        created = http.post(
            "/sentinel/subscriptions", json={"target": "hn", "webhooks": [SLACK, FEISHU]}
        )
        assert created.status_code == 201, created.text
        listing = http.get("/sentinel/subscriptions")
        assert listing.status_code == 200
        assert not any(s in listing.text for s in SECRETS)
        hooks = listing.json()[0]["webhooks"]
        assert [h["url"] for h in hooks] == [redact_webhook(SLACK), redact_webhook(FEISHU)]
        assert [h["format"] for h in hooks] == ["slack", "feishu"]
        assert _stored_urls() == [SLACK, FEISHU]  # the stored value is intact

        # an unrelated edit, and an edit that sends the listed (redacted) URLs back
        patched = http.patch("/sentinel/subscriptions/hn", json={"every": "hourly"})
        assert patched.status_code == 200 and not any(s in patched.text for s in SECRETS)
        round_trip = http.patch(
            "/sentinel/subscriptions/hn", json={"webhooks": [h["url"] for h in hooks[:1]]}
        )
        assert round_trip.status_code == 200 and "s3cr3t" not in round_trip.text
        assert _stored_urls() == [SLACK]
        new = "https://hooks.slack.com/services/T9/B9/another-token"
        replaced = http.patch("/sentinel/subscriptions/hn", json={"webhooks": [new]})
        assert replaced.status_code == 200 and "another-token" not in replaced.text
        assert _stored_urls() == [new]
        removed = http.delete("/sentinel/subscriptions/hn")
        assert removed.status_code == 200 and "another-token" not in removed.text


@pytest.mark.browser
def test_sentinel_tab_shows_redacted_urls_and_saves_them_intact(
    live_server: Callable[..., Any], browser_page: Any
) -> None:
    from llmapps.app import create_app

    settings = get_settings()
    service.add_subscription(settings, "hn", webhooks=[SLACK])
    server = live_server(create_app(settings, ui=True))
    page = browser_page
    page.goto(server.url + "/")
    page.get_by_role("tab", name="Sentinel 哨兵").click()
    assert "s3cr3t" not in page.locator("#sentinel-subs").inner_text()
    page.locator("#sentinel-edit-ref textarea, #sentinel-edit-ref input").first.fill("hn")
    page.click("#sentinel-edit-load")
    hooks = page.locator("#sentinel-edit-webhooks textarea, #sentinel-edit-webhooks input").first
    page.wait_for_function("el => el.value.includes('hooks.slack.com')", arg=hooks.element_handle())
    assert hooks.input_value() == redact_webhook(SLACK)
    assert "s3cr3t" not in page.content()
    page.locator("#sentinel-edit-every input").fill("hourly")
    page.click("#sentinel-edit-save")
    page.locator("#sentinel-sub-status").get_by_text("saved").wait_for()
    sub = service.get_subscription(settings, "hn")
    assert sub.schedule == "hourly" and [h["url"] for h in sub.webhooks] == [SLACK]
