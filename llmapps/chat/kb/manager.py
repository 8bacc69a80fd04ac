"""Knowledge-base operations (skeleton; filled in next)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from llmapps.chat.kb.types import Hit, KbInfo
from llmapps.config import Settings

ProgressCallback = Callable[[int, int, str], None]


def create_kb(name: str, *, settings: Settings | None = None) -> KbInfo:
    raise NotImplementedError


def delete_kb(name: str, *, settings: Settings | None = None) -> None:
    raise NotImplementedError


def list_kbs(settings: Settings | None = None) -> list[str]:
    raise NotImplementedError


def kb_info(name: str, *, settings: Settings | None = None) -> KbInfo:
    raise NotImplementedError


def add_paths(
    name: str,
    paths: Iterable[str | Path],
    *,
    progress: ProgressCallback | None = None,
    settings: Settings | None = None,
) -> KbInfo:
    raise NotImplementedError


def remove_file(name: str, file: str, *, settings: Settings | None = None) -> KbInfo:
    raise NotImplementedError


def rebuild(
    name: str, *, progress: ProgressCallback | None = None, settings: Settings | None = None
) -> KbInfo:
    raise NotImplementedError


def search(
    kb: str,
    query: str,
    k: int = 4,
    *,
    settings: Settings | None = None,
    threshold: float | None = None,
    mode: str = "auto",
) -> list[Hit]:
    """Best-first hits with scores 0..1; hits below ``threshold`` (default
    ``chat.kb_threshold``) are dropped, so an empty list means "not in the knowledge base"."""
    raise NotImplementedError
