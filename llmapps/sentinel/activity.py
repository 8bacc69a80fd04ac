"""Activity items: the one shape every source produces and every report consumes.

Why a shared record: GitHub pull requests, issues, commits, releases, local git commits and
Hacker News stories all become ``ActivityItem`` so the report chain, the raw JSON export and
the SQLite history need only one code path.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from llmapps.config import Settings
from llmapps.sentinel.store import sentinel_db
from llmapps.sentinel.timeutil import iso, parse_time, utcnow

# Kinds, in the order reports present them.
KINDS = ("release", "pr", "issue_opened", "issue_closed", "commit", "story")


@dataclass
class ActivityItem:
    """One thing that happened: a merged PR, an issue opened/closed, a commit, a release…"""

    kind: str
    key: str  # unique within (target, kind): PR number, sha, tag, story id
    title: str
    url: str | None
    author: str | None
    occurred_at: str  # ISO UTC
    body: str = ""
    labels: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def when(self) -> datetime:
        dt = parse_time(self.occurred_at)
        assert dt is not None
        return dt

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActivityItem:
        return cls(**data)


@dataclass
class Activity:
    """Everything a source returned for one target and window."""

    target: str
    source: str  # github | git | hackernews
    since: datetime
    until: datetime
    items: list[ActivityItem] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "source": self.source,
            "since": iso(self.since),
            "until": iso(self.until),
            "meta": self.meta,
            "items": [item.to_dict() for item in self.items],
        }


def record_activity(settings: Settings, activity: Activity) -> int:
    """Upsert the items into ``sentinel_activity`` (one row per item); returns how many new."""
    db = sentinel_db(settings)
    now = iso(utcnow())
    before = _count(db, activity.target)
    with db.transaction() as conn:
        for item in activity.items:
            conn.execute(
                "INSERT INTO sentinel_activity(target, kind, item_key, title, url, author, "
                "occurred_at, data, first_seen_at) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(target, kind, item_key) DO UPDATE SET title = excluded.title, "
                "url = excluded.url, data = excluded.data",
                (
                    activity.target,
                    item.kind,
                    item.key,
                    item.title,
                    item.url,
                    item.author,
                    item.occurred_at,
                    json.dumps(item.to_dict(), ensure_ascii=False),
                    now,
                ),
            )
    return _count(db, activity.target) - before


def _count(db: Any, target: str) -> int:
    row = db.query_one("SELECT COUNT(*) AS n FROM sentinel_activity WHERE target = ?", (target,))
    return int(row["n"]) if row else 0


def stored_activity(
    settings: Settings, target: str, since: datetime, until: datetime
) -> list[ActivityItem]:
    """Items recorded for ``target`` with ``occurred_at`` in ``[since, until)``."""
    rows = sentinel_db(settings).query(
        "SELECT data FROM sentinel_activity WHERE target = ? AND occurred_at >= ? "
        "AND occurred_at < ? ORDER BY occurred_at",
        (target, iso(since), iso(until)),
    )
    return [ActivityItem.from_dict(json.loads(row["data"])) for row in rows]
