"""What earlier reports of a subscription already covered, so the next one does not repeat it.

Why by item id in SQLite: an hourly-snapshot digest run at 08:00 and again at 12:00 sees the
same top stories; a scheduled repository report may meet an item again (a PR updated after
its merge window). Each report records the items it covered under its *scope* (a subscription,
or the ad-hoc digests of one kind); the next report of that scope leaves them out and says so
("12 stories already in the 08:00 digest"). ``--include-seen`` or the subscription's
``include_seen`` setting turns that off.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from llmapps.config import Settings
from llmapps.sentinel.activity import ActivityItem
from llmapps.sentinel.prompts import TEXT
from llmapps.sentinel.store import sentinel_db
from llmapps.sentinel.timeutil import parse_time


def scope(subscription_id: int | None, report_type: str) -> str:
    """``sub:7`` for a subscription's reports; ``adhoc:hn`` for digests asked for by hand."""
    return f"sub:{subscription_id}" if subscription_id is not None else f"adhoc:{report_type}"


def split_seen(
    settings: Settings, scope_name: str, items: list[ActivityItem]
) -> tuple[list[ActivityItem], dict[int, int]]:
    """(items not covered yet, {earlier report id: how many of its items came back})."""
    if not items:
        return items, {}
    rows = sentinel_db(settings).query(
        "SELECT kind, item_key, report_id FROM sentinel_seen WHERE scope = ?", (scope_name,)
    )
    covered = {(r["kind"], r["item_key"]): int(r["report_id"]) for r in rows}
    fresh: list[ActivityItem] = []
    counts: dict[int, int] = {}
    for item in items:
        report_id = covered.get((item.kind, item.key))
        if report_id is None:
            fresh.append(item)
        else:
            counts[report_id] = counts.get(report_id, 0) + 1
    return fresh, counts


def remember(
    settings: Settings, scope_name: str, items: list[ActivityItem], report_id: int
) -> None:
    """Record that ``report_id`` covered ``items`` (an item keeps its first report)."""
    db = sentinel_db(settings)
    with db.transaction() as conn:
        for item in items:
            conn.execute(
                "INSERT INTO sentinel_seen(scope, kind, item_key, report_id) VALUES (?,?,?,?) "
                "ON CONFLICT(scope, kind, item_key) DO NOTHING",
                (scope_name, item.kind, item.key, report_id),
            )


def seen_notes(
    settings: Settings,
    counts: dict[int, int],
    *,
    lang: str,
    hn: bool,
    now: datetime,
    timezone: str = "UTC",
) -> list[str]:
    """One line per earlier report: ``12 stories already in the 08:00 digest (left out…)``.

    The time is the earlier report's window end in the subscription's time zone, with the
    date when it was another day.
    """
    t = TEXT[lang]
    db = sentinel_db(settings)
    zone = ZoneInfo(timezone)
    notes = []
    for report_id, n in sorted(counts.items()):
        row = db.query_one("SELECT window_end FROM sentinel_reports WHERE id = ?", (report_id,))
        end = parse_time(row["window_end"]) if row else None
        when = "?"
        if end is not None:
            local, today = end.astimezone(zone), now.astimezone(zone)
            when = f"{local:%H:%M}" if local.date() == today.date() else f"{local:%Y-%m-%d %H:%M}"
            if timezone == "UTC":
                when += " UTC"
        notes.append(
            t["seen"].format(
                n=n,
                what=t["seen_story"] if hn else t["seen_item"],
                when=when,
                report=t["seen_report_hn"] if hn else t["seen_report_repo"],
            )
        )
    return notes
