"""The sentinel package (see ARCHITECTURE.md)."""
