"""A process-wide cache of index files, re-read only when the file on disk changes.

Why: a search must not re-read BM25 and vector indexes from disk every time, yet an index that
another process (or thread) has rebuilt must be picked up at once. Both index kinds key their
cache on the file's modification stamp, here in one place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


class StampedCache(Generic[T]):
    """Loaded indexes by path, each kept with the ``st_mtime_ns`` of the file it came from."""

    def __init__(self, load: Callable[[Path], T]) -> None:
        self._load = load
        self._items: dict[Path, tuple[int, T]] = {}
        self._lock = threading.Lock()

    def get(self, path: Path, stamp_file: Path) -> T | None:
        """The index at ``path`` (loaded again only when ``stamp_file`` changed); ``None`` when
        ``stamp_file`` is missing."""
        try:
            stamp = stamp_file.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        with self._lock:
            hit = self._items.get(path)
            if hit and hit[0] == stamp:
                return hit[1]
        index = self._load(path)
        with self._lock:
            self._items[path] = (stamp, index)
        return index
