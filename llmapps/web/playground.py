"""The Playground tab: pick a model, set a system prompt and sampling, stream an answer.

The OpenAI playground / ChatGLM web demo analogue. It only collects input and calls
:func:`llmapps.models.ask.stream_answer` (the same function as ``llmapps ask``); errors are
shown as one clear line under the answer, never as a stack trace.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import gradio as gr

from llmapps.access import REMOTE
from llmapps.config import Settings
from llmapps.errors import LlmappsError
from llmapps.web.common import Redraw, on_page_load


def model_choices(settings: Settings) -> list[str]:
    """Default, aliases, the bundled model and local GGUF files (no network at page build)."""
    from llmapps.models.catalog import list_models

    seen: list[str] = []
    for entry in list_models(settings, include_ollama=False).entries:
        if entry.spec not in seen:
            seen.append(entry.spec)
    return seen


def _stats_line(stats: object) -> str:
    from llmapps.models.ask import AnswerStats

    assert isinstance(stats, AnswerStats)
    parts = [f"{stats.seconds:.1f}s"]
    if stats.completion_tokens is not None:
        parts.append(f"{stats.prompt_tokens} prompt + {stats.completion_tokens} completion tokens")
    if stats.tokens_per_second:
        parts.append(f"{stats.tokens_per_second:.1f} tokens/s")
    return "✅ done 完成 · " + " · ".join(parts)


def run_playground(
    settings: Settings,
    spec: str,
    system: str,
    prompt: str,
    temperature: float,
    top_p: float,
    max_tokens: float,
) -> Iterator[tuple[str, str]]:
    """Generator for Gradio: yields (answer so far, status line)."""
    from llmapps.models.ask import AnswerStats, stream_answer

    if not (prompt or "").strip():
        yield "", "⚠️ type a prompt first: write a question above / 请先输入提示词"
        return
    stats = AnswerStats()
    text = ""
    redraw = Redraw()
    yield text, f"⏳ asking {spec or settings.models.default} …"
    try:
        for piece in stream_answer(
            prompt,
            spec=(spec or "").strip() or None,
            system=system,
            temperature=float(temperature),
            top_p=float(top_p),
            max_tokens=int(max_tokens),
            app="playground",
            access=REMOTE,  # the page is remote: no arbitrary files or hosts
            settings=settings,
            stats=stats,
        ):
            text += piece
            if redraw.due():
                yield text, "⏳ streaming …"
    except LlmappsError as exc:
        yield text, f"❌ error: {exc}"
        return
    except Exception as exc:  # still one line, never a traceback in the page
        yield text, f"❌ error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        return
    yield text, _stats_line(stats)


def build(settings: Settings) -> None:
    choices = model_choices(settings)
    gr.Markdown(
        "Try any model: the embedded one, an alias, a GGUF file, or type a spec such as "
        "`ollama:qwen2.5:7b` or `openai-compatible:glm-4@http://host:8000/v1`. "
        "试用任意模型：可直接输入模型规格。"
    )
    with gr.Row():
        with gr.Column(scale=1):
            model = gr.Dropdown(
                choices=choices,
                value=settings.models.default,
                allow_custom_value=True,
                label="Model 模型 (pick or type a spec)",
                elem_id="playground-model",
            )
            system = gr.Textbox(
                label="System prompt 系统提示词",
                lines=3,
                placeholder="You are a helpful assistant.",
                elem_id="playground-system",
            )
            temperature = gr.Slider(
                0.0,
                2.0,
                value=0.7,
                step=0.05,
                label="Temperature",
                elem_id="playground-temperature",
            )
            top_p = gr.Slider(
                0.05, 1.0, value=0.95, step=0.05, label="Top P", elem_id="playground-top-p"
            )
            max_tokens = gr.Slider(
                1, 4096, value=256, step=1, label="Max tokens", elem_id="playground-max-tokens"
            )
        with gr.Column(scale=2):
            prompt = gr.Textbox(
                label="Prompt 提示词 (Enter runs, Shift+Enter new line 回车运行)",
                lines=4,
                max_lines=12,
                placeholder="Ask something… 问点什么…",
                elem_id="playground-prompt",
            )
            with gr.Row():
                submit = gr.Button("Run 运行", variant="primary", elem_id="playground-submit")
                stop = gr.Button("Stop 停止", elem_id="playground-stop", interactive=False)
            output = gr.Markdown(
                "",
                label="Answer 回答",
                buttons=["copy"],
                min_height=200,
                elem_id="playground-output",
            )
            status = gr.Markdown("✓ ready 就绪", elem_id="playground-status")
    # The page's own state between Run and Stop: the stop flag of this browser session's run.
    stops: dict[str, threading.Event] = {}

    def handler(
        spec: str,
        sys_text: str,
        text: str,
        temp: float,
        p: float,
        max_tok: float,
        request: gr.Request,
    ) -> Iterator[tuple[str, str]]:
        flag = stops[request.session_hash or ""] = threading.Event()
        last = ("", "")
        for answer, line in run_playground(settings, spec, sys_text, text, temp, p, max_tok):
            if flag.is_set():
                yield last[0], f"⏹ stopped 已停止 · {len(last[0])} characters kept 已保留部分回答"
                return
            last = (answer, line)
            yield answer, line

    def on_stop(request: gr.Request) -> None:
        flag = stops.get(request.session_hash or "")
        if flag is not None:
            flag.set()

    def busy() -> tuple[Any, Any]:
        return gr.update(interactive=False), gr.update(interactive=True)

    def ready() -> tuple[Any, Any]:
        return gr.update(interactive=True), gr.update(interactive=False)

    inputs = [model, system, prompt, temperature, top_p, max_tokens]
    for trigger in (submit.click, prompt.submit):
        trigger(busy, None, [submit, stop], queue=False).then(
            handler, inputs, [output, status], show_progress="hidden"
        ).then(ready, None, [submit, stop], queue=False)
    stop.click(on_stop, None, None, queue=False)
    on_page_load(lambda: gr.update(choices=model_choices(settings)), None, [model])
