"""The translate package (see ARCHITECTURE.md)."""
