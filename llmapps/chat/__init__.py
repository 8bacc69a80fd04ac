"""The chat package (see ARCHITECTURE.md)."""
