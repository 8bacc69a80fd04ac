"""Helpers every CLI module shares: one-line errors, the console, settings loading."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from llmapps.config import Settings, get_settings
from llmapps.errors import LlmappsError

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    # escaped: a message's own brackets ("[redacted]", a file name) are text, not markup
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn :class:`LlmappsError` into a one-line message and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except LlmappsError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def settings() -> Settings:
    """Load settings, exiting with the config error's one line when the file is bad."""
    try:
        return get_settings()
    except LlmappsError as exc:
        raise fail(str(exc), exc.exit_code) from None


def read_text_arg(value: str) -> str:
    """``-`` means read standard input (for prompts piped into a command)."""
    return sys.stdin.read() if value == "-" else value


def noop(*_args: Any, **_kwargs: Any) -> None:
    """Placeholder callback for Typer groups."""
