"""What every tab shares: page-load hooks, user-facing errors in both languages.

Why page-load hooks: a list built when the server starts is stale after the first change made
elsewhere (another tab, the CLI, the API); every list a tab shows is filled again from the
store on each page load through :func:`on_page_load`.

Why one error helper: a user's mistake is shown in the page in English and Chinese, and logged
as one line (never a traceback); Gradio prints a traceback for every ``gr.Error`` unless told not
to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr
from gradio.context import Context

from llmapps.errors import LlmappsError

log = logging.getLogger("llmapps.web")

# English message start -> Chinese. Service errors say "what: how to fix" in English; the page
# shows the Chinese line under it. Matched on the text before the first colon.
_ZH: dict[str, str] = {
    "empty message": "消息为空：请输入内容后再发送",
    "empty title": "标题为空：请输入新标题",
    "empty search": "搜索为空：请输入要查找的词",
    "nothing to regenerate": "没有可重新生成的回答：请先发送消息",
    "nothing to edit": "没有可修改的消息：请先发送消息",
    "only your own messages can be edited": "只能修改自己的消息；回答请用“重新生成”",
    "an answer is still streaming": "回答仍在生成：请先停止再删除",
    "open a conversation first": "请先打开一个对话",
    "knowledge base": "知识库不存在或不可用：请检查名称或先创建",
    "conversation": "找不到该对话：请刷新列表",
    "message": "找不到该消息：请刷新对话",
    "model": "模型不可用：请从列表中选择模型",
    "upload": "上传的文件有问题：请检查文件类型和大小",
    "no file": "没有文件：请先上传文件",
    "pick a report": "请先在表格中点选一份报告",
    "enter a repository": "请输入仓库（owner/repo 或 git 路径）",
    "type a prompt first": "请先输入提示词",
    "persona": "角色设置有误：请选择其他角色或附加知识库",
    "job": "找不到该任务或任务状态不允许此操作",
    "the time": "时间格式有误：请输入 HH:MM，例如 08:00",
    "bad time": "时间格式有误：请在“时间”栏输入 HH:MM，例如 08:30",
    "translation stopped": "翻译中断：再次运行即可继续（已完成部分已缓存）",
    "no target language": "未选择目标语言：请选择要翻译成的语言",
}


def chinese(message: str) -> str:
    """The Chinese line for an English error message (a generic one when none is known)."""
    text = message.strip().lower()
    for key, zh in _ZH.items():
        if text.startswith(key):
            return zh
    return "操作未完成：请按上面的英文提示修改后重试"


def bilingual(message: str) -> str:
    """``message`` followed by its Chinese line, for the page."""
    message = " ".join(str(message).split())
    if any("\u4e00" <= ch <= "\u9fff" for ch in message):
        return message  # already carries Chinese
    return f"{message} / {chinese(message)}"


def user_error(exc: Exception | str) -> gr.Error:
    """A Gradio error for a user's mistake: both languages in the page, one log line."""
    if isinstance(exc, LlmappsError | str):
        text = str(exc)
    else:  # unexpected: still one line for the user, the details in the server log
        log.warning("web action failed: %s: %s", type(exc).__name__, exc, exc_info=exc)
        text = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    if isinstance(exc, LlmappsError | str):
        log.info("user mistake: %s", " ".join(text.split()))
    return gr.Error(bilingual(text), print_exception=False)


def error_line(exc: Exception | str) -> str:
    """The same as :func:`user_error`, as a status line (for tabs that show errors inline)."""
    return f"❌ {user_error(exc).message}"


def on_page_load(
    fn: Callable[..., Any], inputs: Sequence[Any] | None, outputs: Sequence[Any]
) -> Any:
    """Run ``fn`` on every page load (the lists then show what the store holds now)."""
    root = Context.root_block
    if root is None:  # pragma: no cover - only inside a gr.Blocks
        raise RuntimeError("on_page_load is called while building the page")
    return root.load(fn, list(inputs or []), list(outputs), show_progress="hidden")


class Redraw:
    """When a streaming answer may be redrawn: at most every ``every`` seconds.

    Why: each redraw sends the whole answer (in the chat, the whole conversation) to the
    browser. A model streaming 100 tokens a second would otherwise redraw 100 times a second,
    and on a busy machine the page falls behind re-rendering and stops responding, its stop
    button included. Tokens that come sooner are shown with the next redraw."""

    def __init__(self, every: float = 0.1, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._clock = clock
        self._last = float("-inf")  # the first token is drawn at once

    def due(self) -> bool:
        """True when enough time has passed since the last redraw (which this one becomes)."""
        now = self._clock()
        if now - self._last < self.every:
            return False
        self._last = now
        return True

    def done(self) -> None:
        """A redraw happened for another reason (a new turn, a tool call): count from now."""
        self._last = self._clock()
