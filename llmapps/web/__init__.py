"""The Gradio web UI: one tab per application, mounted into the FastAPI app."""
