"""Tool tests: settings are read fresh from the isolated environment for each test."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmapps.config import Settings, get_settings


@pytest.fixture
def settings(isolated_home: Path) -> Settings:
    return get_settings()


@pytest.fixture
def enable(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``enable(key=value, …)`` sets ``[chat]`` keys via LLMAPPS_CHAT__* and returns settings."""

    def apply(**values: object) -> Settings:
        for key, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            monkeypatch.setenv(f"LLMAPPS_CHAT__{key.upper()}", text)
        return get_settings()

    return apply
