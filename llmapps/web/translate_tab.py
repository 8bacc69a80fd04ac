"""The Translator tab: upload, options, a job list that survives reloads, side-by-side preview.

It only collects input and calls the translator's job runner (:mod:`llmapps.translate.runner`,
the same jobs as the HTTP API): Translate records a job and starts it in the background; the
job list (status, progress %, time left, cancel, resume, downloads) is read from the store
every two seconds and on every page load, so closing the page loses nothing. Finished PDF
jobs show the original and the translated page side by side, with a page picker.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from llmapps.access import REMOTE
from llmapps.config import Settings
from llmapps.errors import LlmappsError
from llmapps.translate.jobs import JobRecord
from llmapps.translate.writers import FORMATS
from llmapps.web.common import bilingual, error_line, on_page_load, user_error

# (shown name in the language itself and in English, code sent to the translator)
LANGUAGES = [
    ("中文 Chinese (Simplified)", "zh"),
    ("繁體中文 Chinese (Traditional)", "zh-tw"),
    ("English 英语", "en"),
    ("日本語 Japanese", "ja"),
    ("한국어 Korean", "ko"),
    ("Français French", "fr"),
    ("Deutsch German", "de"),
    ("Español Spanish", "es"),
    ("Русский Russian", "ru"),
    ("Italiano Italian", "it"),
    ("Português Portuguese", "pt"),
    ("العربية Arabic", "ar"),
]
SOURCE_LANGUAGES = [("Auto-detect 自动检测", ""), *LANGUAGES]
STYLES = ["", "formal", "literary", "technical", "casual"]
JOB_COLUMNS = ["job", "file 文件", "to 目标", "status 状态", "%", "time left 剩余", "started 开始"]


def run_translation(
    settings: Settings,
    file: str | None,
    target: str,
    source: str,
    model: str,
    formats: list[str],
    pages: str,
    style: str,
    glossary: str | None,
    ocr: str = "auto",
) -> Iterator[tuple[str, str | None]]:
    """Start a translation job; yields one (status line, job id or None on error)."""
    from llmapps.translate.runner import submit_job
    from llmapps.translate.service import TranslateOptions

    if not file:
        yield "⚠️ no file: upload a PDF, Markdown or text file first / 请先上传文件", None
        return
    try:
        options = TranslateOptions(
            target=target or settings.translate.target,
            source=source or None,
            model=model or None,
            formats=formats or None,
            pages=pages or None,
            style=style or "",
            glossary=glossary or None,
            ocr=ocr or None,
        )
        # the page is remote: the service applies the remote caller's rules (models, formats)
        job_id = submit_job(settings, Path(file), options, access=REMOTE)
    except LlmappsError as exc:
        yield error_line(exc), None
        return
    yield f"⏳ job {job_id} started 任务已开始", job_id


def percent(record: JobRecord) -> int:
    p = record.progress
    if record.status == "done":
        return 100
    total = int(p.get("blocks_total") or 0)
    return int(100 * int(p.get("blocks_done") or 0) / total) if total else 0


def eta(record: JobRecord, now: float) -> str:
    """Time left from the pace so far ("–" when unknown)."""
    p = record.progress
    done, total = int(p.get("blocks_done") or 0), int(p.get("blocks_total") or 0)
    if record.status != "running" or done <= 0 or total <= done:
        return "–"
    seconds = (now - record.created_at) / done * (total - done)
    return f"{int(seconds // 60)}m {int(seconds % 60):02d}s"


STATUS_WORDS = {
    "queued": "queued 排队",
    "running": "running 进行中",
    "done": "done 完成",
    "interrupted": "interrupted 中断",
    "cancelled": "cancelled 已取消",
}


def job_rows(settings: Settings) -> list[list[Any]]:
    from llmapps.translate.runner import list_jobs

    now = time.time()
    return [
        [
            r.id,
            Path(r.input_path).name,
            str(r.options.get("target") or ""),
            STATUS_WORDS.get(r.status, r.status),
            f"{percent(r)}%",
            eta(r, now),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
        ]
        for r in list_jobs(settings)
    ]


def _progress_md(p: dict[str, Any]) -> str:
    return (
        f"**{p.get('stage', '')}** · pages {p.get('pages', 0)} · blocks "
        f"{p.get('blocks_done', 0)}/{p.get('blocks_total', 0)} · cache hits "
        f"{p.get('cache_hits', 0)} · model calls {p.get('model_calls', 0)} · tokens "
        f"{p.get('tokens', 0)}" + (f"\n\n{p['message']}" if p.get("message") else "")
    )


def job_details(settings: Settings, job_id: str | None) -> tuple[str, list[str] | None]:
    """The selected job: a progress line and (when done) its files, copied where Gradio serves."""
    from llmapps.store.db import get_db
    from llmapps.translate.jobs import JobStore

    if not job_id:
        return "", None
    record = JobStore(get_db(settings)).get(job_id)
    if record is None:
        return error_line("job not found: pick one from the job list"), None
    head = (
        f"**{Path(record.input_path).name}** → {record.options.get('target')} · "
        f"{STATUS_WORDS.get(record.status, record.status)} · {percent(record)}% · "
        f"time left 剩余 {eta(record, time.time())}\n\n"
    )
    text = head + _progress_md(record.progress)
    if record.status == "cancelled":
        text += "\n\n⏹ cancelled by the user 已取消 (Resume continues 可继续)"
    elif record.error and record.status != "done":
        text += f"\n\n❌ {bilingual(record.error)}"
    files = downloadable(record) if record.status == "done" else None
    return text, files


def downloadable(record: JobRecord) -> list[str]:
    """Copies of the outputs under the temp dir (Gradio serves only cwd and temp files)."""
    folder = Path(tempfile.gettempdir()) / f"llmapps-translate-{record.id}"
    folder.mkdir(exist_ok=True)
    out = []
    for path in record.outputs.values():
        src = Path(path)
        if src.is_file():
            dest = folder / src.name
            if not dest.exists():
                shutil.copyfile(src, dest)
            out.append(str(dest))
    return out


def preview_pair(settings: Settings, job_id: str | None, page: float) -> tuple[Any, Any, Any]:
    """Original and translated page ``page`` (1-based) as images, and the page picker."""
    from PIL import Image

    from llmapps.store.db import get_db
    from llmapps.translate.jobs import JobStore
    from llmapps.translate.preview import page_count, render_page_png

    record = JobStore(get_db(settings)).get(job_id) if job_id else None
    translated = (record.outputs.get("pdf") if record else None) or None
    if record is None or record.status != "done" or not translated:
        return None, None, gr.update(visible=False)
    original = Path(record.input_path)
    count = page_count(Path(translated))
    index = max(0, min(count - 1, int(page or 1) - 1))
    images: list[Any] = []
    for pdf in (original, Path(translated)):
        try:
            images.append(Image.open(io.BytesIO(render_page_png(pdf, index))))
        except (IndexError, OSError, ValueError):
            images.append(None)
    # a one-page document still gets a valid range (Gradio needs minimum < maximum)
    picker = gr.update(visible=True, maximum=max(count, 2), value=index + 1)
    return images[0], images[1], picker


def build(settings: Settings) -> None:
    from llmapps.web.playground import model_choices

    cfg = settings.translate
    gr.Markdown(
        "Translate a PDF (layout kept), Markdown or text file. Jobs run in the background: "
        "you can close the page and come back. "
        "翻译 PDF（保留版式）、Markdown 或文本文件；任务在后台运行，可关闭页面稍后再看。"
    )
    with gr.Row():
        with gr.Column():
            file = gr.File(
                label="Document 文档 (.pdf .md .txt)",
                file_types=[".pdf", ".md", ".markdown", ".txt"],
                type="filepath",
                elem_id="translate-file",
            )
            glossary = gr.File(
                label="Glossary 术语表 (CSV: source,target)",
                file_types=[".csv"],
                type="filepath",
                elem_id="translate-glossary",
            )
        with gr.Column():
            with gr.Row():
                target = gr.Dropdown(
                    LANGUAGES,
                    value=cfg.target,
                    allow_custom_value=True,
                    label="To 目标语言",
                    elem_id="translate-to",
                )
                source = gr.Dropdown(
                    SOURCE_LANGUAGES,
                    value="",
                    allow_custom_value=True,
                    label="From 源语言",
                    elem_id="translate-from",
                )
            model = gr.Dropdown(
                choices=[cfg.model or settings.models.default],
                value=cfg.model or settings.models.default,
                allow_custom_value=True,
                label="Model 模型 (pick or type a spec)",
                elem_id="translate-model",
            )
            formats = gr.CheckboxGroup(
                list(FORMATS),
                value=list(cfg.formats),
                label="Formats 输出格式",
                elem_id="translate-formats",
            )
            with gr.Row():
                pages = gr.Textbox(label="Pages 页码 (e.g. 1-3,7)", elem_id="translate-pages")
                style = gr.Dropdown(
                    STYLES,
                    value="",
                    allow_custom_value=True,
                    label="Style 风格",
                    elem_id="translate-style",
                )
            ocr = gr.Dropdown(
                ["auto", "always", "never"],
                value=cfg.ocr,
                label="OCR 文字识别 (auto = pages without text 无文字层的页)",
                elem_id="translate-ocr",
            )
            start = gr.Button("Translate 翻译", variant="primary", elem_id="translate-run")
    gr.Markdown("### Jobs 任务 (click a row 点选一行)")
    jobs = gr.Dataframe(
        headers=JOB_COLUMNS,
        interactive=False,
        wrap=True,
        elem_id="translate-jobs",
    )
    selected = gr.State(None)
    status = gr.Markdown("", elem_id="translate-progress")
    with gr.Row():
        cancel_btn = gr.Button("Cancel 取消", size="sm", elem_id="translate-cancel")
        resume_btn = gr.Button("Resume 继续", size="sm", elem_id="translate-resume")
    downloads = gr.File(
        label="Downloads 下载",
        file_count="multiple",
        interactive=False,
        elem_id="translate-downloads",
    )
    with gr.Column(elem_id="translate-preview"):
        page_pick = gr.Slider(
            1, 2, value=1, step=1, label="Page 页", visible=False, elem_id="translate-page"
        )
        with gr.Row():
            before = gr.Image(
                label="Original 原文", interactive=False, elem_id="translate-original"
            )
            after = gr.Image(
                label="Translated 译文", interactive=False, elem_id="translate-translated"
            )
    timer = gr.Timer(2.0)

    def go(*args: Any) -> tuple[Any, ...]:
        line, job_id = next(run_translation(settings, *args))
        if job_id is None:
            return line, gr.skip(), gr.skip()
        return line, job_rows(settings), job_id

    def pick(evt: gr.SelectData) -> Any:
        row = evt.row_value or []
        return str(row[0]) if row else gr.skip()

    def refresh(job_id: str | None, previewed: str | None, page: float) -> tuple[Any, ...]:
        """Every two seconds: the list, the selected job, and its preview once it is done."""
        text, files = job_details(settings, job_id)
        preview: tuple[Any, ...] = (gr.skip(), gr.skip(), gr.skip(), gr.skip())
        if files and previewed != job_id:
            preview = (*preview_pair(settings, job_id, page), job_id)
        return (job_rows(settings), text or gr.skip(), files if files else gr.skip(), *preview)

    def show(job_id: str | None, page: float) -> tuple[Any, ...]:
        text, files = job_details(settings, job_id)
        done = job_id if files else None
        return (text, files, *preview_pair(settings, job_id, page), done)

    def job_action(job_id: str | None, act: Any, done: str) -> tuple[Any, Any]:
        """Cancel or resume the selected job; ``done`` formats the new state for the status."""
        if not job_id:
            raise user_error("no job selected: pick a job from the list first")
        try:
            state = act(job_id, settings)
        except LlmappsError as exc:
            raise user_error(exc) from None
        return done.format(state=state), job_rows(settings)

    def cancel(job_id: str | None) -> tuple[Any, Any]:
        from llmapps.translate.runner import cancel_job

        done = "⏹ {state} 已取消 (finished parts are kept: Resume continues)"
        return job_action(job_id, cancel_job, done)

    def resume(job_id: str | None) -> tuple[Any, Any]:
        from llmapps.translate.runner import resume_job

        return job_action(job_id, resume_job, "⏳ {state} 已继续")

    start.click(
        go,
        inputs=[file, target, source, model, formats, pages, style, glossary, ocr],
        outputs=[status, jobs, selected],
    )
    jobs.select(pick, None, [selected])
    previewed = gr.State(None)
    preview_outputs = [before, after, page_pick, previewed]
    selected.change(show, [selected, page_pick], [status, downloads, *preview_outputs])
    gr.on(
        [page_pick.release, page_pick.input],
        lambda job_id, page: preview_pair(settings, job_id, page),
        [selected, page_pick],
        [before, after, page_pick],
        trigger_mode="always_last",
    )
    timer.tick(
        refresh,
        [selected, previewed, page_pick],
        [jobs, status, downloads, *preview_outputs],
        show_progress="hidden",
    )
    cancel_btn.click(cancel, [selected], [status, jobs])
    resume_btn.click(resume, [selected], [status, jobs])
    on_page_load(
        lambda: (gr.update(choices=model_choices(settings)), job_rows(settings)),
        None,
        [model, jobs],
    )
