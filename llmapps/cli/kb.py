"""``llmapps kb …``: knowledge bases for the chat assistant (filled in by the chat issue)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the kb commands to the main app."""
