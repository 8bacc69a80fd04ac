"""ETag + body cache in SQLite, so conditional requests (``If-None-Match``) survive restarts.

Why: GitHub does not count a ``304 Not Modified`` answer against the rate limit, so replaying
the stored body for an unchanged list saves both quota and time on every scheduled run.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmapps.config import Settings
from llmapps.sentinel.store import sentinel_db
from llmapps.sentinel.timeutil import iso, utcnow


@dataclass
class CachedResponse:
    etag: str
    link: str | None
    body: str


class EtagCache:
    """``url -> (etag, link header, body)`` rows in ``sentinel_http_cache``."""

    def __init__(self, settings: Settings) -> None:
        self.db = sentinel_db(settings)

    def get(self, url: str) -> CachedResponse | None:
        row = self.db.query_one(
            "SELECT etag, link, body FROM sentinel_http_cache WHERE url = ?", (url,)
        )
        if row is None or not row["etag"]:
            return None
        return CachedResponse(row["etag"], row["link"], row["body"])

    def put(self, url: str, etag: str, link: str | None, body: str) -> None:
        self.db.execute(
            "INSERT INTO sentinel_http_cache(url, etag, link, body, stored_at) "
            "VALUES (?,?,?,?,?) ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, "
            "link = excluded.link, body = excluded.body, stored_at = excluded.stored_at",
            (url, etag, link, body, iso(utcnow())),
        )
