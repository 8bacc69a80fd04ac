"""``llmapps sentinel``: subscriptions, reports, Hacker News digests, the daemon.

Each command parses its options, calls one function of :mod:`llmapps.sentinel.service` and
prints the result; errors are one red line and a non-zero exit (``handle_errors``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer

from llmapps.cli.common import console, handle_errors, settings
from llmapps.cli.listing import json_option, print_list

if TYPE_CHECKING:
    from llmapps.sentinel.reports import Report
    from llmapps.sentinel.subscriptions import Subscription

sentinel_app = typer.Typer(
    help="Watch GitHub repositories, local git repositories and Hacker News; write reports.",
    no_args_is_help=True,
)

EVERY_HELP = "daily | weekly | hourly | an interval like 30m | a cron expression ('0 8 * * 1-5')."
KEYWORD_HELP = "Keep items naming this keyword; aliases after '=': 'rust=rustlang,cargo'."
SEEN_HELP = "Repeat items an earlier report of the same subscription already covered."
PER_ITEM_HELP = "Add one grounded line per significant item (PR, release, top story)."


def _watch_options(
    releases_only: bool | None,
    label: list[str] | None,
    path: list[str] | None,
    keyword: list[str] | None,
    include_seen: bool | None,
    per_item: bool | None,
) -> dict[str, Any]:
    """The watch settings given on the command line (``None`` or empty: leave as is;
    ``--label ""`` clears a list)."""
    return {
        "releases_only": releases_only,
        "labels": label or None,
        "paths": path or None,
        "keywords": keyword or None,
        "include_seen": include_seen,
        "per_item": per_item,
    }


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.add_typer(sentinel_app, name="sentinel")


SUB_COLUMNS = (
    "id",
    "kind",
    "target",
    "schedule",
    "tz",
    "lang",
    "to",
    "webhooks",
    "last run",
    "watch",
)


def _sub_row(s: Subscription) -> list[Any]:
    return [*s.listing_row(), s.watch.summary() or "-"]


def _run_report(label: str, run: Callable[..., Report], *args: Any, **options: Any) -> Report:
    """``run(settings, *args, **options)`` behind a spinner showing its progress; prints the
    Markdown report and returns the result (the caller adds its one-line footer)."""
    with console.status(label) as status:
        result = run(settings(), *args, on_progress=lambda msg: status.update(msg), **options)
    console.print(result.markdown, markup=False, highlight=False, soft_wrap=True)
    return result


@sentinel_app.command("add")
@handle_errors
def add(
    target: str = typer.Argument(..., help="owner/repo, a local git path (or git:/path), or hn."),
    every: str = typer.Option("daily", "--every", help=EVERY_HELP),
    at: str | None = typer.Option(None, "--at", help="Time of day HH:MM (daily/weekly)."),
    tz: str | None = typer.Option(None, "--tz", help="Time zone, e.g. Asia/Shanghai."),
    lang: str | None = typer.Option(None, "--lang", help="Report language: zh | en."),
    to: list[str] = typer.Option([], "--to", help="Email recipient (repeatable)."),
    webhook: list[str] = typer.Option([], "--webhook", help="Webhook URL (repeatable)."),
    webhook_format: str | None = typer.Option(
        None, "--webhook-format", help="json | slack | feishu | dingtalk | wecom (default: guess)."
    ),
    model: str | None = typer.Option(None, "-m", "--model", help="Model spec for its reports."),
    releases_only: bool = typer.Option(False, "--releases-only", help="Only releases and tags."),
    label: list[str] = typer.Option([], "--label", help="Only PRs/issues with this label."),
    path: list[str] = typer.Option([], "--path", help="Only changes touching src/** (git)."),
    keyword: list[str] = typer.Option([], "--keyword", help=KEYWORD_HELP),
    include_seen: bool = typer.Option(False, "--include-seen", help=SEEN_HELP),
    per_item: bool = typer.Option(False, "--per-item", help=PER_ITEM_HELP),
) -> None:
    """Subscribe to a repository or Hacker News."""
    from llmapps.sentinel.service import add_subscription

    sub = add_subscription(
        settings(),
        target,
        every=every,
        at=at,
        tz=tz,
        lang=lang,
        emails=to,
        webhooks=webhook,
        webhook_format=webhook_format,
        model=model,
        **_watch_options(releases_only, label, path, keyword, include_seen, per_item),
    )
    console.print(f"subscribed [bold]{sub.target}[/] (id {sub.id}, {sub.schedule}, {sub.timezone})")
    if sub.watch.filters:
        console.print(f"watch filters: {sub.watch.describe()}", markup=False, highlight=False)


@sentinel_app.command("list")
@handle_errors
def list_cmd(as_json: bool = json_option()) -> None:
    """List subscriptions (webhook URLs, which hold tokens, are shown redacted in JSON)."""
    from llmapps.sentinel.notifiers.webhook import redact_webhook
    from llmapps.sentinel.service import list_subscriptions

    rows = list_subscriptions(settings())
    records = [
        {**s.to_dict(), "webhooks": [{**h, "url": redact_webhook(h["url"])} for h in s.webhooks]}
        for s in rows
    ]
    print_list(
        SUB_COLUMNS,
        [_sub_row(s) for s in rows],
        as_json=as_json,
        records=records,
        empty="no subscriptions yet: add one with 'llmapps sentinel add owner/repo'",
    )


@sentinel_app.command("remove")
@handle_errors
def remove(ref: str = typer.Argument(..., help="Subscription id or target.")) -> None:
    """Remove a subscription (its reports stay in the history)."""
    from llmapps.sentinel.service import remove_subscription

    sub = remove_subscription(settings(), ref)
    console.print(f"removed subscription {sub.id} ({sub.target})")


@sentinel_app.command("edit")
@handle_errors
def edit(
    ref: str = typer.Argument(..., help="Subscription id or target."),
    every: str | None = typer.Option(None, "--every", help=EVERY_HELP),
    at: str | None = typer.Option(None, "--at"),
    tz: str | None = typer.Option(None, "--tz"),
    lang: str | None = typer.Option(None, "--lang"),
    to: list[str] | None = typer.Option(
        None, "--to", help='Replaces the recipients (--to "" removes them).'
    ),
    webhook: list[str] | None = typer.Option(
        None, "--webhook", help='Replaces the webhooks (--webhook "" removes them).'
    ),
    webhook_format: str | None = typer.Option(None, "--webhook-format"),
    model: str | None = typer.Option(None, "-m", "--model"),
    enable: bool | None = typer.Option(None, "--enable/--disable"),
    releases_only: bool | None = typer.Option(None, "--releases-only/--all-kinds"),
    label: list[str] | None = typer.Option(
        None, "--label", help='Replaces the label filter (--label "" removes it).'
    ),
    path: list[str] | None = typer.Option(
        None, "--path", help='Replaces the path filter (--path "" removes it).'
    ),
    keyword: list[str] | None = typer.Option(
        None, "--keyword", help='Replaces the keywords (--keyword "" removes them).'
    ),
    include_seen: bool | None = typer.Option(None, "--include-seen/--skip-seen", help=SEEN_HELP),
    per_item: bool | None = typer.Option(None, "--per-item/--no-per-item", help=PER_ITEM_HELP),
) -> None:
    """Change a subscription; only the given options change."""
    from llmapps.sentinel.service import edit_subscription

    sub = edit_subscription(
        settings(),
        ref,
        every=every,
        at=at,
        tz=tz,
        lang=lang,
        emails=to or None,
        webhooks=webhook or None,
        webhook_format=webhook_format,
        model=model,
        enabled=enable,
        **_watch_options(releases_only, label, path, keyword, include_seen, per_item),
    )
    print_list(SUB_COLUMNS, [_sub_row(sub)])
    if sub.watch.filters:
        console.print(f"watch filters: {sub.watch.describe()}", markup=False, highlight=False)


@sentinel_app.command("report")
@handle_errors
def report(
    target: str = typer.Argument(..., help="owner/repo or a local git path."),
    days: float | None = typer.Option(None, "--days", help="Window: the last N days (default 1)."),
    since: str | None = typer.Option(None, "--since", help="Window start (YYYY-MM-DD or ISO)."),
    until: str | None = typer.Option(None, "--until", help="Window end (default now)."),
    model: str | None = typer.Option(None, "-m", "--model", help="Model spec or alias."),
    lang: str | None = typer.Option(None, "--lang", help="zh | en."),
    per_item: bool | None = typer.Option(None, "--per-item/--no-per-item", help=PER_ITEM_HELP),
) -> None:
    """Write a report on a repository now and print it."""
    from llmapps.sentinel.service import generate_report

    result = _run_report(
        "working…",
        generate_report,
        target,
        days=days,
        since=since,
        until=until,
        model=model,
        lang=lang,
        per_item=per_item,
    )
    console.print(f"[dim]report {result.id} v{result.version}: {result.path}[/]")


@sentinel_app.command("hn")
@handle_errors
def hn(
    hours: float | None = typer.Option(None, "--hours", help="Digest of the last N hours."),
    daily: bool = typer.Option(False, "--daily", help="Daily trends from the hourly snapshots."),
    model: str | None = typer.Option(None, "-m", "--model"),
    lang: str | None = typer.Option(None, "--lang"),
    include_seen: bool = typer.Option(
        False, "--include-seen", help="Repeat stories an earlier digest already listed."
    ),
    per_item: bool = typer.Option(False, "--per-item", help=PER_ITEM_HELP),
    keyword: list[str] = typer.Option([], "--keyword", help=KEYWORD_HELP),
) -> None:
    """Hacker News digest (a snapshot is taken now); stories already listed are left out."""
    from llmapps.sentinel.service import hn_report

    result = _run_report(
        "reading Hacker News…",
        hn_report,
        hours=hours,
        daily=daily,
        model=model,
        lang=lang,
        include_seen=include_seen,
        per_item=per_item,
        keywords=keyword,
    )
    console.print(f"[dim]report {result.id}: {result.path}[/]")


@sentinel_app.command("history")
@handle_errors
def history(
    target: str | None = typer.Argument(None, help="Only this target."),
    as_json: bool = json_option(),
) -> None:
    """List stored reports, newest first."""
    from llmapps.sentinel.service import history as list_history

    rows = list_history(settings(), target)
    table = []
    for r in rows:
        table.append(
            [
                str(r.id),
                r.target,
                r.report_type,
                f"{r.window_start} → {r.window_end}",
                str(r.version),
                str(r.item_count),
                r.model or "-",
                r.created_at,
            ]
        )
    print_list(
        ("id", "target", "type", "window", "v", "items", "model", "created"),
        table,
        as_json=as_json,
        records=[{k: v for k, v in r.to_dict().items() if k != "markdown"} for r in rows],
        empty="no reports yet: write one with 'llmapps sentinel report owner/repo'",
    )


@sentinel_app.command("show")
@handle_errors
def show(
    report_id: int = typer.Argument(..., help="Report id (see history)."),
    raw: bool = typer.Option(False, "--raw", help="Print the raw activity JSON instead."),
) -> None:
    """Print a stored report."""
    from pathlib import Path

    from llmapps.sentinel.service import get_report

    result = get_report(settings(), report_id)
    text = Path(result.raw_path).read_text(encoding="utf-8") if raw else result.markdown
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@sentinel_app.command("run-now")
@handle_errors
def run_now(
    all_: bool = typer.Option(False, "--all", help="Run every subscription, due or not."),
    include_seen: bool = typer.Option(False, "--include-seen", help=SEEN_HELP),
) -> None:
    """Run every due subscription once (and retry failed deliveries)."""
    from llmapps.sentinel.service import run_now

    result = run_now(settings(), everything=all_, include_seen=include_seen)
    outcomes = result.outcomes
    for d in result.retried:
        mark = "[green]✓[/]" if d.status == "sent" else "[red]✗[/]"
        console.print(
            f"{mark} retried delivery {d.id} of report {d.report_id} by {d.channel}: {d.status}"
            + (f" ({d.last_error})" if d.status != "sent" and d.last_error else ""),
            highlight=False,
        )
    if not outcomes:
        console.print("nothing is due")
    failed = 0
    for o in outcomes:
        if o.error:
            failed += 1
            console.print(f"[red]✗[/] {o.subscription.target}: {o.error}", highlight=False)
        elif o.report is not None:
            sent = ", ".join(f"{d.channel}:{d.status}" for d in o.deliveries) or "no delivery"
            console.print(
                f"[green]✓[/] {o.subscription.target}: report {o.report.id} "
                f"({o.report.item_count} items; {sent})",
                highlight=False,
            )
    if failed:
        raise typer.Exit(1)


@sentinel_app.command("daemon")
@handle_errors
def daemon() -> None:
    """Run the scheduler until SIGTERM/Ctrl+C (logs in <data dir>/logs/sentinel.log)."""
    from llmapps.sentinel.scheduler import Daemon, setup_logging

    cfg = settings()
    log_path = setup_logging(cfg)
    console.print(f"sentinel daemon running; logs: {log_path}  (Ctrl+C to stop)")
    Daemon(cfg).run_forever()
    console.print("sentinel daemon stopped")
