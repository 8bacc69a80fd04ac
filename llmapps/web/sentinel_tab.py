"""The Sentinel tab: manage subscriptions, generate a report now, browse history, HN digest.

Every handler collects the form, calls one function of :mod:`llmapps.sentinel.service` and
shows the result; errors are one line in the status area, never a traceback. The tab is
served over HTTP like the API, so local git paths are confined to ``sentinel.git_roots`` here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gradio as gr

from llmapps.access import REMOTE
from llmapps.config import Settings
from llmapps.errors import LlmappsError
from llmapps.web.common import on_page_load

if TYPE_CHECKING:
    from llmapps.sentinel.subscriptions import Subscription

SUB_COLUMNS = ["id", "kind", "target", "schedule", "tz", "lang", "emails", "webhooks", "last run"]
HISTORY_COLUMNS = ["id", "target", "type", "window start", "window end", "v", "items", "model"]
EVERY_CHOICES = ["daily", "weekly", "hourly", "30m", "0 8 * * 1-5"]
WEBHOOK_FORMAT_CHOICES = ["auto", "json", "slack", "feishu", "dingtalk", "wecom"]


# CLI flags in service messages -> the form field a user of this tab sees.
UI_WORDS = {
    "--at": "the At 时间 field",
    "--every": "the Every 频率 field",
    "--tz": "the Time zone 时区 field",
    "--since": "the Since 起始日期 field",
    "--days": "the Days 天数 field",
    "--model": "the Model 模型 field",
    "--lang": "the Language 语言 choice",
    "--email": "the Email field",
    "--webhook": "the Webhook URLs field",
}


def ui_words(message: str) -> str:
    """A service message with CLI flags replaced by the names of this tab's fields."""
    for flag, field_name in UI_WORDS.items():
        message = message.replace(flag, field_name)
    return message


def _error(exc: Exception) -> str:
    from llmapps.web.common import error_line

    if isinstance(exc, LlmappsError):
        return error_line(ui_words(str(exc)))
    return error_line(exc)


def subscription_rows(settings: Settings) -> list[list[Any]]:
    from llmapps.sentinel.service import list_subscriptions

    return [s.listing_row() for s in list_subscriptions(settings)]


def history_rows(settings: Settings, target: str = "") -> list[list[Any]]:
    from llmapps.sentinel.service import history

    return [
        [
            r.id,
            r.target,
            r.report_type,
            r.window_start,
            r.window_end,
            r.version,
            r.item_count,
            r.model or "-",
        ]
        for r in history(settings, target.strip() or None)
    ]


def edit_values(sub: Subscription) -> list[Any]:
    """A subscription as the edit form's values (same order as the form's fields).

    Webhook URLs carry tokens: the form shows them redacted and ``save`` maps an unchanged
    redacted URL back to the stored one.
    """
    from llmapps.sentinel.notifiers.webhook import redact_webhook

    formats = {h["format"] for h in sub.webhooks}
    return [
        sub.schedule,
        sub.at_time or "",
        sub.timezone,
        sub.language,
        ", ".join(sub.emails),
        ", ".join(redact_webhook(h["url"]) for h in sub.webhooks),
        formats.pop() if len(formats) == 1 else "auto",
        sub.model or "",
        sub.enabled,
    ]


def downloadable(paths: list[str], target: str = "") -> list[str]:
    """Copies of report files in the temp dir: Gradio only serves files from cwd or temp,
    and the data directory is usually neither. Names start with the target
    (``owner_repo-…``) so downloads of several repositories stay apart."""
    import re
    import shutil
    import tempfile
    from pathlib import Path

    prefix = re.sub(r"[^A-Za-z0-9._-]+", "_", target).strip("._")[:60]
    folder = Path(tempfile.mkdtemp(prefix="llmapps-sentinel-"))
    out = []
    for path in paths:
        name = Path(path).name
        if prefix and not name.startswith(prefix):
            name = f"{prefix}-{name}"
        out.append(str(shutil.copy2(path, folder / name)))
    return out


def watch_options(
    releases_only: bool = False,
    labels: str = "",
    paths: str = "",
    keywords: str = "",
    include_seen: bool = False,
    per_item: bool = False,
) -> dict[str, Any]:
    """The subscription form's watch fields as service options (``;`` separates keywords)."""
    return {
        "releases_only": bool(releases_only),
        "labels": _split(labels) or None,
        "paths": _split(paths) or None,
        "keywords": [k for k in keywords.split(";") if k.strip()] or None,
        "include_seen": bool(include_seen),
        "per_item": bool(per_item),
    }


def _split(text: str) -> list[str]:
    return [part for part in text.replace(";", ",").replace(" ", ",").split(",") if part]


def build(settings: Settings) -> None:
    from llmapps.sentinel import service

    def add(
        target: str,
        every: str,
        at: str,
        tz: str,
        lang: str,
        emails: str,
        hooks: str,
        fmt: str,
        *watch: Any,
    ) -> tuple[str, Any]:
        try:
            sub = service.add_subscription(
                settings,
                target.strip(),
                every=every.strip() or "daily",
                at=at.strip() or None,
                tz=tz.strip() or None,
                lang=lang,
                emails=_split(emails),
                webhooks=_split(hooks),
                webhook_format=None if fmt == "auto" else fmt,
                access=REMOTE,
                **watch_options(*watch),
            )
        except Exception as exc:
            return _error(exc), gr.update()
        return f"✅ subscribed {sub.target} (id {sub.id})", subscription_rows(settings)

    def load(ref: str) -> tuple[Any, ...]:
        """Fill the edit form with a subscription's current values."""
        try:
            sub = service.get_subscription(settings, ref.strip())
        except Exception as exc:
            return (_error(exc), *([gr.update()] * len(edit_fields)))
        return (f"✏️ editing {sub.target} (id {sub.id})", *edit_values(sub))

    def select_row(evt: gr.SelectData) -> tuple[Any, ...]:
        """Clicking a row of the table loads that subscription into the edit form."""
        row = evt.row_value or []
        if not row:
            return (gr.update(), *([gr.update()] * (len(edit_fields) + 1)))
        return (str(row[0]), *load(str(row[0])))

    def save(
        ref: str,
        every: str,
        at: str,
        tz: str,
        lang: str,
        emails: str,
        hooks: str,
        fmt: str,
        model: str,
        enabled: bool,
    ) -> tuple[str, Any]:
        if not ref.strip():
            return "⚠️ load a subscription first (id or target) / 请先载入订阅", gr.update()
        try:
            sub = service.edit_subscription(
                settings,
                ref.strip(),
                access=REMOTE,
                every=every.strip() or None,
                at=at.strip() or None,
                tz=tz.strip() or None,
                lang=lang or None,
                emails=_split(emails),  # the form shows every recipient: empty = none
                webhooks=_split(hooks),
                webhook_format=None if fmt == "auto" else fmt,
                model=model.strip(),  # empty = the default model
                enabled=enabled,
            )
        except Exception as exc:
            return _error(exc), gr.update()
        return f"✅ saved {sub.target} (id {sub.id})", subscription_rows(settings)

    def remove(ref: str) -> tuple[str, Any]:
        try:
            sub = service.remove_subscription(settings, ref.strip())
        except Exception as exc:
            return _error(exc), gr.update()
        return f"✅ removed {sub.target}", subscription_rows(settings)

    def generate(
        target: str,
        days: float,
        since: str,
        model: str,
        lang: str,
        per_item: bool = False,
        progress: gr.Progress = gr.Progress(),
    ) -> tuple[str, str, Any, Any]:
        if not target.strip():
            return (
                "⚠️ enter a repository (owner/repo or a git path) / 请输入仓库",
                "",
                None,
                gr.update(),
            )
        progress(0.1, desc="fetching / 获取中")
        try:
            report = service.generate_report(
                settings,
                target.strip(),
                days=float(days) if not since.strip() else None,
                since=since.strip() or None,
                model=model.strip() or None,
                lang=lang,
                on_progress=lambda msg: progress(0.5, desc=msg),
                access=REMOTE,
                per_item=per_item or None,
            )
        except Exception as exc:
            return _error(exc), "", None, gr.update()
        status = f"✅ report {report.id} (v{report.version}, {report.item_count} items)"
        files = downloadable([report.path, report.raw_path], report.target)
        return status, report.markdown, files, history_rows(settings)

    def show(report_id: float | None) -> tuple[str, str, Any]:
        if not report_id:
            return "⚠️ pick a report id from the table / 请输入报告编号", "", None
        try:
            report = service.get_report(settings, int(report_id))
        except Exception as exc:
            return _error(exc), "", None
        files = downloadable([report.path, report.raw_path], report.target)
        return f"✅ {report.title}", report.markdown, files

    def open_row(evt: gr.SelectData) -> tuple[Any, ...]:
        """Clicking a history row opens that report."""
        row = evt.row_value or []
        if not row:
            return gr.update(), gr.update(), gr.update(), gr.update()
        return (row[0], *show(float(row[0])))

    def hacker_news(
        hours: float,
        daily: bool,
        model: str,
        lang: str,
        include_seen: bool = False,
        per_item: bool = False,
        keywords: str = "",
    ) -> tuple[str, str, Any]:
        try:
            report = service.hn_report(
                settings,
                hours=float(hours),
                daily=daily,
                model=model.strip() or None,
                lang=lang,
                include_seen=include_seen,
                per_item=per_item,
                keywords=[k for k in keywords.split(";") if k.strip()],
                access=REMOTE,
            )
        except Exception as exc:
            return _error(exc), "", gr.update()
        return f"✅ report {report.id}", report.markdown, history_rows(settings)

    lang_default = settings.sentinel.language
    with gr.Tab("Subscriptions 订阅"):
        with gr.Row():
            target = gr.Textbox(
                label="Repository 仓库 (owner/repo, git path, hn)", elem_id="sentinel-sub-target"
            )
            every = gr.Dropdown(
                EVERY_CHOICES,
                value="daily",
                allow_custom_value=True,
                label="Every 频率",
                elem_id="sentinel-sub-every",
            )
            at = gr.Textbox(value="08:00", label="At 时间 (HH:MM)", elem_id="sentinel-sub-at")
            tz = gr.Textbox(
                value=settings.sentinel.timezone, label="Time zone 时区", elem_id="sentinel-sub-tz"
            )
            lang = gr.Radio(
                ["zh", "en"], value=lang_default, label="Language 语言", elem_id="sentinel-sub-lang"
            )
        with gr.Row():
            emails = gr.Textbox(
                label="Email to 邮件收件人 (comma separated)", elem_id="sentinel-sub-emails"
            )
            hooks = gr.Textbox(label="Webhook URLs", elem_id="sentinel-sub-webhooks")
            fmt = gr.Dropdown(
                WEBHOOK_FORMAT_CHOICES,
                value="auto",
                label="Webhook format 格式",
                elem_id="sentinel-sub-format",
            )
        with gr.Row():  # watch filters and report options (issue 13)
            w_releases = gr.Checkbox(
                label="Releases only 仅版本发布", elem_id="sentinel-sub-releases"
            )
            w_labels = gr.Textbox(
                label="Labels 标签 (comma separated)", elem_id="sentinel-sub-labels"
            )
            w_paths = gr.Textbox(label="Paths 路径 (src/**, git)", elem_id="sentinel-sub-paths")
            w_keywords = gr.Textbox(
                label="Keywords 关键词 (rust=cargo,rustlang; llm)", elem_id="sentinel-sub-keywords"
            )
            w_seen = gr.Checkbox(
                label="Include seen 包含已报告", elem_id="sentinel-sub-include-seen"
            )
            w_per_item = gr.Checkbox(label="Per item 逐项说明", elem_id="sentinel-sub-per-item")
        with gr.Row():
            add_btn = gr.Button("Subscribe 订阅", variant="primary", elem_id="sentinel-sub-add")
            remove_ref = gr.Textbox(
                label="Id or target to remove 要删除的编号", elem_id="sentinel-sub-remove-ref"
            )
            remove_btn = gr.Button("Remove 删除", elem_id="sentinel-sub-remove")
        sub_status = gr.Markdown(elem_id="sentinel-sub-status")
        subs_table = gr.Dataframe(
            value=subscription_rows(settings),
            headers=SUB_COLUMNS,
            interactive=False,
            elem_id="sentinel-subs",
        )
        with gr.Accordion("Edit a subscription 编辑订阅 (click a row or load by id)", open=True):
            with gr.Row():
                edit_ref = gr.Textbox(
                    label="Id or target 编号或仓库", elem_id="sentinel-edit-ref", scale=2
                )
                edit_load = gr.Button("Load 载入", elem_id="sentinel-edit-load", scale=1)
            with gr.Row():
                edit_every = gr.Dropdown(
                    EVERY_CHOICES,
                    value=None,
                    allow_custom_value=True,
                    label="Every 频率",
                    elem_id="sentinel-edit-every",
                )
                edit_at = gr.Textbox(label="At 时间 (HH:MM)", elem_id="sentinel-edit-at")
                edit_tz = gr.Textbox(label="Time zone 时区", elem_id="sentinel-edit-tz")
                edit_lang = gr.Radio(
                    ["zh", "en"], value=None, label="Language 语言", elem_id="sentinel-edit-lang"
                )
                edit_enabled = gr.Checkbox(
                    value=True, label="Enabled 启用", elem_id="sentinel-edit-enabled"
                )
            with gr.Row():
                edit_emails = gr.Textbox(
                    label="Email to 邮件收件人 (comma separated; empty = none)",
                    elem_id="sentinel-edit-emails",
                )
                edit_hooks = gr.Textbox(
                    label="Webhook URLs (empty = none)", elem_id="sentinel-edit-webhooks"
                )
                edit_fmt = gr.Dropdown(
                    WEBHOOK_FORMAT_CHOICES,
                    value="auto",
                    label="Webhook format 格式",
                    elem_id="sentinel-edit-format",
                )
                edit_model = gr.Textbox(
                    label="Model 模型 (empty = default)", elem_id="sentinel-edit-model"
                )
            edit_save = gr.Button("Save 保存", variant="primary", elem_id="sentinel-edit-save")
    with gr.Tab("Report now 立即生成"):
        with gr.Row():
            rep_target = gr.Textbox(
                label="Repository 仓库 (owner/repo or git path)", elem_id="sentinel-report-target"
            )
            rep_days = gr.Number(
                value=1, label="Days 天数", minimum=0.01, elem_id="sentinel-report-days"
            )
            rep_since = gr.Textbox(
                label="Since 起始日期 (optional, YYYY-MM-DD)", elem_id="sentinel-report-since"
            )
            rep_model = gr.Textbox(
                label="Model 模型 (spec, empty = default)", elem_id="sentinel-report-model"
            )
            rep_lang = gr.Radio(
                ["zh", "en"],
                value=lang_default,
                label="Language 语言",
                elem_id="sentinel-report-lang",
            )
        rep_per_item = gr.Checkbox(
            label="One line per PR/release 逐项说明", elem_id="sentinel-report-per-item"
        )
        rep_btn = gr.Button(
            "Generate now 立即生成", variant="primary", elem_id="sentinel-report-go"
        )
        rep_status = gr.Markdown(elem_id="sentinel-report-status")
        rep_output = gr.Markdown(elem_id="sentinel-report-output")
        rep_files = gr.File(
            label="Download 下载 (.md + raw .json)",
            file_count="multiple",
            elem_id="sentinel-report-files",
        )
    with gr.Tab("History 历史"):
        with gr.Row():
            hist_filter = gr.Textbox(label="Target filter 仓库筛选", elem_id="sentinel-hist-filter")
            hist_refresh = gr.Button("Refresh 刷新", elem_id="sentinel-hist-refresh")
        hist_table = gr.Dataframe(
            value=history_rows(settings),
            headers=HISTORY_COLUMNS,
            interactive=False,
            elem_id="sentinel-history",
        )
        with gr.Row():
            hist_id = gr.Number(label="Report id 报告编号", precision=0, elem_id="sentinel-hist-id")
            hist_show = gr.Button("Show 查看", elem_id="sentinel-hist-show")
        hist_status = gr.Markdown(elem_id="sentinel-hist-status")
        hist_output = gr.Markdown(elem_id="sentinel-hist-output")
        hist_files = gr.File(
            label="Download 下载", file_count="multiple", elem_id="sentinel-hist-files"
        )
    with gr.Tab("Hacker News"):
        with gr.Row():
            hn_hours = gr.Number(
                value=6, label="Last hours 最近小时数", minimum=0.1, elem_id="sentinel-hn-hours"
            )
            hn_daily = gr.Checkbox(label="Daily trends 每日趋势", elem_id="sentinel-hn-daily")
            hn_model = gr.Textbox(label="Model 模型", elem_id="sentinel-hn-model")
            hn_lang = gr.Radio(
                ["zh", "en"], value=lang_default, label="Language 语言", elem_id="sentinel-hn-lang"
            )
        with gr.Row():
            hn_seen = gr.Checkbox(
                label="Include stories already listed 包含已出现的文章",
                elem_id="sentinel-hn-include-seen",
            )
            hn_per_item = gr.Checkbox(
                label="One line per top story 逐条说明", elem_id="sentinel-hn-per-item"
            )
            hn_keywords = gr.Textbox(
                label="Keywords 关键词 (rust=cargo,rustlang; llm)", elem_id="sentinel-hn-keywords"
            )
        hn_btn = gr.Button("Digest now 生成摘要", variant="primary", elem_id="sentinel-hn-go")
        hn_status = gr.Markdown(elem_id="sentinel-hn-status")
        hn_output = gr.Markdown(elem_id="sentinel-hn-output")

    watch_fields = [w_releases, w_labels, w_paths, w_keywords, w_seen, w_per_item]
    add_btn.click(
        add,
        [target, every, at, tz, lang, emails, hooks, fmt, *watch_fields],
        [sub_status, subs_table],
    )
    remove_btn.click(remove, [remove_ref], [sub_status, subs_table])
    edit_fields = [
        edit_every,
        edit_at,
        edit_tz,
        edit_lang,
        edit_emails,
        edit_hooks,
        edit_fmt,
        edit_model,
        edit_enabled,
    ]
    edit_load.click(load, [edit_ref], [sub_status, *edit_fields])
    subs_table.select(select_row, None, [edit_ref, sub_status, *edit_fields])
    edit_save.click(save, [edit_ref, *edit_fields], [sub_status, subs_table])
    rep_btn.click(
        generate,
        [rep_target, rep_days, rep_since, rep_model, rep_lang, rep_per_item],
        [rep_status, rep_output, rep_files, hist_table],
    )
    refresh: Callable[[str], list[list[Any]]] = lambda text: history_rows(settings, text)  # noqa: E731
    hist_refresh.click(refresh, [hist_filter], [hist_table])
    hist_show.click(show, [hist_id], [hist_status, hist_output, hist_files])
    hist_table.select(open_row, None, [hist_id, hist_status, hist_output, hist_files])

    def on_load(text: str) -> tuple[Any, Any]:
        """The tables as the store holds them now (each page load)."""
        return subscription_rows(settings), history_rows(settings, text or "")

    on_page_load(on_load, [hist_filter], [subs_table, hist_table])
    hn_btn.click(
        hacker_news,
        [hn_hours, hn_daily, hn_model, hn_lang, hn_seen, hn_per_item, hn_keywords],
        [hn_status, hn_output, hist_table],
    )
