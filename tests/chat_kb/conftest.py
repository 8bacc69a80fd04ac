"""Knowledge-base tests run BM25-only unless a test switches vectors on (the model is slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def bm25_only(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMAPPS_CHAT__KB_VECTORS", "false")


@pytest.fixture
def data_dir() -> Path:
    return DATA
