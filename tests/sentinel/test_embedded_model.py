"""End to end on the real embedded model (SmolLM2 via llama.cpp), kept short."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from llmapps.config import get_settings
from llmapps.sentinel import service
from tests.sentinel.sentinel_emulator import GitHubEmulator


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
