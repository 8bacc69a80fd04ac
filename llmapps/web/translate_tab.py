"""The Translator tab: upload, options, live progress, downloads.

It only collects input and calls :func:`llmapps.translate.service.translate_file` (the same
function as the CLI and HTTP API) in a worker thread, polling its progress callback to update
the page; outputs go to a fresh temporary folder that Gradio may serve for download.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from llmapps.config import Settings
from llmapps.errors import LlmappsError
from llmapps.translate.writers import FORMATS

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


def _progress_md(p: Any) -> str:
    return (
        f"**{p.stage}** · pages {p.pages} · blocks {p.blocks_done}/{p.blocks_total} · "
        f"cache hits {p.cache_hits} · model calls {p.model_calls} · tokens {p.tokens}"
        + (f"\n\n{p.message}" if p.message else "")
    )


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
) -> Iterator[tuple[str, list[str] | None]]:
    """Generator for Gradio: yields (progress markdown, download paths) until done."""
    from llmapps.translate.progress import Progress
    from llmapps.translate.service import TranslateOptions, translate_file

    if not file:
        yield "⚠️ upload a PDF, Markdown or text file first / 请先上传文件", None
        return
    from llmapps.models.guard import check_spec_allowed

    try:
        check_spec_allowed(model, settings)  # the UI is remote: no arbitrary files or hosts
    except LlmappsError as exc:
        yield f"❌ {exc}", None
        return
    out_dir = tempfile.mkdtemp(prefix="llmapps-translate-")
    options = TranslateOptions(
        target=target or settings.translate.target,
        source=source or None,
        model=model or None,
        formats=formats or None,
        pages=pages or None,
        style=style or "",
        glossary=glossary or None,
        output_dir=out_dir,
    )
    state: dict[str, Any] = {"progress": Progress(stage="starting")}

    def work() -> None:
        try:
            state["result"] = translate_file(
                Path(file), options, settings=settings, progress=lambda p: state.update(progress=p)
            )
        except LlmappsError as exc:
            state["error"] = str(exc)
        except Exception as exc:  # shown to the user as one line; details in the server log
            state["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    while thread.is_alive():
        yield _progress_md(state["progress"]), None
        thread.join(0.5)
    if "error" in state:
        yield f"❌ {state['error']}", None
        return
    result = state["result"]
    notes = "".join(f"\n\n- {n}" for n in result.notes + result.violations[:10])
    text = _progress_md(result.progress) + notes
    yield text, [str(p) for p in result.outputs.values()]


def build(settings: Settings) -> None:
    cfg = settings.translate
    gr.Markdown(
        "Translate a PDF (layout kept), Markdown or text file. "
        "翻译 PDF（保留版式）、Markdown 或文本文件。"
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
            from llmapps.web.playground import model_choices

            model = gr.Dropdown(
                choices=model_choices(settings),
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
            start = gr.Button("Translate 翻译", variant="primary", elem_id="translate-run")
    status = gr.Markdown("", elem_id="translate-progress")
    downloads = gr.File(
        label="Downloads 下载",
        file_count="multiple",
        interactive=False,
        elem_id="translate-downloads",
    )

    def go(*args: Any) -> Iterator[tuple[str, list[str] | None]]:
        yield from run_translation(settings, *args)

    from llmapps.web.common import on_page_load
    from llmapps.web.playground import model_choices as _models

    on_page_load(lambda: gr.update(choices=_models(settings)), None, [model])
    start.click(
        go,
        inputs=[file, target, source, model, formats, pages, style, glossary],
        outputs=[status, downloads],
    )
