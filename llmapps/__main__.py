"""``python -m llmapps`` runs the CLI."""

from llmapps.cli import main

main()
