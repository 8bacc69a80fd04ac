"""Delivery of reports (email, webhooks) with retries and a table of failed deliveries.

Why a table: a mail server or chat platform that is down at 08:00 must not cost the reader
their report. Each delivery is tried a few times at once; if it still fails it is recorded as
``failed`` and :func:`retry_failed` (run by the daemon and ``run-now``) tries it again later.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from llmapps.config import Settings
from llmapps.scrub import scrub_optional
from llmapps.sentinel.errors import DeliveryError, NotFoundError
from llmapps.sentinel.notifiers.email import send_email
from llmapps.sentinel.notifiers.webhook import post_webhook, redact_webhook
from llmapps.sentinel.reports import Report, get_report
from llmapps.sentinel.store import sentinel_db
from llmapps.sentinel.timeutil import iso, utcnow

log = logging.getLogger("llmapps.sentinel.notify")
MAX_TOTAL_ATTEMPTS = 20


@dataclass
class Delivery:
    id: int
    report_id: int
    channel: str  # email | webhook
    destination: str  # comma-separated emails, or the webhook URL
    format: str | None
    status: str  # sent | failed | abandoned
    attempts: int
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        if self.channel == "webhook":
            data["destination"] = redact_webhook(self.destination)
        return data


def _send_once(
    settings: Settings, report: Report, channel: str, dest: str, fmt: str | None
) -> None:
    if channel == "email":
        send_email(settings, dest.split(","), report.title, report.markdown)
    else:
        meta = {
            "report_id": report.id,
            "target": report.target,
            "report_type": report.report_type,
            "window_start": report.window_start,
            "window_end": report.window_end,
            "version": report.version,
        }
        post_webhook(dest, fmt or "json", report.title, report.markdown, meta)


def _attempt(
    settings: Settings, report: Report, channel: str, dest: str, fmt: str | None
) -> tuple[bool, int, str | None]:
    """Up to ``delivery_attempts`` tries with backoff -> (ok, tries, last error)."""
    cfg = settings.sentinel
    error: str | None = None
    tries = max(1, cfg.delivery_attempts)
    for attempt in range(1, tries + 1):
        try:
            _send_once(settings, report, channel, dest, fmt)
            return True, attempt, None
        except Exception as exc:  # any failure is recorded and retried, never raised
            error = (
                str(exc)
                if isinstance(exc, DeliveryError)
                # the type only: an unexpected error's text may quote a secret webhook URL
                else f"{channel} delivery failed unexpectedly ({type(exc).__name__}): see the logs"
            )
            log.warning(
                "delivery of report %s by %s failed (try %s): %s",
                report.id,
                channel,
                attempt,
                error,
            )
            if attempt < tries:
                time.sleep(cfg.delivery_backoff_s * 2 ** (attempt - 1))
    return False, tries, scrub_optional(error)  # stored: no known secret value in it


def deliver(
    settings: Settings, report: Report, emails: list[str], webhooks: list[dict[str, str]]
) -> list[Delivery]:
    """Send ``report`` to every channel; every outcome is recorded, failures for retry."""
    targets: list[tuple[str, str, str | None]] = []
    if emails:
        targets.append(("email", ",".join(emails), None))
    targets += [("webhook", hook["url"], hook.get("format", "json")) for hook in webhooks]
    db = sentinel_db(settings)
    out = []
    for channel, dest, fmt in targets:
        ok, tries, error = _attempt(settings, report, channel, dest, fmt)
        now = iso(utcnow())
        cur = db.execute(
            "INSERT INTO sentinel_deliveries(report_id, channel, destination, format, status, "
            "attempts, last_error, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (report.id, channel, dest, fmt, "sent" if ok else "failed", tries, error, now, now),
        )
        out.append(get_delivery(settings, int(cur.lastrowid or 0)))
    return out


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row["id"],
        report_id=row["report_id"],
        channel=row["channel"],
        destination=row["destination"],
        format=row["format"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
    )


def get_delivery(settings: Settings, delivery_id: int) -> Delivery:
    row = sentinel_db(settings).query_one(
        "SELECT * FROM sentinel_deliveries WHERE id=?", (delivery_id,)
    )
    if row is None:
        raise NotFoundError(f"no delivery {delivery_id}")
    return _delivery(row)


def list_deliveries(settings: Settings, status: str | None = None) -> list[Delivery]:
    sql = "SELECT * FROM sentinel_deliveries"
    params: tuple[Any, ...] = ()
    if status:
        sql += " WHERE status=?"
        params = (status,)
    rows = sentinel_db(settings).query(sql + " ORDER BY id", params)
    return [_delivery(r) for r in rows]


def retry_failed(settings: Settings) -> list[Delivery]:
    """Try every ``failed`` delivery again; gives up after ``MAX_TOTAL_ATTEMPTS`` tries."""
    db = sentinel_db(settings)
    done = []
    for delivery in list_deliveries(settings, "failed"):
        report = get_report(settings, delivery.report_id)
        ok, tries, error = _attempt(
            settings, report, delivery.channel, delivery.destination, delivery.format
        )
        attempts = delivery.attempts + tries
        status = "sent" if ok else ("abandoned" if attempts >= MAX_TOTAL_ATTEMPTS else "failed")
        db.execute(
            "UPDATE sentinel_deliveries SET status=?, attempts=?, last_error=?, updated_at=? "
            "WHERE id=?",
            (status, attempts, error, iso(utcnow()), delivery.id),
        )
        done.append(get_delivery(settings, delivery.id))
    return done
