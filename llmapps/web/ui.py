"""Assemble the Gradio UI from one module per tab.

Each tab module exposes ``build(settings)`` and is called inside its ``gr.Tab``; the tab
modules only collect input, call one library function and show the result.
"""

from __future__ import annotations

import importlib

import gradio as gr

from llmapps.config import Settings

# (tab label, module) in display order. Labels are bilingual for our users.
TABS = (
    ("Playground 试验场", "llmapps.web.playground"),
    ("Translator 翻译", "llmapps.web.translate_tab"),
    ("Sentinel 哨兵", "llmapps.web.sentinel_tab"),
    ("Chat 对话", "llmapps.web.chat_tab"),
)


def build_ui(settings: Settings) -> gr.Blocks:
    with gr.Blocks(title="llmapps") as blocks:
        gr.Markdown("# llmapps")
        for label, module_name in TABS:
            module = importlib.import_module(module_name)
            with gr.Tab(label, elem_id=module_name.rsplit(".", 1)[-1]):
                module.build(settings)
    return blocks
