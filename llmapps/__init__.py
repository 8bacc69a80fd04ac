"""llmapps: LLM applications and a private model server on public or private models."""

__version__ = "0.1.0"
