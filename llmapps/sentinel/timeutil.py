"""UTC time helpers: every window and timestamp inside sentinel is an aware UTC datetime.

Why: GitHub, Hacker News and git each speak a different time format; converting at the edge
keeps windows comparable and the ``[since, until)`` arithmetic exact.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def parse_time(value: str | datetime | date | None) -> datetime | None:
    """ISO 8601 (``Z`` or offset), a date, or epoch seconds -> aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        if text.isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    """``2026-11-22T08:00:00Z``: the form GitHub accepts in ``since``/``until``."""
    return dt.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def in_window(value: str | datetime | None, since: datetime, until: datetime) -> bool:
    dt = parse_time(value)
    return dt is not None and since <= dt < until


def days_ago(days: float, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=days)
