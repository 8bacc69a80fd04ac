"""The translate_tab tab (filled in by its issue)."""

from __future__ import annotations

import gradio as gr

from llmapps.config import Settings


def build(settings: Settings) -> None:
    gr.Markdown("Not available yet.")
