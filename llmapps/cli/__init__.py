"""The ``llmapps`` command line: a thin Typer shell over the library.

Each module in this package owns one area and adds its commands in ``register(app)``; the
commands only parse input, call one library function and present the result.
"""

from __future__ import annotations

import typer

from llmapps.cli import chat, core, kb, models, sentinel, serve, translate

app = typer.Typer(
    name="llmapps",
    help="LLM applications (translate, sentinel, chat) and a private model server.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for module in (core, models, serve, translate, sentinel, chat, kb):
    module.register(app)


def main() -> None:
    """Console-script entry point."""
    from llmapps.scrub import install_log_scrubber

    install_log_scrubber()  # no known secret value in any log line the CLI (or daemon) writes
    app()
