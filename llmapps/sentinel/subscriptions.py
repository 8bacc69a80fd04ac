"""Subscriptions: what to watch (GitHub repo, local git path, Hacker News), when, for whom.

Why schedules live here as text: the subscription row is the persistent truth (``daily``,
``weekly``, ``hourly``, an interval like ``30m``, or a cron expression, in a time zone); the
daemon turns it into an APScheduler trigger, so editing a subscription edits its schedule.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from llmapps.config import Settings
from llmapps.scrub import scrub
from llmapps.sentinel.errors import ForbiddenError, NotFoundError, SubscriptionError
from llmapps.sentinel.sources.git import check_git_repo
from llmapps.sentinel.sources.github import check_repo_name
from llmapps.sentinel.store import sentinel_db
from llmapps.sentinel.timeutil import iso, parse_time, utcnow
from llmapps.sentinel.watch import Watch, check_watch, parse_keywords

LANGUAGES = ("zh", "en")
WEBHOOK_FORMATS = ("json", "slack", "feishu", "dingtalk", "wecom")
HN_TARGET = "hackernews"
_INTERVAL_RE = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_AT_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass
class Subscription:
    id: int
    kind: str  # github | git | hn
    target: str
    schedule: str = "daily"
    at_time: str | None = "08:00"
    timezone: str = "UTC"
    language: str = "zh"
    emails: list[str] = field(default_factory=list)
    webhooks: list[dict[str, str]] = field(default_factory=list)
    model: str | None = None
    enabled: bool = True
    last_window_end: str | None = None
    last_run_at: str | None = None
    last_status: str | None = None
    watch: Watch = field(default_factory=Watch)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "watch": self.watch.to_dict()}

    def trigger(self) -> BaseTrigger:
        return make_trigger(self.schedule, self.at_time, self.timezone)

    def schedule_text(self) -> str:
        """``daily 08:00``; the time of day only where it applies (not cron or intervals)."""
        if self.schedule.strip().lower() in ("daily", "weekly", "hourly") and self.at_time:
            return f"{self.schedule} {self.at_time}"
        return self.schedule

    def listing_row(self) -> list[Any]:
        """id, kind, target, schedule, tz, lang, emails, webhook formats, last run: the one
        summary both the CLI table and the web tab list (webhook URLs, which hold tokens, never
        appear in it)."""
        return [
            self.id,
            self.kind,
            self.target,
            self.schedule_text(),
            self.timezone,
            self.language,
            ", ".join(self.emails),
            ", ".join(h["format"] for h in self.webhooks),
            f"{self.last_run_at or '-'} {self.last_status or ''}".strip(),
        ]

    def signature(self) -> str:
        """Changes whenever the schedule changes (the daemon re-creates the job then)."""
        return f"{self.schedule}|{self.at_time}|{self.timezone}"


def parse_target(target: str, *, git_roots: list[str] | None = None) -> tuple[str, str]:
    """``owner/repo`` -> github; ``hn``/``hackernews`` -> hn; a path or ``git:/path`` -> git.

    ``git_roots`` confines local paths (HTTP callers): ``None`` means unrestricted (the CLI's
    local user), a list means the resolved path must lie under one of those folders. The check
    runs before git touches the path, so a refused caller learns nothing about it.
    """
    text = target.strip()
    if text.lower() in ("hn", "hackernews", "hacker-news"):
        return "hn", HN_TARGET
    if text.startswith(("git:", "/", "./", "../", "~")) or (
        "/" not in text and text not in ("",) and _looks_like_dir(text)
    ):
        if git_roots is not None:
            confine_git_path(text, git_roots)
        return "git", str(check_git_repo(text))
    return "github", check_repo_name(text)


def confine_git_path(text: str, git_roots: list[str]) -> Path:
    """The resolved path of a local git target if it lies under a root, else 403.

    Resolving first (``..`` and symlinks followed, as git itself would) is what makes the check
    sound: ``/srv/repos/../../etc`` or a symlink inside a root pointing outside both fail.
    """
    if not git_roots:
        raise ForbiddenError(
            "local git repositories are not allowed over HTTP: list their folders in "
            "sentinel.git_roots (llmapps.toml or LLMAPPS_SENTINEL__GIT_ROOTS)"
        )
    path = Path(text.removeprefix("git:")).expanduser().resolve()
    for root in git_roots:
        base = Path(root).expanduser().resolve()
        if path == base or path.is_relative_to(base):
            return path
    raise ForbiddenError(
        f"'{text}' is outside sentinel.git_roots: over HTTP only repositories under those "
        "folders may be watched (add its folder to sentinel.git_roots)"
    )


def _looks_like_dir(text: str) -> bool:
    return Path(text).expanduser().is_dir()


def check_timezone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise SubscriptionError(
            f"unknown time zone '{tz}': use an IANA name like Asia/Shanghai or UTC"
        ) from None
    return tz


def make_trigger(schedule: str, at_time: str | None, tz: str) -> BaseTrigger:
    """``daily``/``weekly``/``hourly`` (at HH:MM), ``30s``/``10m``/``2h``, or cron (5/6 fields)."""
    zone = ZoneInfo(check_timezone(tz))
    text = schedule.strip().lower()
    hour, minute = 8, 0
    if at_time:
        match = _AT_RE.match(at_time.strip())
        if not match:
            raise SubscriptionError(f"bad time '{at_time}': use HH:MM, e.g. --at 08:30")
        hour, minute = int(match.group(1)), int(match.group(2))
    if text == "daily":
        return CronTrigger(hour=hour, minute=minute, timezone=zone)
    if text == "weekly":
        return CronTrigger(day_of_week="mon", hour=hour, minute=minute, timezone=zone)
    if text == "hourly":
        return CronTrigger(minute=minute, timezone=zone)
    match = _INTERVAL_RE.match(text)
    if match:
        amount = int(match.group(1))
        if amount <= 0:
            raise SubscriptionError(f"bad interval '{schedule}': use a positive number like 30m")
        return IntervalTrigger(timezone=zone, **{_UNITS[match.group(2)]: amount})
    fields = schedule.split()
    try:
        if len(fields) in (5, 6):
            sec, mins, hrs, day, month, dow = fields if len(fields) == 6 else ["0", *fields]
            return CronTrigger(
                second=sec,
                minute=mins,
                hour=hrs,
                day=day,
                month=month,
                day_of_week=crontab_dow(dow),
                timezone=zone,
            )
    except ValueError as exc:
        raise SubscriptionError(f"bad cron expression '{schedule}': {exc}") from None
    raise SubscriptionError(
        f"bad schedule '{schedule}': use daily, weekly, hourly, an interval like 30m, or a cron "
        "expression like '0 8 * * 1-5'"
    )


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def crontab_dow(field: str) -> str:
    """Crontab day-of-week numbers (0 or 7 = Sunday) -> names APScheduler reads correctly.

    APScheduler 3 numbers days from Monday = 0, so ``1-5`` passed through unchanged would mean
    Tuesday to Saturday; names remove the ambiguity. Named days and ``*`` pass through.
    """
    if not re.search(r"\d", field) or field.startswith("*"):
        return field
    names: list[str] = []
    for part in field.split(","):
        match = re.fullmatch(r"(\d)(?:-(\d))?(?:/(\d+))?", part.strip())
        if not match:
            raise SubscriptionError(f"bad day-of-week '{field}': use 0-7, names, ranges or *")
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        step = int(match.group(3) or 1)
        if first > 7 or last > 7 or first > last:
            raise SubscriptionError(f"bad day-of-week '{field}': days are 0-7 (0 and 7 = Sunday)")
        for day in range(first, last + 1, step):
            if _DAYS[day % 7] not in names:
                names.append(_DAYS[day % 7])
    return ",".join(names)


def default_window(schedule: str) -> timedelta:
    """How far back the first run of a subscription looks."""
    text = schedule.strip().lower()
    if text == "weekly":
        return timedelta(days=7)
    if text == "hourly":
        return timedelta(hours=1)
    match = _INTERVAL_RE.match(text)
    if match:
        return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    return timedelta(days=1)


def guess_webhook_format(url: str) -> str:
    host = re.sub(r"^https?://", "", url).split("/")[0].lower()
    if "slack.com" in host:
        return "slack"
    if "feishu" in host or "larksuite" in host or "lark" in host:
        return "feishu"
    if "dingtalk" in host:
        return "dingtalk"
    if "qyapi.weixin.qq.com" in host:
        return "wecom"
    return "json"


def check_emails(emails: list[str]) -> list[str]:
    out = []
    for raw in emails:
        for email in re.split(r"[,;\s]+", raw):
            if not email:
                continue
            if not _EMAIL_RE.match(email):
                raise SubscriptionError(f"bad email address '{email}': use name@example.com")
            out.append(email)
    return out


def check_webhooks(urls: list[str], fmt: str | None) -> list[dict[str, str]]:
    hooks = []
    for url in (u.strip() for u in urls):
        if not url:  # ``--webhook ""`` on edit clears the list
            continue
        if not re.match(r"^https?://", url):
            raise SubscriptionError(f"bad webhook URL '{url}': it must start with http(s)://")
        chosen = (fmt or guess_webhook_format(url)).lower()
        if chosen not in WEBHOOK_FORMATS:
            raise SubscriptionError(
                f"unknown webhook format '{fmt}': use one of {', '.join(WEBHOOK_FORMATS)}"
            )
        hooks.append({"url": url, "format": chosen})
    return hooks


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise SubscriptionError(f"unknown report language '{lang}': use zh or en")
    return lang


def _row(row: Any) -> Subscription:
    return Subscription(
        id=row["id"],
        kind=row["kind"],
        target=row["target"],
        schedule=row["schedule"],
        at_time=row["at_time"],
        timezone=row["timezone"],
        language=row["language"],
        emails=json.loads(row["emails"]),
        webhooks=json.loads(row["webhooks"]),
        model=row["model"],
        enabled=bool(row["enabled"]),
        last_window_end=row["last_window_end"],
        last_run_at=row["last_run_at"],
        last_status=row["last_status"],
        watch=Watch.from_json(row["watch"]),
    )


def build_watch(
    kind: str,
    current: Watch | None = None,
    *,
    releases_only: bool | None = None,
    labels: list[str] | None = None,
    paths: list[str] | None = None,
    keywords: list[str] | None = None,
    include_seen: bool | None = None,
    per_item: bool | None = None,
) -> Watch:
    """The subscription's watch settings with the given ones changed (lists replace)."""
    watch = Watch(**(current or Watch()).to_dict())
    if releases_only is not None:
        watch.releases_only = releases_only
    if labels is not None:
        watch.labels = labels
    if paths is not None:
        watch.paths = paths
    if keywords is not None:
        watch.keywords = parse_keywords(keywords)
    if include_seen is not None:
        watch.include_seen = include_seen
    if per_item is not None:
        watch.per_item = per_item
    return check_watch(kind, watch)


def add(
    settings: Settings,
    target: str,
    *,
    every: str = "daily",
    at: str | None = None,
    tz: str | None = None,
    lang: str | None = None,
    emails: list[str] | None = None,
    webhooks: list[str] | None = None,
    webhook_format: str | None = None,
    model: str | None = None,
    git_roots: list[str] | None = None,
    **watch: Any,
) -> Subscription:
    """Validate everything, then insert; a duplicate target is an error naming ``edit``.

    ``git_roots`` (HTTP callers) confines local git paths; see :func:`parse_target`. The
    remaining options are the watch settings of :func:`build_watch`.
    """
    kind, name = parse_target(target, git_roots=git_roots)
    settings_watch = build_watch(kind, **watch)
    tz = check_timezone(tz or settings.sentinel.timezone)
    at = at or "08:00"
    make_trigger(every, at, tz)
    lang = check_language(lang or settings.sentinel.language)
    mails = check_emails(emails or [])
    hooks = check_webhooks(webhooks or [], webhook_format)
    db = sentinel_db(settings)
    if db.query_one(
        "SELECT id FROM sentinel_subscriptions WHERE kind = ? AND target = ?", (kind, name)
    ):
        raise SubscriptionError(
            f"'{name}' is already subscribed: use 'llmapps sentinel edit {name}' to change it"
        )
    now = iso(utcnow())
    cur = db.execute(
        "INSERT INTO sentinel_subscriptions(kind, target, schedule, at_time, timezone, language, "
        "emails, webhooks, model, enabled, created_at, updated_at, watch) "
        "VALUES (?,?,?,?,?,?,?,?,?,1,?,?,?)",
        (
            kind,
            name,
            every,
            at,
            tz,
            lang,
            json.dumps(mails),
            json.dumps(hooks),
            model,
            now,
            now,
            settings_watch.to_json(),
        ),
    )
    return get(settings, int(cur.lastrowid or 0))


def list_all(settings: Settings, *, enabled_only: bool = False) -> list[Subscription]:
    sql = "SELECT * FROM sentinel_subscriptions"
    if enabled_only:
        sql += " WHERE enabled = 1"
    return [_row(r) for r in sentinel_db(settings).query(sql + " ORDER BY id")]


def get(settings: Settings, ref: int | str) -> Subscription:
    """By id, or by target (``owner/repo``, path, ``hn``)."""
    db = sentinel_db(settings)
    row = None
    if isinstance(ref, int) or str(ref).isdigit():
        row = db.query_one("SELECT * FROM sentinel_subscriptions WHERE id = ?", (int(ref),))
    if row is None:
        text = str(ref).strip()
        candidates = {text, text.removeprefix("git:"), lookup_name(text)}
        for name in candidates:
            row = db.query_one("SELECT * FROM sentinel_subscriptions WHERE target = ?", (name,))
            if row is not None:
                break
    if row is None:
        raise NotFoundError(
            f"no subscription '{ref}': see 'llmapps sentinel list' for ids and targets"
        )
    return _row(row)


def lookup_name(text: str) -> str:
    """The stored target name for a lookup (``get``, history filter), without running git.

    Why not :func:`parse_target`: that probes the path with git, and a lookup (also reachable
    over HTTP) must not make the server run git in arbitrary folders.
    """
    text = text.strip()
    if text.lower() in ("hn", "hackernews", "hacker-news"):
        return HN_TARGET
    if text.startswith(("git:", "/", "./", "../", "~")) or (
        "/" not in text and _looks_like_dir(text)
    ):
        return str(Path(text.removeprefix("git:")).expanduser().resolve())
    with contextlib.suppress(SubscriptionError):
        return check_repo_name(text)
    return text


def find(settings: Settings, target: str) -> Subscription | None:
    try:
        return get(settings, target)
    except NotFoundError:
        return None


def remove(settings: Settings, ref: int | str) -> Subscription:
    sub = get(settings, ref)
    db = sentinel_db(settings)
    with db.transaction() as conn:
        conn.execute("DELETE FROM sentinel_subscriptions WHERE id = ?", (sub.id,))
        # ids can be reused by SQLite: a later subscription must not inherit this memory
        conn.execute("DELETE FROM sentinel_seen WHERE scope = ?", (f"sub:{sub.id}",))
    return sub


def edit(
    settings: Settings,
    ref: int | str,
    *,
    every: str | None = None,
    at: str | None = None,
    tz: str | None = None,
    lang: str | None = None,
    emails: list[str] | None = None,
    webhooks: list[str] | None = None,
    webhook_format: str | None = None,
    model: str | None = None,
    enabled: bool | None = None,
    **watch: Any,
) -> Subscription:
    """Change only the given fields; lists (emails, webhooks, filters) replace when given."""
    sub = get(settings, ref)
    sub.watch = build_watch(sub.kind, sub.watch, **watch)
    sub.schedule = every or sub.schedule
    sub.at_time = at or sub.at_time
    sub.timezone = check_timezone(tz) if tz else sub.timezone
    make_trigger(sub.schedule, sub.at_time, sub.timezone)
    sub.language = check_language(lang) if lang else sub.language
    if emails is not None:
        sub.emails = check_emails(emails)
    if webhooks is not None:
        sub.webhooks = check_webhooks(webhooks, webhook_format)
    elif webhook_format:
        sub.webhooks = check_webhooks([h["url"] for h in sub.webhooks], webhook_format)
    if model is not None:
        sub.model = model or None
    if enabled is not None:
        sub.enabled = enabled
    sentinel_db(settings).execute(
        "UPDATE sentinel_subscriptions SET schedule=?, at_time=?, timezone=?, language=?, "
        "emails=?, webhooks=?, model=?, enabled=?, updated_at=?, watch=? WHERE id=?",
        (
            sub.schedule,
            sub.at_time,
            sub.timezone,
            sub.language,
            json.dumps(sub.emails),
            json.dumps(sub.webhooks),
            sub.model,
            int(sub.enabled),
            iso(utcnow()),
            sub.watch.to_json(),
            sub.id,
        ),
    )
    return get(settings, sub.id)


def mark_run(settings: Settings, sub_id: int, *, window_end: datetime | None, status: str) -> None:
    """Remember the run; the window end is kept only on success (the next run resumes there)."""
    db = sentinel_db(settings)
    if window_end is not None:
        db.execute(
            "UPDATE sentinel_subscriptions SET last_window_end=?, last_run_at=?, last_status=? "
            "WHERE id=?",
            (iso(window_end), iso(utcnow()), scrub(status)[:500], sub_id),
        )
    else:
        db.execute(
            "UPDATE sentinel_subscriptions SET last_run_at=?, last_status=? WHERE id=?",
            (iso(utcnow()), scrub(status)[:500], sub_id),
        )


def next_window(sub: Subscription, now: datetime | None = None) -> tuple[datetime, datetime]:
    """``[last window end, now)``, or the schedule's default span for a first run."""
    until = now or utcnow()
    since = parse_time(sub.last_window_end) or until - default_window(sub.schedule)
    return since, until
