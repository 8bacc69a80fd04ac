"""LangChain tools for the chat assistant and its agent mode.

``build_tools(settings, kb=..., names=...)`` returns the enabled tools; dangerous ones
(``fetch_url``, ``python``) only when switched on in ``[chat]``.
"""

from __future__ import annotations

from langchain_core.tools import BaseTool

from llmapps.config import Settings


def build_tools(
    settings: Settings, *, kb: str | None = None, names: list[str] | None = None
) -> list[BaseTool]:
    """The tools for one chat turn (skeleton; filled in next)."""
    raise NotImplementedError
