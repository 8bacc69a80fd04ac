"""Hacker News: snapshots through the Firebase API shapes, digests and daily trends."""

from __future__ import annotations

from llmapps.config import Settings
from llmapps.sentinel import service
from llmapps.sentinel.store import sentinel_db
from tests.sentinel.conftest import CountingFakeModel
from tests.sentinel.sentinel_emulator import HackerNewsEmulator


def fill(hn: HackerNewsEmulator) -> None:
    hn.add_story(8001, "Show HN: A tiny database", score=321, comments=87, by="alice")
    hn.add_story(
        8002, "Ask HN: How do you review code?", score=150, comments=230, by="bob", url=None
    )
    hn.add_story(8003, "Rust 2.0 released", score=990, comments=410, by="carol")


def test_snapshot_stores_every_story(hn: HackerNewsEmulator, settings: Settings) -> None:
    fill(hn)
    assert service.hn_snapshot(settings) == 3
    rows = sentinel_db(settings).query(
        "SELECT item_id, rank, score, comments, author, url FROM sentinel_hn_snapshots "
        "ORDER BY rank"
    )
    assert [(r["item_id"], r["rank"], r["score"], r["comments"], r["author"]) for r in rows] == [
        (8001, 1, 321, 87, "alice"),
        (8002, 2, 150, 230, "bob"),
        (8003, 3, 990, 410, "carol"),
    ]
    assert rows[1]["url"] is None  # Ask HN has no external URL


def test_digest_lists_points_comments_and_links(
    hn: HackerNewsEmulator, settings: Settings, fake_model: CountingFakeModel
) -> None:
    fill(hn)
    report = service.hn_report(settings, hours=2, lang="en", chat_model=fake_model)
    md = report.markdown
    assert report.item_count == 3 and report.report_type == "hn"
    assert "[Show HN: A tiny database](https://example.com/8001) — 321 points" in md
    assert "[87 comments](https://news.ycombinator.com/item?id=8001)" in md
    # Ask HN links to its discussion page
    assert "[Ask HN: How do you review code?](https://news.ycombinator.com/item?id=8002)" in md
    assert "by @carol" in md
    assert "Rust 2.0 released" in fake_model.prompts[0]


def test_daily_trends_follow_stories_across_snapshots(
    hn: HackerNewsEmulator, settings: Settings, fake_model: CountingFakeModel
) -> None:
    fill(hn)
    service.hn_snapshot(settings)
    hn.items[8001]["score"] = 500
    hn.add_story(8004, "New arrival", score=10, comments=1)
    report = service.hn_report(settings, daily=True, lang="zh", chat_model=fake_model)
    md = report.markdown
    assert report.report_type == "hn-daily" and "每日趋势" in report.title
    assert "出现在 2 次快照中 · +179 分" in md  # 8001: 321 -> 500 points
    lines = [line for line in md.splitlines() if line.startswith("- [")]
    # stories seen in both snapshots rank before the newcomer
    assert "New arrival" in lines[-1]


def test_empty_hn_window_is_honest(hn: HackerNewsEmulator, settings: Settings) -> None:
    report = service.hn_report(settings, hours=1, lang="en")  # no model configured or needed
    assert "No Hacker News stories were recorded" in report.markdown
    assert report.model is None
