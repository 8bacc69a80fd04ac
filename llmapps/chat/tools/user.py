"""User-defined tools: plain Python functions in a tools folder become LangChain tools.

Folder: ``chat.tools_dir`` (default ``<home>/tools``). Every public function defined in a
``*.py`` file there (or only those named in the module's ``__all__``), with a docstring and a
type annotation on every parameter, becomes a ``StructuredTool``: the docstring's first part is
the description and a Google-style ``Args:`` section describes the parameters. Objects that
are already LangChain tools (``@tool``) are taken as they are. These files are the user's own
code and run in-process with the user's rights: only put trusted files there.

A file that fails to import, or a function that lacks annotations or a docstring, is skipped
and reported (``load_user_tools`` returns the problems) instead of breaking the chat.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

from llmapps.config import Settings

log = logging.getLogger(__name__)


def tools_dir(settings: Settings) -> Path:
    return (
        Path(settings.chat.tools_dir).expanduser()
        if settings.chat.tools_dir
        else (settings.home / "tools")
    )


def _import(path: Path) -> ModuleType:
    name = f"llmapps_user_tools_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _function_tool(func: Any) -> StructuredTool:
    doc = inspect.getdoc(func)
    if not doc:
        raise ValueError("needs a docstring describing what it does")
    signature = inspect.signature(func)
    missing = [
        p.name
        for p in signature.parameters.values()
        if p.annotation is inspect.Parameter.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if missing:
        raise ValueError(f"parameter(s) {', '.join(missing)} need a type annotation")
    try:
        return StructuredTool.from_function(func=func, parse_docstring=True, handle_tool_error=True)
    except ValueError:  # docstring without a Google-style Args section
        return StructuredTool.from_function(func=func, handle_tool_error=True)


def load_user_tools(folder: Path) -> tuple[list[BaseTool], list[str]]:
    """``(tools, problems)`` from the ``*.py`` files in ``folder`` (sorted by file name)."""
    tools: list[BaseTool] = []
    problems: list[str] = []
    if not folder.is_dir():
        return tools, problems
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            module = _import(path)
        except Exception as exc:
            problems.append(f"{path.name}: cannot import ({type(exc).__name__}: {exc})")
            continue
        wanted = getattr(module, "__all__", None)
        for attr, obj in vars(module).items():
            if attr.startswith("_") or (wanted is not None and attr not in wanted):
                continue
            if isinstance(obj, BaseTool):
                tools.append(obj)
            elif inspect.isfunction(obj) and obj.__module__ == module.__name__:
                try:
                    tools.append(_function_tool(obj))
                except ValueError as exc:
                    problems.append(f"{path.name}: {attr}: {exc}")
    for problem in problems:
        log.warning("user tool skipped: %s", problem)
    return tools, problems
