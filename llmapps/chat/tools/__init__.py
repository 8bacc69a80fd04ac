"""LangChain tools for the chat assistant and its agent mode.

``build_tools(settings, kb=..., names=...)`` returns the tools for one turn: the safe ones
always (current time, calculator, sandboxed files, weather), ``kb_search`` when a knowledge
base is attached, the dangerous ones (``fetch_url``, ``python``) only when switched on in
``[chat]``, and the user's own tools from the tools folder.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from llmapps.chat.tools.base import make_tool
from llmapps.chat.tools.basic import calculator_tool, time_tool
from llmapps.chat.tools.files import file_tools, sandbox_root
from llmapps.chat.tools.user import load_user_tools, tools_dir
from llmapps.chat.tools.web import fetch_tool, weather_tool
from llmapps.config import Settings
from llmapps.errors import LlmappsError

__all__ = ["BUILTIN", "ToolError", "build_tools", "load_user_tools", "sandbox_root", "tools_dir"]

BUILTIN = (
    "current_time",
    "calculator",
    "kb_search",
    "read_file",
    "write_file",
    "list_files",
    "weather",
    "fetch_url",
    "python",
)


class ToolError(LlmappsError):
    """A tool asked for that is unknown or switched off."""


class KbSearchArgs(BaseModel):
    query: str = Field(description="what to look up in the knowledge base")
    k: int = Field(default=4, ge=1, le=10, description="how many passages to return")


def kb_tool(settings: Settings, kb: str) -> BaseTool:
    """Search the attached knowledge base; results carry their citations."""

    def kb_search(query: str, k: int = 4) -> str:
        from llmapps.chat.kb import search

        hits = search(kb, query, k, settings=settings)
        if not hits:
            return "No passage in the knowledge base matches well enough; say you do not know."
        return "\n\n".join(
            f"[{i}] {h.source}{f', {h.location}' if h.location else ''} "
            f"(score {h.score:.2f})\n{h.text}"
            for i, h in enumerate(hits, start=1)
        )

    return make_tool(
        kb_search,
        "kb_search",
        f"Search the knowledge base '{kb}' for passages (with source and page).",
        KbSearchArgs,
    )


def build_tools(
    settings: Settings, *, kb: str | None = None, names: list[str] | None = None
) -> list[BaseTool]:
    """The tools for one chat turn.

    ``names=None``: every enabled tool (``kb_search`` only with ``kb``). With ``names``, exactly
    those; asking for a switched-off or unknown tool raises :class:`ToolError` naming the fix.
    """
    chat = settings.chat
    available: dict[str, BaseTool] = {
        "current_time": time_tool(),
        "calculator": calculator_tool(),
    }
    if kb:
        available["kb_search"] = kb_tool(settings, kb)
    for tool in file_tools(settings):
        available[tool.name] = tool
    available["weather"] = weather_tool(settings)
    if chat.enable_web_fetch:
        available["fetch_url"] = fetch_tool(settings)
    if chat.enable_code_interpreter:
        from llmapps.chat.tools.code import code_tool

        available["python"] = code_tool(settings)
    user_tools, _problems = load_user_tools(tools_dir(settings))
    for tool in user_tools:
        if tool.name not in available and tool.name not in BUILTIN:
            available[tool.name] = tool
    if names is None:
        return list(available.values())
    chosen: list[BaseTool] = []
    for name in names:
        if name in available:
            chosen.append(available[name])
        elif name == "fetch_url":
            raise ToolError("fetch_url is off: set chat.enable_web_fetch = true to allow it")
        elif name == "python":
            raise ToolError(
                "the code interpreter is off: set chat.enable_code_interpreter = true to allow it"
            )
        elif name == "kb_search":
            raise ToolError("kb_search needs a knowledge base: attach one (--kb NAME)")
        else:
            raise ToolError(f"unknown tool {name!r}: choose from {', '.join(sorted(available))}")
    return chosen
