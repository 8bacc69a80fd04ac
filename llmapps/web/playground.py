"""The Playground tab: pick a model, set a system prompt and sampling, stream an answer.

The OpenAI playground / ChatGLM web demo analogue. It only collects input and calls
:func:`llmapps.models.ask.stream_answer` (the same function as ``llmapps ask``); errors are
shown as one clear line under the answer, never as a stack trace.
"""

from __future__ import annotations

from collections.abc import Iterator

import gradio as gr

from llmapps.access import REMOTE
from llmapps.config import Settings
from llmapps.errors import LlmappsError


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
    return "✅ done · " + " · ".join(parts)


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
        yield "", "⚠️ type a prompt first / 请先输入提示词"
        return
    stats = AnswerStats()
    text = ""
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
                label="Prompt 提示词",
                lines=5,
                placeholder="Ask something… 问点什么…",
                elem_id="playground-prompt",
            )
            with gr.Row():
                submit = gr.Button("Run 运行", variant="primary", elem_id="playground-submit")
                stop = gr.Button("Stop 停止", elem_id="playground-stop")
            output = gr.Textbox(
                label="Answer 回答",
                lines=12,
                interactive=False,
                elem_id="playground-output",
            )
            status = gr.Markdown("", elem_id="playground-status")

    def handler(
        spec: str, sys_text: str, text: str, temp: float, p: float, max_tok: float
    ) -> Iterator[tuple[str, str]]:
        yield from run_playground(settings, spec, sys_text, text, temp, p, max_tok)

    event = submit.click(
        handler,
        inputs=[model, system, prompt, temperature, top_p, max_tokens],
        outputs=[output, status],
    )
    stop.click(None, cancels=[event])
