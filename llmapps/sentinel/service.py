"""The functions the CLI, the web tab and the HTTP routes call (one function per action).

Why one module: "generate a report now" must behave the same whether it comes from
``llmapps sentinel report``, the Sentinel tab or ``POST /sentinel/reports``; the shells only
parse input and present what these functions return.

The remote-caller policy is applied here too, from the caller's ``access``: over HTTP or the
web UI a model spec must pass the guard, a local git path must lie under
``sentinel.git_roots``, webhook URLs (which embed tokens) are shown redacted, and a redacted
URL sent back in an edit keeps the stored one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from langchain_core.language_models import BaseChatModel

from llmapps.access import LOCAL, Access
from llmapps.config import Settings
from llmapps.models.guard import check_spec
from llmapps.scrub import scrub
from llmapps.sentinel import seen
from llmapps.sentinel import subscriptions as subs
from llmapps.sentinel import watch as watching
from llmapps.sentinel.activity import Activity, record_activity
from llmapps.sentinel.errors import SubscriptionError
from llmapps.sentinel.notifiers import Delivery, deliver, retry_failed
from llmapps.sentinel.notifiers.webhook import redact_webhook
from llmapps.sentinel.prompts import TEXT
from llmapps.sentinel.reports import ModelFactory, Report, get_report, list_reports, make_report
from llmapps.sentinel.sources import hackernews
from llmapps.sentinel.sources.git import fetch_git
from llmapps.sentinel.sources.github import GitHubClient, fetch_repo_sync
from llmapps.sentinel.subscriptions import Subscription
from llmapps.sentinel.timeutil import parse_time, utcnow
from llmapps.sentinel.watch import Watch

log = logging.getLogger("llmapps.sentinel")
Progress = Callable[[str], None]

__all__ = [
    "RunOutcome",
    "add_subscription",
    "due_subscriptions",
    "edit_subscription",
    "generate_report",
    "get_report",
    "get_subscription",
    "hn_report",
    "hn_snapshot",
    "list_reports",
    "list_subscriptions",
    "remove_subscription",
    "restore_webhooks",
    "retry_failed",
    "run_due",
    "run_now",
    "run_subscription",
    "subscription_view",
]


# -- subscriptions ------------------------------------------------------------------------
def _git_roots(settings: Settings, access: Access, given: list[str] | None) -> list[str] | None:
    """Local git paths a caller may name: ``None`` (any) for the local user."""
    return settings.sentinel.git_roots if access.remote else given


def add_subscription(
    settings: Settings, target: str, *, access: Access = LOCAL, **options: Any
) -> Subscription:
    check_spec(options.get("model"), settings, access)
    options["git_roots"] = _git_roots(settings, access, options.get("git_roots"))
    return subs.add(settings, target, **options)


def subscription_view(sub: Subscription, access: Access = LOCAL) -> dict[str, Any]:
    """A subscription as a caller may see it: for a remote one, webhook URLs redacted (the
    stored ones stay intact)."""
    data = sub.to_dict()
    if access.remote:
        data["webhooks"] = [{**h, "url": redact_webhook(h["url"])} for h in sub.webhooks]
    return data


def restore_webhooks(given: list[str], sub: Subscription) -> list[str]:
    """Map redacted URLs (as listed) back to the stored URLs, so an edit round-trip keeps them."""
    stored = {redact_webhook(h["url"]): h["url"] for h in sub.webhooks}
    return [stored.get(url.strip(), url) for url in given]


def list_subscriptions(settings: Settings) -> list[Subscription]:
    return subs.list_all(settings)


def get_subscription(settings: Settings, ref: int | str) -> Subscription:
    return subs.get(settings, ref)


def remove_subscription(settings: Settings, ref: int | str) -> Subscription:
    return subs.remove(settings, ref)


def edit_subscription(
    settings: Settings, ref: int | str, *, access: Access = LOCAL, **options: Any
) -> Subscription:
    check_spec(options.get("model"), settings, access)
    if access.remote and options.get("webhooks") is not None:
        options["webhooks"] = restore_webhooks(options["webhooks"], subs.get(settings, ref))
    return subs.edit(settings, ref, **options)


# -- models -------------------------------------------------------------------------------
def model_factory(
    settings: Settings, spec: str | None, chat_model: BaseChatModel | None = None
) -> tuple[ModelFactory, str]:
    """A lazy model (built only when a window has activity) and its display name."""
    if chat_model is not None:
        name = str(getattr(chat_model, "model_name", None) or type(chat_model).__name__)
        return (lambda: chat_model), name
    from llmapps.models import get_chat_model, resolve_spec

    name = str(resolve_spec(spec, settings))

    def build() -> BaseChatModel:
        return get_chat_model(
            spec,
            app="sentinel",
            settings=settings,
            max_tokens=settings.sentinel.report_max_tokens,
            temperature=0.2,
        )

    return build, name


# -- fetching -----------------------------------------------------------------------------
def fetch_activity(
    settings: Settings, kind: str, target: str, since: datetime, until: datetime
) -> Activity:
    """One source's activity for ``[since, until)``, recorded in SQLite."""
    if kind == "github":
        activity = fetch_repo_sync(settings, target, since, until)
    elif kind == "git":
        activity = fetch_git(target, since, until)
    else:
        raise SubscriptionError(
            f"'{target}' is not a repository: use 'sentinel hn' for Hacker News"
        )
    record_activity(settings, activity)
    return activity


MAX_DAYS = 36500  # a report window of a century: more would overflow dates


def check_days(days: float | None) -> None:
    """A report window in days must make a date: refuse 0, negatives, NaN and 1e308."""
    if days is not None and not 0 < days <= MAX_DAYS:
        raise SubscriptionError(f"--days must be positive and at most {MAX_DAYS} (got {days:g})")


def resolve_window(
    *,
    days: float | None = None,
    since: str | None = None,
    until: str | None = None,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """``--days N`` or ``--since DATE [--until DATE]`` -> ``[since, until)`` in UTC."""
    end = now or utcnow()
    try:
        until_dt = parse_time(until) if until else end
        since_dt = parse_time(since) if since else None
    except ValueError as exc:
        raise SubscriptionError(
            f"bad date ({exc}): use YYYY-MM-DD or an ISO time like 2026-11-20T08:00:00Z"
        ) from None
    assert until_dt is not None
    if since_dt is None:
        check_days(days)
        since_dt = until_dt - timedelta(days=days if days is not None else 1)
    if since_dt >= until_dt:
        raise SubscriptionError("the window is empty: --since must be before --until")
    return since_dt, until_dt


def _repo_title(lang: str, target: str, since: datetime, until: datetime) -> str:
    """Titles name a local repository by its folder (paths make poor email subjects)."""
    name = f"{target.rstrip('/').rsplit('/', 1)[-1]} (git)" if target.startswith("/") else target
    return TEXT[lang]["repo_title"].format(
        target=name, start=f"{since:%Y-%m-%d}", end=f"{until:%Y-%m-%d}"
    )


def prepare_items(
    settings: Settings,
    activity: Activity,
    *,
    watch: Watch,
    lang: str,
    scope_name: str | None,
    skip_seen: bool,
    now: datetime,
    timezone: str = "UTC",
) -> list[str]:
    """Apply the watch filters, then leave out what earlier reports of the scope covered.

    Changes ``activity.items`` in place and returns the notes the report shows about both
    (the counts also go into ``activity.meta`` for the raw export).
    """
    notes: list[str] = []
    if watch.filters:
        activity.items, left_out = watching.apply(watch, activity.items)
        activity.meta["filtered_out"] = left_out
        notes.append(TEXT[lang]["filtered"].format(filters=watch.describe(), n=left_out))
    if scope_name is not None and skip_seen:
        activity.items, counts = seen.split_seen(settings, scope_name, activity.items)
        if counts:
            activity.meta["already_covered"] = sum(counts.values())
            notes += seen.seen_notes(
                settings,
                counts,
                lang=lang,
                hn=activity.source == "hackernews",
                now=now,
                timezone=timezone,
            )
    return notes


# -- reports ------------------------------------------------------------------------------
def generate_report(
    settings: Settings,
    target: str,
    *,
    days: float | None = None,
    since: str | None = None,
    until: str | None = None,
    model: str | None = None,
    lang: str | None = None,
    chat_model: BaseChatModel | None = None,
    on_progress: Progress | None = None,
    git_roots: list[str] | None = None,
    per_item: bool | None = None,
    now: datetime | None = None,
    access: Access = LOCAL,
) -> Report:
    """A report on a repository (GitHub ``owner/repo`` or a local git path) for a window.

    Ad-hoc: the subscription (if any) gives language, model, watch filters and ``per_item``
    defaults but its remembered window and covered items are left alone (an ad-hoc window is
    reported in full); scheduled runs use :func:`run_subscription`. ``git_roots`` confines
    local paths for HTTP callers (``None``: unrestricted, the CLI's local user).
    """
    check_spec(model, settings, access)
    kind, name = subs.parse_target(target, git_roots=_git_roots(settings, access, git_roots))
    check_days(days)
    if kind == "hn":
        return hn_report(
            settings,
            hours=(days or 1) * 24,
            model=model,
            lang=lang,
            chat_model=chat_model,
            per_item=per_item,
            now=now,
        )
    sub = subs.find(settings, name)
    language = subs.check_language(lang or (sub.language if sub else settings.sentinel.language))
    start, end = resolve_window(days=days, since=since, until=until, now=now)
    if on_progress:
        on_progress(f"fetching {name}")
    activity = fetch_activity(settings, kind, name, start, end)
    watch = sub.watch if sub else Watch()
    notes = prepare_items(
        settings,
        activity,
        watch=watch,
        lang=language,
        scope_name=None,
        skip_seen=False,
        now=end,
    )
    factory, model_name = model_factory(settings, model or (sub.model if sub else None), chat_model)
    return make_report(
        settings,
        activity,
        report_type=kind,
        lang=language,
        title=_repo_title(language, name, start, end),
        model_factory=factory,
        model_name=model_name,
        subscription_id=sub.id if sub else None,
        on_progress=on_progress,
        per_item=watch.per_item if per_item is None else per_item,
        notes=notes,
    )


def hn_snapshot(settings: Settings, now: datetime | None = None) -> int:
    """Store one snapshot of the configured Hacker News lists; returns the number of stories."""
    return sum(len(v) for v in hackernews.take_snapshot(settings, now=now).values())


def hn_report(
    settings: Settings,
    *,
    hours: float | None = None,
    daily: bool = False,
    model: str | None = None,
    lang: str | None = None,
    chat_model: BaseChatModel | None = None,
    since: datetime | None = None,
    subscription_id: int | None = None,
    on_progress: Progress | None = None,
    include_seen: bool | None = None,
    per_item: bool | None = None,
    keywords: list[str] | None = None,
    now: datetime | None = None,
    access: Access = LOCAL,
) -> Report:
    """Take a snapshot now, then digest the stories seen in the last ``hours`` (or 24 h).

    Stories an earlier digest of the same subscription (or, asked for by hand, of the same
    kind) already listed are left out and counted, unless ``include_seen`` (or the
    subscription's setting) says to repeat them. ``now`` is the clock (tests inject it).
    """
    check_spec(model, settings, access)
    language = subs.check_language(lang or settings.sentinel.language)
    if hours and not 0 < hours <= MAX_DAYS * 24:  # 0/None: the default hour; NaN refused
        raise SubscriptionError(
            f"--hours must be positive and at most {MAX_DAYS * 24} (got {hours:g})"
        )
    sub = subs.get(settings, subscription_id) if subscription_id is not None else None
    watch = sub.watch if sub else Watch()
    if keywords:
        watch = subs.build_watch("hn", watch, keywords=keywords)
    now = now or datetime.now(UTC)  # to the microsecond: snapshots a moment apart stay ordered
    if on_progress:
        on_progress("reading Hacker News")
    hackernews.take_snapshot(settings, now=now)
    span = 24.0 if daily else (hours or 1.0)
    start, end = hackernews.last_hours(span, now)
    if since is not None:
        start = since
    items = hackernews.trends(settings, start, end)
    activity = Activity(subs.HN_TARGET, "hackernews", start, end, items)
    report_type = "hn-daily" if daily else "hn"
    scope_name = seen.scope(subscription_id, report_type)
    skip_seen = not (watch.include_seen if include_seen is None else include_seen)
    notes = prepare_items(
        settings,
        activity,
        watch=watch,
        lang=language,
        scope_name=scope_name,
        skip_seen=skip_seen,
        now=now,
        timezone=sub.timezone if sub else "UTC",
    )
    factory, model_name = model_factory(settings, model, chat_model)
    t = TEXT[language]
    title = (
        t["hn_daily_title"].format(end=f"{end:%Y-%m-%d}")
        if daily
        else t["hn_title"].format(hours=f"{span:g}", end=f"{end:%Y-%m-%d %H:%M} UTC")
    )
    report = make_report(
        settings,
        activity,
        report_type=report_type,
        lang=language,
        title=title,
        model_factory=factory,
        model_name=model_name,
        subscription_id=subscription_id,
        on_progress=on_progress,
        per_item=watch.per_item if per_item is None else per_item,
        notes=notes,
    )
    seen.remember(settings, scope_name, activity.items, report.id)
    return report


def history(settings: Settings, target: str | None = None) -> list[Report]:
    return list_reports(settings, subs.lookup_name(target) if target else None)


# -- scheduled runs -----------------------------------------------------------------------
@dataclass
class RunOutcome:
    subscription: Subscription
    report: Report | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    error: str | None = None


def run_subscription(
    settings: Settings,
    ref: int | str | Subscription,
    *,
    chat_model: BaseChatModel | None = None,
    now: datetime | None = None,
    prefetched: Activity | Exception | None = None,
    include_seen: bool = False,
) -> RunOutcome:
    """One scheduled run: the new window since the last run, a report, deliveries.

    ``prefetched`` is this window's activity (or the error) when :func:`run_due` fetched
    several GitHub repositories at once.

    The window end is remembered only when the report is stored, so a failed run is retried
    over the same window next time. Errors are returned in the outcome (and logged), never
    raised: one subscription's failure must not stop the others.
    """
    sub = ref if isinstance(ref, Subscription) else subs.get(settings, ref)
    since, until = subs.next_window(sub, now)
    skip_seen = not (include_seen or sub.watch.include_seen)
    outcome = RunOutcome(sub)
    try:
        if sub.kind == "hn":
            report = hn_report(
                settings,
                daily=True,
                model=sub.model,
                lang=sub.language,
                chat_model=chat_model,
                since=since,
                subscription_id=sub.id,
                include_seen=not skip_seen,
                now=now,
            )
            until = parse_time(report.window_end) or until
        else:
            if isinstance(prefetched, Exception):
                raise prefetched
            if prefetched is not None:
                activity = prefetched
                since, until = activity.since, activity.until
                record_activity(settings, activity)
            else:
                activity = fetch_activity(settings, sub.kind, sub.target, since, until)
            scope_name = seen.scope(sub.id, sub.kind)
            notes = prepare_items(
                settings,
                activity,
                watch=sub.watch,
                lang=sub.language,
                scope_name=scope_name,
                skip_seen=skip_seen,
                now=until,
                timezone=sub.timezone,
            )
            factory, model_name = model_factory(settings, sub.model, chat_model)
            report = make_report(
                settings,
                activity,
                report_type=sub.kind,
                lang=sub.language,
                title=_repo_title(sub.language, sub.target, since, until),
                model_factory=factory,
                model_name=model_name,
                subscription_id=sub.id,
                per_item=sub.watch.per_item,
                notes=notes,
            )
            seen.remember(settings, scope_name, activity.items, report.id)
        outcome.report = report
        subs.mark_run(settings, sub.id, window_end=until, status=f"ok: report {report.id}")
        log.info(
            "subscription %s (%s): report %s, %s items",
            sub.id,
            sub.target,
            report.id,
            report.item_count,
        )
    except Exception as exc:  # recorded and returned: the scheduler keeps going
        outcome.error = scrub(str(exc)) or type(exc).__name__
        subs.mark_run(settings, sub.id, window_end=None, status=f"error: {outcome.error}")
        log.error("subscription %s (%s) failed: %s", sub.id, sub.target, outcome.error)
        return outcome
    if sub.emails or sub.webhooks:
        outcome.deliveries = deliver(settings, report, sub.emails, sub.webhooks)
    return outcome


def is_due(sub: Subscription, now: datetime | None = None) -> bool:
    """True when never run, when the last run failed, or when the schedule fired since."""
    now = now or utcnow()
    last = parse_time(sub.last_run_at)
    if last is None or (sub.last_status or "").startswith("error"):
        return True
    nxt = sub.trigger().get_next_fire_time(None, last + timedelta(microseconds=1))
    return nxt is not None and nxt <= now


def due_subscriptions(
    settings: Settings, now: datetime | None = None, *, everything: bool = False
) -> list[Subscription]:
    active = subs.list_all(settings, enabled_only=True)
    if everything:
        return active
    return [sub for sub in active if is_due(sub, now)]


@dataclass
class RunNowResult:
    """What ``run-now`` did: earlier failed deliveries retried, then the due runs."""

    retried: list[Delivery] = field(default_factory=list)
    outcomes: list[RunOutcome] = field(default_factory=list)


def run_now(
    settings: Settings,
    *,
    everything: bool = False,
    chat_model: BaseChatModel | None = None,
    include_seen: bool = False,
) -> RunNowResult:
    """``run-now``: retry failed deliveries, then run every due subscription once.

    The GitHub windows of all due subscriptions are fetched concurrently first (bounded by
    ``sentinel.concurrency``); reports are then written one after the other.
    """
    retried = retry_failed(settings)
    due = due_subscriptions(settings, everything=everything)
    now = utcnow()
    fetched = prefetch_github(settings, [s for s in due if s.kind == "github"], now)
    outcomes = [
        run_subscription(
            settings,
            sub,
            chat_model=chat_model,
            now=now,
            prefetched=fetched.get(sub.id),
            include_seen=include_seen,
        )
        for sub in due
    ]
    return RunNowResult(retried, outcomes)


def run_due(
    settings: Settings, *, everything: bool = False, chat_model: BaseChatModel | None = None
) -> list[RunOutcome]:
    """:func:`run_now`'s runs only (the daemon and the HTTP endpoint report these)."""
    return run_now(settings, everything=everything, chat_model=chat_model).outcomes


def prefetch_github(
    settings: Settings, due: list[Subscription], now: datetime
) -> dict[int, Activity | Exception]:
    """Each subscription's new window, fetched concurrently; errors kept per subscription."""
    if not due:
        return {}

    async def run() -> dict[int, Activity | Exception]:
        async with GitHubClient.from_settings(settings) as client:

            async def one(sub: Subscription) -> Activity | Exception:
                since, until = subs.next_window(sub, now)
                try:
                    return await client.fetch_repo(sub.target, since, until)
                except Exception as exc:  # reported by run_subscription for this one only
                    return exc

            results = await asyncio.gather(*(one(sub) for sub in due))
        return {sub.id: result for sub, result in zip(due, results, strict=True)}

    return asyncio.run(run())
