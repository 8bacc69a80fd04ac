"""Assemble the Gradio UI from one module per tab, plus the page shell.

Each tab module exposes ``build(settings)`` and is called inside its ``gr.Tab``; the tab
modules only collect input, call one library function and show the result.

The shell adds what every page needs: a first-run panel (what each tab does, which model
answers, how to use a real one), a 中文/English switch that sets ``<html lang>`` from the
browser's language and remembers the choice (localStorage), the page CSS that keeps the chat
input at the bottom of the screen, and the small page script behind the chat's message links.
"""

from __future__ import annotations

import html
import importlib
from typing import Any

import gradio as gr

from llmapps.config import Settings

# (tab label, module) in display order. Labels are bilingual for our users.
TABS = (
    ("Chat 对话", "llmapps.web.chat_tab"),
    ("Playground 试验场", "llmapps.web.playground"),
    ("Translator 翻译", "llmapps.web.translate_tab"),
    ("Sentinel 哨兵", "llmapps.web.sentinel_tab"),
)

CSS = """
#page-header { align-items: center; flex-wrap: nowrap; }
#page-header h1 { margin: 0; font-size: 1.3rem; }
#lang-switch { max-width: 210px; }
#lang-switch .wrap { flex-wrap: nowrap; }
#lang-switch label { white-space: nowrap; padding: 4px 8px; }
html[lang^="zh"] .en-only, html:not([lang^="zh"]) .zh-only { display: none; }
#first-run { padding: 8px 14px; border-radius: 10px; font-size: 0.92rem;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary); }
#first-run ul { margin: 4px 0; }
#chat-layout { flex-wrap: nowrap; gap: 8px; }
#chat-sidebar.collapsed { display: none !important; }
#chat-close-sidebar { display: none; }
#chat-topbar { flex-wrap: nowrap; align-items: flex-start; gap: 6px; }
#chat-chatbot { height: calc(100dvh - 290px) !important; min-height: 260px; }
#chat-inputbar { flex-wrap: nowrap; align-items: flex-end; position: sticky; bottom: 0;
  z-index: 5; background: var(--background-fill-primary); }
#chat-chatbot button[aria-label="Clear"] { display: none !important; }
#chat-chatbot sub a { text-decoration: none; margin: 0 2px; }
@media (max-width: 768px) {
  .gradio-container { padding: 4px !important; }
  #chat-sidebar { display: none !important; }
  #chat-close-sidebar { display: inline-flex; }
  #chat-sidebar.shown { display: flex !important; position: fixed; top: 0; left: 0;
    bottom: 0; width: 82vw; z-index: 1000; overflow: auto; padding: 12px;
    background: var(--background-fill-primary); box-shadow: 0 0 24px rgba(0,0,0,.35); }
  #chat-chatbot { height: calc(100dvh - 385px) !important; min-height: 200px; }
  #first-run { font-size: 0.82rem; padding: 6px 10px; }
}
"""

# Runs once in the page: the sidebar toggle and the links under chat answers
# (‹ › ↻ 🗑) which hand their action to the hidden #chat-action box.
HEAD = """
<script>
window.llmappsToggleSidebar = function () {
  const bar = document.querySelector('#chat-sidebar');
  if (!bar) return;
  if (window.matchMedia('(max-width: 768px)').matches) bar.classList.toggle('shown');
  else bar.classList.toggle('collapsed');
};
window.llmappsCloseSidebarOnPhone = function () {
  const bar = document.querySelector('#chat-sidebar');
  if (bar && window.matchMedia('(max-width: 768px)').matches) bar.classList.remove('shown');
};
// Playground prompt: Enter runs, Shift+Enter is a new line (Gradio's multi-line box does the
// opposite). Handled before Gradio sees the key.
for (const kind of ['keydown', 'keypress']) {
  document.addEventListener(kind, function (event) {
    if (event.key !== 'Enter' || !event.target.closest) return;
    if (!event.target.closest('#playground-prompt')) return;
    event.stopPropagation();
    if (event.shiftKey || event.isComposing) return;
    event.preventDefault();
    const run = document.querySelector('#playground-submit');
    if (kind === 'keydown' && run && !run.disabled) run.click();
  }, true);
}
document.addEventListener('click', function (event) {
  const link = event.target.closest && event.target.closest('a[href*="#llm:"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const action = link.getAttribute('href').split('#llm:')[1];
  if (action.startsWith('del:') &&
      !window.confirm('Delete this message and what follows? 删除这条消息及其后的内容？')) return;
  const box = document.querySelector('#chat-action textarea, #chat-action input');
  if (!box) return;
  box.value = action + '|' + Date.now();
  box.dispatchEvent(new Event('input', { bubbles: true }));
}, true);
</script>
"""

# On each page load: the language from the saved choice or the browser, and the first-run
# panel only until it is dismissed. Returns the switch's value.
LOAD_JS = """
() => {
  const saved = localStorage.getItem('llmapps-lang');
  const lang = saved || ((navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en');
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  if (localStorage.getItem('llmapps-first-run-done')) {
    const panel = document.querySelector('#first-run');
    if (panel) panel.style.display = 'none';
  }
  return lang === 'zh' ? '中文' : 'English';
}
"""

SWITCH_JS = """
(choice) => {
  const lang = choice === '中文' ? 'zh' : 'en';
  localStorage.setItem('llmapps-lang', lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  return choice;
}
"""

DISMISS_JS = """
() => {
  localStorage.setItem('llmapps-first-run-done', '1');
  const panel = document.querySelector('#first-run');
  if (panel) panel.style.display = 'none';
}
"""


def first_run_html(settings: Settings) -> str:
    """What each tab does, the model in use, and how to use a real one, in both languages."""
    from llmapps.models import resolve_spec

    try:  # "auto" names the model it picks: the user sees which model answers
        in_use = str(resolve_spec(None, settings))
    except Exception:  # a broken default is reported by the tabs; the panel still shows
        in_use = settings.models.default
    model = html.escape(in_use)
    weak = in_use.startswith("local:smollm2")
    note_en = (
        "It is the tiny built-in model: it proves everything works offline, but its answers "
        "are weak. "
        if weak
        else ""
    )
    note_zh = "这是内置的小模型：离线可用，但回答质量很弱。" if weak else ""
    return f"""
<div class="en-only">
<b>Welcome.</b> <b>Chat</b>: conversations with personas, knowledge bases (drop a file on the
input) and tools. <b>Playground</b>: try any model with your own prompt and settings.
<b>Translator</b>: translate PDF, Markdown or text, keeping the layout. <b>Sentinel</b>:
reports on GitHub repositories, git folders and Hacker News.<br>
Model in use: <code>{model}</code>. {note_en}For a real one set <code>LLMAPPS_MODELS__DEFAULT</code>
(or <code>models.default</code> in <code>llmapps.toml</code>) to e.g.
<code>openai:gpt-4o-mini</code> with <code>OPENAI_API_KEY</code>, <code>ollama:qwen2.5:7b</code>,
or <code>openai-compatible:glm-4@http://host:8000/v1</code>, then restart
(<code>llmapps models</code> lists what is available).
</div>
<div class="zh-only">
<b>欢迎。</b><b>对话</b>：支持角色、知识库（把文件拖到输入框）和工具。
<b>试验场</b>：用自己的提示词和参数试用任意模型。
<b>翻译</b>：翻译 PDF、Markdown 或文本并保留版式。
<b>哨兵</b>：为 GitHub 仓库、git 目录和 Hacker News 生成报告。<br>
当前模型：<code>{model}</code>。{note_zh}要使用真正的模型，请把 <code>LLMAPPS_MODELS__DEFAULT</code>
（或 <code>llmapps.toml</code> 中的 <code>models.default</code>）设为例如
<code>openai:gpt-4o-mini</code>
（并设置 <code>OPENAI_API_KEY</code>）、<code>ollama:qwen2.5:7b</code> 或
<code>openai-compatible:glm-4@http://host:8000/v1</code>，然后重启
（<code>llmapps models</code> 可列出可用模型）。
</div>
"""


def build_ui(settings: Settings) -> gr.Blocks:
    with gr.Blocks(title="llmapps") as blocks:
        with gr.Row(elem_id="page-header"):
            gr.Markdown("# llmapps")
            lang = gr.Radio(
                ["中文", "English"],
                value="English",
                show_label=False,
                container=False,
                elem_id="lang-switch",
            )
        with gr.Column(elem_id="first-run"):
            gr.HTML(first_run_html(settings))
            dismiss = gr.Button("Got it 知道了", size="sm", elem_id="first-run-dismiss")
        for label, module_name in TABS:
            module = importlib.import_module(module_name)
            with gr.Tab(label, elem_id=module_name.rsplit(".", 1)[-1]):
                module.build(settings)
        lang.input(None, [lang], [lang], js=SWITCH_JS)
        dismiss.click(None, None, None, js=DISMISS_JS)
        blocks.load(None, None, [lang], js=LOAD_JS)
    return blocks


def mount_options() -> dict[str, Any]:
    """Page CSS and script for ``gr.mount_gradio_app`` (Gradio 6 takes them at mount)."""
    return {"css": CSS, "head": HEAD}
