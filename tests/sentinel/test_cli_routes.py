"""The CLI and the HTTP endpoints over the same service (real SQLite, loopback GitHub)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from llmapps.config import Settings
from tests.sentinel.conftest import WINDOW_END, WINDOW_START, cli
from tests.sentinel.sentinel_emulator import GitHubEmulator

pytestmark = pytest.mark.usefixtures("wide_console")


def test_subscription_lifecycle_on_the_command_line(git_repo: Path) -> None:
    code, out = cli(
        "add",
        "langchain-ai/langchain",
        "--every",
        "weekly",
        "--at",
        "09:30",
        "--tz",
        "Asia/Shanghai",
        "--lang",
        "en",
        "--to",
        "a@example.com",
        "--to",
        "b@example.com",
        "--webhook",
        "https://open.feishu.cn/hook/x",
    )
    assert code == 0, out
    assert "langchain-ai/langchain" in out
    code, out = cli("add", f"git:{git_repo}", "--every", "0 8 * * 1-5")
    assert code == 0, out
    code, out = cli("list")
    assert code == 0 and "Asia/Shanghai" in out and "feishu" in out and "localrepo" in out
    assert "weekly 09:30" in out and "0 8 * * 1-5 " in out and "1-5 08:00" not in out
    code, out = cli(
        "edit", "langchain-ai/langchain", "--every", "daily", "--lang", "zh", "--disable"
    )
    assert code == 0, out
    from llmapps.config import get_settings
    from llmapps.sentinel.subscriptions import get

    sub = get(get_settings(), "langchain-ai/langchain")
    assert (sub.schedule, sub.language, sub.enabled, sub.emails) == (
        "daily",
        "zh",
        False,
        ["a@example.com", "b@example.com"],
    )
    # empty values clear the recipients and the webhooks
    code, out = cli("edit", "langchain-ai/langchain", "--to", "", "--webhook", "")
    assert code == 0, out
    sub = get(get_settings(), "langchain-ai/langchain")
    assert (sub.emails, sub.webhooks, sub.schedule) == ([], [], "daily")
    code, out = cli("remove", "langchain-ai/langchain")
    assert code == 0 and "removed" in out


def test_bad_input_is_one_line_with_the_fix() -> None:
    cases = [
        (["add", "not a repo"], "owner/repo"),
        (["add", "acme/x", "--every", "fortnightly"], "bad schedule"),
        (["add", "acme/x", "--tz", "Mars/Base"], "IANA"),
        (["add", "acme/x", "--lang", "fr"], "zh or en"),
        (["add", "acme/x", "--to", "nobody"], "name@example.com"),
        (["add", "acme/x", "--webhook", "ftp://x"], "http(s)://"),
        (["add", "/definitely/not/here"], "no such directory"),
        (["show", "999"], "sentinel history"),
        (["remove", "acme/unknown"], "sentinel list"),
    ]
    for args, hint in cases:
        code, out = cli(*args)
        assert code != 0, args
        assert hint in out, (args, out)
        assert out.strip().startswith("error:"), out


def test_report_history_show_for_an_empty_window(github: GitHubEmulator) -> None:
    github.repo("acme/quiet")
    code, out = cli(
        "report", "acme/quiet", "--since", "2026-11-01", "--until", "2026-11-02", "--lang", "en"
    )
    assert code == 0, out
    assert "Nothing happened" in out
    code, out = cli(
        "report", "acme/quiet", "--since", "2026-11-01", "--until", "2026-11-02", "--lang", "en"
    )
    code, out = cli("history", "acme/quiet")
    assert code == 0 and out.count("acme/quiet") == 2
    code, out = cli("show", "2")
    assert code == 0 and "Nothing happened" in out
    code, out = cli("show", "2", "--raw")
    assert code == 0 and '"target": "acme/quiet"' in out


def test_report_errors_are_clear(github: GitHubEmulator) -> None:
    code, out = cli("report", "acme/ghost", "--days", "1")
    assert code != 0 and "acme/ghost" in out and "404" in out
    code, out = cli("report", "acme/ghost", "--days", "-2")
    assert code != 0 and "--days must be positive" in out


def test_http_endpoints(github: GitHubEmulator, settings: Settings, git_repo: Path) -> None:
    from llmapps.app import create_app

    repo = github.repo("acme/rocket")
    repo.add_release("v1.0.0", "One", WINDOW_START - timedelta(days=3))
    client = TestClient(create_app(settings, ui=False), base_url="http://127.0.0.1")
    resp = client.post(
        "/sentinel/subscriptions",
        json={"target": "acme/rocket", "lang": "en", "webhooks": ["https://hooks.slack.com/x"]},
    )
    assert resp.status_code == 201, resp.text
    sub = resp.json()
    assert sub["webhooks"] == [{"url": "https://hooks.slack.com/x", "format": "slack"}]
    assert client.post("/sentinel/subscriptions", json={"target": "acme/rocket"}).status_code == 400
    resp = client.patch("/sentinel/subscriptions/acme/rocket", json={"every": "hourly"})
    assert resp.status_code == 200 and resp.json()["schedule"] == "hourly"
    assert [s["target"] for s in client.get("/sentinel/subscriptions").json()] == ["acme/rocket"]
    resp = client.post(
        "/sentinel/reports",
        json={
            "target": "acme/rocket",
            "since": WINDOW_START.isoformat(),
            "until": WINDOW_END.isoformat(),
        },
    )
    assert resp.status_code == 201, resp.text
    report = resp.json()
    assert "Nothing happened" in report["markdown"] and report["subscription_id"] == sub["id"]
    listed = client.get("/sentinel/reports", params={"target": "acme/rocket"}).json()
    assert [r["id"] for r in listed] == [report["id"]]
    assert client.get(f"/sentinel/reports/{report['id']}").json()["title"] == report["title"]
    dl = client.get(f"/sentinel/reports/{report['id']}/download")
    assert dl.status_code == 200 and dl.text == report["markdown"]
    raw = client.get(f"/sentinel/reports/{report['id']}/download", params={"raw": True})
    assert raw.json()["target"] == "acme/rocket"
    missing = client.get("/sentinel/reports/999")
    assert missing.status_code == 404 and "history" in missing.json()["error"]["message"]
    resp = client.post("/sentinel/reports", json={"target": "acme/ghost"})
    assert resp.status_code == 404
    assert client.delete("/sentinel/subscriptions/acme/rocket").status_code == 200
    assert client.get("/sentinel/subscriptions").json() == []
