"""The chat package's error, apart from the service so that the CLI can name it without
loading LangChain (``llmapps serve`` imports the CLI and should not hold LangChain for it)."""

from __future__ import annotations

from llmapps.errors import LlmappsError


class ChatError(LlmappsError):
    """Bad chat input (empty message, nothing to regenerate, persona needs a KB…)."""
