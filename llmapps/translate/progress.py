"""Progress counters shared by the workers and shown by the CLI bar, the tab and HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Progress:
    stage: str = "queued"  # queued | parsing | translating | writing | done | failed
    pages: int = 0
    blocks_total: int = 0
    blocks_done: int = 0
    blocks_kept: int = 0
    cache_hits: int = 0
    model_calls: int = 0
    fallback_calls: int = 0
    tokens: int = 0
    glossary_violations: int = 0
    scanned_pages: list[int] = field(default_factory=list)
    # Units the PDF writer could not place without touching other text (source text kept).
    unfit_units: int = 0
    unfit_pages: list[int] = field(default_factory=list)
    ocr_pages: list[int] = field(default_factory=list)  # read by OCR
    layout_fallback_pages: list[int] = field(default_factory=list)  # layout model failed there
    model_seconds: float = 0.0
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


ProgressCallback = Callable[[Progress], None]


class Tracker:
    """Thread-safe updates of a :class:`Progress`, reported to a callback after each change."""

    def __init__(self, callback: ProgressCallback | None = None) -> None:
        self.progress = Progress()
        self._lock = threading.Lock()
        self._callback = callback

    def update(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self.progress, key, value)
            snapshot = Progress(**asdict(self.progress))
        if self._callback:
            self._callback(snapshot)

    def add(self, **deltas: float) -> None:
        with self._lock:
            for key, value in deltas.items():
                setattr(self.progress, key, getattr(self.progress, key) + value)
            snapshot = Progress(**asdict(self.progress))
        if self._callback:
            self._callback(snapshot)
