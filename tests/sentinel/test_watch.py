"""Watch filters per subscription: releases only, labels, paths, Hacker News keywords."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from llmapps.config import Settings
from llmapps.sentinel import service
from tests.sentinel.conftest import WINDOW_END, WINDOW_START, CountingFakeModel, cli
from tests.sentinel.git_history import History, build_history
from tests.sentinel.sentinel_emulator import GitHubEmulator, HackerNewsEmulator


@pytest.fixture
def history(tmp_path: Path) -> History:
    return build_history(tmp_path / "rocket", WINDOW_START, "git@github.com:acme/rocket.git")


def window_report(settings: Settings, target: str, model: CountingFakeModel) -> str:
    return service.generate_report(
        settings,
        target,
        since=WINDOW_START.isoformat(),
        until=WINDOW_END.isoformat(),
        lang="en",
        chat_model=model,
    ).markdown


def test_path_filter_keeps_changes_under_src(
    history: History, settings: Settings, fake_model: CountingFakeModel
) -> None:
    service.add_subscription(settings, str(history.repo), paths=["src/**"])
    md = window_report(settings, str(history.repo), fake_model)
    assert "_Watch filters: paths: src/** (3 items left out)_" in md
    for kept in ("feat: add export command", "Add a plugin loader", "perf: faster startup"):
        assert kept in md
    assert "test: cover the plugin loader" in md  # brought by a kept PR: listed under it
    assert "fix: crash on empty input" in md
    assert "docs: explain the config file" not in md
    assert "[#23]" not in md and "bump version" not in md  # touched VERSION only
    assert "[v0.8]" in md  # releases are not about paths


def test_releases_only(history: History, settings: Settings, fake_model: CountingFakeModel) -> None:
    service.add_subscription(settings, f"git:{history.repo}", releases_only=True)
    md = window_report(settings, str(history.repo), fake_model)
    lines = [line for line in md.split("## Releases")[1].splitlines() if line.startswith("- ")]
    assert len(lines) == 2 and "[v0.7]" in lines[0] and "[v0.8]" in lines[1]
    assert "## New features" not in md and "10 items left out" in md


def test_label_filter_on_github(
    github: GitHubEmulator, settings: Settings, fake_model: CountingFakeModel
) -> None:
    repo = github.repo("acme/rocket")
    t = WINDOW_START + timedelta(hours=1)
    repo.add_pr(101, "feat: plugin API", merged=t, updated=t)
    repo.add_pr(102, "fix: memory leak", merged=t, updated=t, labels=("Bug",))
    repo.add_issue(201, "Crash on start", created=t, labels=("bug",))
    repo.add_issue(202, "Roadmap", created=t)
    repo.add_release("v3.0.0", "Rocket 3", t)
    service.add_subscription(settings, "acme/rocket", labels=["bug"])
    md = window_report(settings, "acme/rocket", fake_model)
    assert "[#102]" in md and "[#201]" in md and "[v3.0.0]" in md
    assert "[#101]" not in md and "[#202]" not in md
    assert "labels: bug (2 items left out)" in md


def test_hacker_news_keywords_with_aliases(
    hn: HackerNewsEmulator, settings: Settings, fake_model: CountingFakeModel
) -> None:
    hn.add_story(8001, "Show HN: A tiny database", score=321, comments=87)
    hn.add_story(8002, "Rust 2.0 released", score=990, comments=410)
    hn.add_story(8003, "Cargo gets sparse indexes", score=150, comments=30)
    hn.add_story(8004, "Trusting trust, revisited", score=99, comments=3)  # not the word "rust"
    sub = service.add_subscription(settings, "hn", lang="en", keywords=["rust=cargo,rustlang"])
    assert sub.watch.keywords == {"rust": ["cargo", "rustlang"]}
    outcome = service.run_subscription(settings, sub.id, chat_model=fake_model)
    assert outcome.report is not None
    md = outcome.report.markdown
    assert "Rust 2.0 released" in md and "Cargo gets sparse indexes" in md
    assert "tiny database" not in md and "Trusting trust" not in md
    assert "keywords: rust (cargo, rustlang) (2 items left out)" in md
    # the same filter for a digest asked for by hand
    report = service.hn_report(settings, lang="en", chat_model=fake_model, keywords=["database"])
    assert report.item_count == 1 and "tiny database" in report.markdown


@pytest.mark.usefixtures("wide_console")
def test_filters_on_the_command_line_and_over_http(
    history: History, github: GitHubEmulator, settings: Settings
) -> None:
    code, out = cli("add", "acme/rocket", "--path", "src/**")
    assert code == 1 and "path filters need a local git repository" in out
    assert len(out.strip().splitlines()) == 1
    code, out = cli("add", str(history.repo), "--label", "bug")
    assert code == 1 and "label filters need a GitHub repository" in out
    code, out = cli("add", str(history.repo), "--path", "src/**", "--path", "docs/*.md")
    assert code == 0 and "watch filters: paths: src/**, docs/*.md" in out
    code, out = cli("edit", str(history.repo), "--per-item", "--include-seen")
    assert code == 0, out
    code, out = cli("list")
    assert "paths: src/**, docs/*.md; include seen; per item" in out
    sub = service.get_subscription(settings, str(history.repo))
    assert sub.watch.per_item and sub.watch.include_seen and sub.watch.paths
    code, out = cli("edit", str(history.repo), "--path", "")
    assert code == 0 and service.get_subscription(settings, sub.id).watch.paths == []

    from llmapps.app import create_app

    client = TestClient(create_app(settings, ui=False), base_url="http://127.0.0.1")
    resp = client.post(
        "/sentinel/subscriptions",
        json={"target": "acme/rocket", "labels": ["bug"], "per_item": True},
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["watch"]["labels"] == ["bug"] and resp.json()["watch"]["per_item"]
    bad = client.patch("/sentinel/subscriptions/acme/rocket", json={"paths": ["src/**"]})
    assert bad.status_code == 400 and "local git repository" in bad.json()["error"]["message"]
    many = client.patch("/sentinel/subscriptions/acme/rocket", json={"labels": ["x"] * 51})
    assert many.status_code in (400, 422)
