"""End to end on the real embedded model (SmolLM2 via llama.cpp), kept short."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from llmapps.config import get_settings
from llmapps.sentinel import service
from tests.sentinel.conftest import WINDOW_END, WINDOW_START
from tests.sentinel.git_history import build_history
from tests.sentinel.sentinel_emulator import GitHubEmulator
from tests.sentinel.test_git_history import IN_WINDOW
from tests.sentinel.test_grounding import assert_no_invented_refs


@pytest.mark.model
def test_report_written_by_the_embedded_model(
    github: GitHubEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMAPPS_SENTINEL__REPORT_MAX_TOKENS", "40")
    settings = get_settings()
    now = datetime.now(UTC)
    repo = github.repo("acme/rocket")
    repo.add_pr(
        11,
        "feat: add a plugin API",
        merged=now - timedelta(hours=3),
        updated=now - timedelta(hours=3),
        body="Plugins can now hook into the loader.",
    )
    repo.add_pr(
        12,
        "fix: memory leak in the cache",
        merged=now - timedelta(hours=2),
        updated=now - timedelta(hours=2),
        labels=("bug",),
    )
    repo.add_release("v1.4.0", "Rocket 1.4", now - timedelta(hours=1))
    report = service.generate_report(
        settings, "acme/rocket", days=1, lang="en", model="local:smollm2"
    )
    md = report.markdown
    assert report.model == "local:smollm2" and report.item_count == 3
    summary = md.split("## Summary")[1].split("## ")[0].strip()
    assert summary and "model returned no summary" not in summary  # the model wrote something
    assert "[#11](https://github.com/acme/rocket/pull/11)" in md
    assert "[#12](https://github.com/acme/rocket/pull/12)" in md
    assert "[v1.4.0](https://github.com/acme/rocket/releases/tag/v1.4.0)" in md


@pytest.mark.model
def test_grounded_report_on_a_git_history_with_the_embedded_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real small model on a real history with merges: whatever it writes, every commit
    and merged PR is in the report and no hash, number or id in it is invented."""
    monkeypatch.setenv("LLMAPPS_SENTINEL__REPORT_MAX_TOKENS", "160")
    settings = get_settings()
    history = build_history(tmp_path / "rocket", WINDOW_START, "git@github.com:acme/rocket.git")
    report = service.generate_report(
        settings,
        str(history.repo),
        since=WINDOW_START.isoformat(),
        until=WINDOW_END.isoformat(),
        lang="en",
        model="local:smollm2",
        per_item=True,
    )
    md = report.markdown
    assert report.model == "local:smollm2"
    for subject in IN_WINDOW:
        assert f"`{history.shas[subject][:7]}`" in md, subject
    for number in ("21", "22", "23"):
        assert f"[#{number}](https://github.com/acme/rocket/pull/{number})" in md
    summary = md.split("## Summary")[1].split("\n## ")[0]
    assert "Dropped in the check" in summary or "built from the activity itself" in summary
    assert "model returned no summary" not in summary
    raw = json.loads(Path(report.raw_path).read_text())
    check = raw["meta"]["summary_check"]
    assert check["kept"] + check["dropped"] + check["repeated"] == check["sentences"]
    per_item = md.split("## Item by item")[1].split("\n## ")[0]
    assert len([line for line in per_item.splitlines() if line.startswith("- [")]) == 5
    assert_no_invented_refs(md, history)
