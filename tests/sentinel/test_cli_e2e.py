"""The commands of the issue end to end from the command line: ``hn --daily``, ``run-now``.

Real loopback servers all the way: Hacker News, GitHub, an OpenAI-compatible model reached
through ``-m`` (the real model layer), a webhook receiver that fails before it recovers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from llmapps.config import get_settings
from llmapps.sentinel import service
from llmapps.sentinel.notifiers import list_deliveries
from tests.sentinel.conftest import LoopbackModel, cli
from tests.sentinel.sentinel_emulator import GitHubEmulator, HackerNewsEmulator

pytestmark = pytest.mark.usefixtures("wide_console")


def test_hn_daily_from_the_command_line(
    hn: HackerNewsEmulator, openai_model: LoopbackModel
) -> None:
    hn.add_story(9001, "A new embedded database", score=200, comments=40, by="alice")
    hn.add_story(9002, "Ask HN: Favourite editor?", score=80, comments=300, by="bob", url=None)
    service.hn_snapshot(get_settings())  # the daemon's earlier hourly snapshot
    hn.items[9001]["score"] = 350
    hn.add_story(9003, "Late arrival", score=5, comments=0, by="carol")

    code, out = cli("hn", "--daily", "-m", openai_model.spec, "--lang", "en")
    assert code == 0, out
    assert "Hacker News daily trends" in out
    # the model's summary is in the report, its citation linked to the story
    summary = "Loopback summary: the databases story leads the day"
    assert f"{summary} [S9001](https://example.com/9001)" in out
    assert "[A new embedded database](https://example.com/9001)" in out
    assert "seen in 2 snapshots · +150 points" in out
    assert "Late arrival" in out
    assert "A new embedded database" in openai_model.prompts[0]
    report = service.history(get_settings())[0]
    assert report.report_type == "hn-daily" and report.model == openai_model.spec
    assert Path(report.path).read_text(encoding="utf-8") == report.markdown

    code, out = cli("hn", "--hours", "3", "-m", openai_model.spec, "--lang", "zh")
    assert code == 0 and "Hacker News 热门摘要：最近 3 小时" in out
    code, out = cli("hn", "-m", "nonsense-provider:x")
    assert code != 0 and "unknown model spec" in out and len(out.strip().splitlines()) == 1


def test_run_now_from_the_command_line(
    git_repo: Path,
    github: GitHubEmulator,
    hn: HackerNewsEmulator,
    openai_model: LoopbackModel,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMAPPS_SENTINEL__DELIVERY_ATTEMPTS", "2")
    monkeypatch.setenv("LLMAPPS_SENTINEL__DELIVERY_BACKOFF_S", "0.01")
    hn.add_story(9101, "Trending thing", score=120, comments=12)
    posts: list[dict[str, object]] = []
    calls = {"n": 0}

    def hook(request: Request) -> Response:
        calls["n"] += 1
        if calls["n"] <= 2:  # down for both immediate tries of the first run
            return Response("busy", status=503)
        posts.append(json.loads(request.data))
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(hook)
    hook_url = httpserver.url_for("/hook")
    # daily runs half a day away: no run falls due between the two run-now calls, at any hour
    far = ["--at", (datetime.now(UTC) + timedelta(hours=12)).strftime("%H:%M"), "--tz", "UTC"]
    hook_args = ["--webhook", hook_url, "--webhook-format", "json"]
    assert cli("add", str(git_repo), *hook_args, *far)[0] == 0
    assert (
        cli("add", "hn", "--every", "daily", "-m", openai_model.spec, "--lang", "en", *far)[0] == 0
    )
    assert cli("add", "acme/ghost")[0] == 0  # unknown on GitHub: fails, the others still run

    code, out = cli("run-now")
    assert code == 1, out  # one subscription failed
    lines = out.strip().splitlines()
    assert len(lines) == 3, out
    assert lines[0].startswith("✓") and "localrepo: report 1 (0 items; webhook:failed)" in lines[0]
    assert lines[1].startswith("✓ hackernews: report 2 (1 items; no delivery)"), lines[1]
    assert lines[2].startswith("✗ acme/ghost") and "404" in lines[2]
    assert openai_model.prompts and "Trending thing" in openai_model.prompts[0]
    assert [d.status for d in list_deliveries(get_settings())] == ["failed"]

    assert cli("remove", "acme/ghost")[0] == 0
    code, out = cli("run-now")
    assert code == 0, out
    assert "✓ retried delivery 1 of report 1 by webhook: sent" in out
    assert "nothing is due" in out  # both ran today; a daily schedule is not due again yet
    assert posts and posts[0]["report_id"] == 1 and posts[0]["target"] == str(git_repo)
    assert [d.status for d in list_deliveries(get_settings())] == ["sent"]

    code, out = cli("run-now", "--all")
    assert code == 0 and "localrepo: report 3" in out and "hackernews: report 4" in out
