"""Hacker News through its official Firebase API: list snapshots and story trends.

Why snapshots: the API only says what is on the lists *now*. Storing a snapshot every hour
(rank, points, comments) lets a daily report say what stayed on top, what climbed fastest and
what drew the most discussion, which a single look cannot tell.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from llmapps.config import Settings
from llmapps.sentinel.activity import ActivityItem
from llmapps.sentinel.errors import SourceError
from llmapps.sentinel.store import sentinel_db
from llmapps.sentinel.timeutil import iso, parse_time, utcnow

LISTS = {"top": "topstories", "best": "beststories", "new": "newstories"}
ITEM_URL = "https://news.ycombinator.com/item?id={id}"


@dataclass
class Story:
    id: int
    title: str
    url: str | None
    score: int
    comments: int
    author: str | None
    posted_at: str | None
    rank: int = 0

    @property
    def hn_url(self) -> str:
        return ITEM_URL.format(id=self.id)


class HackerNewsClient:
    """Reads ``/{list}.json`` and ``/item/{id}.json`` with a concurrency limit."""

    def __init__(self, base_url: str, *, concurrency: int = 8, timeout: float = 20.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._sem = asyncio.Semaphore(max(1, concurrency))
        self._client = httpx.AsyncClient(timeout=timeout, trust_env=False)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _get(self, path: str) -> Any:
        url = f"{self.base_url}/{path}"
        for attempt in range(1, 4):
            try:
                async with self._sem:
                    resp = await self._client.get(url)
                if resp.status_code == 200:
                    return resp.json()
                if resp.status_code < 500:
                    raise SourceError(
                        f"Hacker News answered {resp.status_code} for {url}: check "
                        "sentinel.hackernews_api_url"
                    )
            except httpx.TransportError as exc:
                if attempt == 3:
                    raise SourceError(
                        f"cannot reach Hacker News at {self.base_url} ({type(exc).__name__}): "
                        "check the network or sentinel.hackernews_api_url"
                    ) from None
            await asyncio.sleep(0.3 * attempt)
        raise SourceError(f"Hacker News kept failing for {url}: try again later")

    async def stories(self, list_name: str = "top", limit: int = 30) -> list[Story]:
        """The first ``limit`` stories of a list, in rank order (deleted/dead items skipped)."""
        if list_name not in LISTS:
            raise SourceError(f"unknown Hacker News list '{list_name}': use top, best or new")
        ids = await self._get(f"{LISTS[list_name]}.json") or []
        raw = await asyncio.gather(*(self._get(f"item/{i}.json") for i in ids[:limit]))
        stories = []
        for rank, item in enumerate(raw, start=1):
            if not item or item.get("deleted") or item.get("dead"):
                continue
            if item.get("type") not in ("story", "job", "poll"):
                continue
            posted = item.get("time")
            stories.append(
                Story(
                    id=int(item["id"]),
                    title=item.get("title") or "",
                    url=item.get("url"),
                    score=int(item.get("score") or 0),
                    comments=int(item.get("descendants") or 0),
                    author=item.get("by"),
                    posted_at=iso(parse_time(str(posted))) if posted else None,  # type: ignore[arg-type]
                    rank=rank,
                )
            )
        return stories


def take_snapshot(
    settings: Settings, lists: list[str] | None = None, now: datetime | None = None
) -> dict[str, list[Story]]:
    """Fetch the configured lists now and store them as one snapshot (same ``taken_at``).

    ``now`` stamps the snapshot (the clock is injectable; default: the current time).
    """
    cfg = settings.sentinel
    names = lists or cfg.hn_lists

    async def run() -> dict[str, list[Story]]:
        client = HackerNewsClient(cfg.hackernews_api_url, concurrency=cfg.concurrency)
        try:
            fetched = await asyncio.gather(*(client.stories(n, cfg.hn_stories) for n in names))
        finally:
            await client.aclose()
        return dict(zip(names, fetched, strict=True))

    result = asyncio.run(run())
    # Microseconds keep two snapshots within one second apart.
    taken = f"{(now or datetime.now(UTC)).astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}Z"
    db = sentinel_db(settings)
    with db.transaction() as conn:
        for name, stories in result.items():
            for s in stories:
                conn.execute(
                    "INSERT INTO sentinel_hn_snapshots(taken_at, list_name, rank, item_id, title, "
                    "url, score, comments, author, posted_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        taken,
                        name,
                        s.rank,
                        s.id,
                        s.title,
                        s.url,
                        s.score,
                        s.comments,
                        s.author,
                        s.posted_at,
                    ),
                )
    return result


def trends(settings: Settings, since: datetime, until: datetime) -> list[ActivityItem]:
    """Stories seen in snapshots within ``[since, until)``, ranked by staying power and points.

    Each item carries points (max seen), comments, best rank, how many snapshots it appeared
    in and how many points it gained between its first and last sighting.
    """
    rows = sentinel_db(settings).query(
        "SELECT taken_at, rank, item_id, title, url, score, comments, author, posted_at "
        "FROM sentinel_hn_snapshots WHERE taken_at >= ? AND taken_at < ? ORDER BY taken_at",
        (iso(since), iso(until)),
    )
    by_id: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = by_id.setdefault(
            row["item_id"],
            {"first_score": row["score"], "snapshots": set(), "best_rank": row["rank"]},
        )
        entry.update(
            title=row["title"],
            url=row["url"],
            author=row["author"],
            posted_at=row["posted_at"],
            score=max(entry.get("score", 0), row["score"]),
            comments=row["comments"],
            last_score=row["score"],
        )
        entry["snapshots"].add(row["taken_at"])
        entry["best_rank"] = min(entry["best_rank"], row["rank"])
    ranked = sorted(
        by_id.items(), key=lambda kv: (len(kv[1]["snapshots"]), kv[1]["score"]), reverse=True
    )
    items = []
    for item_id, e in ranked:
        hn_url = ITEM_URL.format(id=item_id)
        items.append(
            ActivityItem(
                kind="story",
                key=str(item_id),
                title=e["title"],
                url=e["url"] or hn_url,
                author=e["author"],
                occurred_at=e["posted_at"] or iso(since),
                extra={
                    "points": e["score"],
                    "comments": e["comments"],
                    "hn_url": hn_url,
                    "best_rank": e["best_rank"],
                    "snapshots": len(e["snapshots"]),
                    "gained": e["last_score"] - e["first_score"],
                },
            )
        )
    return items


def last_hours(hours: float, now: datetime | None = None) -> tuple[datetime, datetime]:
    end = (now or utcnow()) + timedelta(seconds=1)
    return end - timedelta(hours=hours), end
