"""How a built-in tool is made: one place that decides how tool errors reach the model.

Why: every built-in tool raises :class:`ToolException` for bad input (a missing file, an
unknown time zone, a refused URL); ``handle_tool_error=True`` turns that into the tool's answer,
so the model reads the one-line reason and can try again instead of the turn failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel


def make_tool(
    func: Callable[..., Any], name: str, description: str, args_schema: type[BaseModel]
) -> BaseTool:
    """A structured tool whose :class:`ToolException` goes back to the model as its result."""
    return StructuredTool.from_function(
        func=func,
        name=name,
        description=description,
        args_schema=args_schema,
        handle_tool_error=True,
    )
