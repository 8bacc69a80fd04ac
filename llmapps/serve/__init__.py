"""The serve package (see ARCHITECTURE.md)."""
