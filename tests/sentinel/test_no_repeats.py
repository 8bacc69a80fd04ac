"""No repeats: a second digest (or scheduled report) leaves out what an earlier one covered.

Hacker News is a loopback server in the Firebase API's wire format; the clock is injected
(``now=``), so "08:00" and "12:00" are exact whatever the time the tests run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from llmapps.config import Settings
from llmapps.sentinel import service
from llmapps.sentinel import subscriptions as subs
from tests.sentinel.conftest import (
    WINDOW_END,
    WINDOW_START,
    CountingFakeModel,
    LoopbackModel,
    cli,
)
from tests.sentinel.git_history import build_history
from tests.sentinel.sentinel_emulator import HackerNewsEmulator

MORNING = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def fill(hn: HackerNewsEmulator) -> None:
    when = MORNING - timedelta(hours=1)
    hn.add_story(8001, "Show HN: A tiny database", score=321, comments=87, by="alice", when=when)
    hn.add_story(8002, "Rust 2.0 released", score=990, comments=410, by="carol", when=when)
    hn.add_story(8003, "Cargo gets sparse indexes", score=150, comments=30, by="dan", when=when)


def story_lines(md: str) -> list[str]:
    return [line for line in md.split("## Stories")[-1].splitlines() if line.startswith("- [")]


@pytest.fixture
def model() -> CountingFakeModel:
    return CountingFakeModel(responses=["- The tiny database leads [S8001]."], prompts=[])


def test_second_digest_of_the_day_repeats_no_story(
    hn: HackerNewsEmulator, settings: Settings, model: CountingFakeModel
) -> None:
    fill(hn)
    first = service.hn_report(settings, hours=6, lang="en", chat_model=model, now=MORNING)
    assert first.item_count == 3 and len(story_lines(first.markdown)) == 3
    hn.add_story(8004, "Late arrival", score=12, comments=1, when=MORNING)
    noon = MORNING + timedelta(hours=4)
    second = service.hn_report(settings, hours=6, lang="en", chat_model=model, now=noon)
    md = second.markdown
    assert second.item_count == 1
    assert [line.split("](")[0] for line in story_lines(md)] == ["- [Late arrival"]
    assert "3 stories already in the 08:00 UTC digest (left out; --include-seen shows them)" in md
    assert "tiny database" not in model.prompts[-1] and "Late arrival" in model.prompts[-1]
    # asked to, the digest repeats them
    again = service.hn_report(
        settings, hours=6, lang="en", chat_model=model, now=noon, include_seen=True
    )
    assert again.item_count == 4 and "already in the" not in again.markdown
    # a third digest with nothing new says so instead of "no stories were recorded"
    empty = service.hn_report(
        settings, hours=6, lang="en", chat_model=model, now=noon + timedelta(minutes=30)
    )
    assert empty.item_count == 0 and "4 stories already in the" not in empty.markdown
    assert "3 stories already in the 08:00 UTC digest" in empty.markdown
    assert "1 stories already in the 12:00 UTC digest" in empty.markdown
    assert "Nothing new between" in empty.markdown and empty.model is None


def test_subscription_digests_remember_in_their_time_zone(
    hn: HackerNewsEmulator, settings: Settings, model: CountingFakeModel
) -> None:
    fill(hn)
    sub = service.add_subscription(settings, "hn", tz="Asia/Shanghai", lang="en")
    at_eight = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    first = service.run_subscription(settings, sub.id, chat_model=model, now=at_eight)
    assert first.report is not None and first.report.item_count == 3
    # an ad-hoc digest has its own memory: it still lists everything
    adhoc = service.hn_report(settings, daily=True, lang="en", chat_model=model, now=at_eight)
    assert adhoc.item_count == 3
    second = service.run_subscription(
        settings, sub.id, chat_model=model, now=at_eight + timedelta(hours=4)
    )
    assert second.report is not None and second.report.item_count == 0
    assert "3 stories already in the 08:00 digest" in second.report.markdown
    service.edit_subscription(settings, sub.id, include_seen=True)
    third = service.run_subscription(
        settings, sub.id, chat_model=model, now=at_eight + timedelta(hours=5)
    )
    assert third.report is not None and third.report.item_count == 3


@pytest.mark.usefixtures("wide_console")
def test_hn_twice_from_the_command_line(
    hn: HackerNewsEmulator, openai_model: LoopbackModel
) -> None:
    fill(hn)
    code, out = cli("hn", "--hours", "2", "-m", openai_model.spec, "--lang", "en")
    assert code == 0, out
    assert "[Show HN: A tiny database](https://example.com/8001)" in out
    code, out = cli("hn", "--hours", "2", "-m", openai_model.spec, "--lang", "en")
    assert code == 0, out
    assert "3 stories already in the" in out and "Show HN: A tiny database" not in out
    code, out = cli("hn", "--hours", "2", "--include-seen", "-m", openai_model.spec)
    assert code == 0, out
    assert "Show HN: A tiny database" in out


def test_scheduled_repository_reports_leave_out_covered_items(
    tmp_path: Path, settings: Settings, model: CountingFakeModel
) -> None:
    history = build_history(tmp_path / "rocket", WINDOW_START, "git@github.com:acme/rocket.git")
    sub = service.add_subscription(settings, str(history.repo), lang="en", tz="UTC")
    subs.mark_run(settings, sub.id, window_end=WINDOW_START, status="ok")
    first = service.run_subscription(settings, sub.id, chat_model=model, now=WINDOW_END)
    assert first.report is not None and first.report.item_count == 12
    # the same window again (a re-run after the remembered window was reset)
    subs.mark_run(settings, sub.id, window_end=WINDOW_START, status="ok")
    second = service.run_subscription(settings, sub.id, chat_model=model, now=WINDOW_END)
    assert second.report is not None and second.report.item_count == 0
    assert "12 items already in the 00:00 UTC report" in second.report.markdown
    subs.mark_run(settings, sub.id, window_end=WINDOW_START, status="ok")
    third = service.run_subscription(
        settings, sub.id, chat_model=model, now=WINDOW_END, include_seen=True
    )
    assert third.report is not None and third.report.item_count == 12
