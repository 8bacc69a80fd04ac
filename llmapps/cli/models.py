"""``llmapps models …``: list what can be used (and, with the server, manage Modelfile models).

``list`` lives here; the serve area adds ``create/show/rm/cp/ps`` onto ``models_app``.
"""

from __future__ import annotations

from typing import Any

import typer

from llmapps.cli.common import console, handle_errors, settings
from llmapps.cli.listing import print_json, print_list

models_app = typer.Typer(help="List and manage models.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")


def _registry_models(cfg: Any) -> list[dict[str, Any]]:
    """Models created for the private server (``llmapps models create``), if that area exists."""
    try:
        from llmapps.serve.registry import Registry
    except ImportError:
        return []
    try:
        records = Registry(cfg).list()
    except Exception:  # a damaged registry must not break listing the rest
        return []
    return [
        {"name": r.name, "path": str(r.path), "size": r.size}
        for r in records
        if not getattr(r, "bundled", False)
    ]


@models_app.command("list")
@handle_errors
def list_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    no_ollama: bool = typer.Option(False, "--no-ollama", help="Do not ask the Ollama server."),
) -> None:
    """Aliases, local GGUF files, the bundled model, Ollama's models and server-created ones."""
    from llmapps.models.catalog import format_size, list_models

    cfg = settings()
    catalog = list_models(cfg, include_ollama=not no_ollama)
    served = _registry_models(cfg)
    if as_json:
        payload = {
            "models": [e.__dict__ for e in catalog.entries],
            "server_models": served,
            "notes": catalog.notes,
        }
        print_json(payload)
        return
    rows = [[e.spec, e.source, e.detail, format_size(e.size_bytes)] for e in catalog.entries]
    print_list(
        ("spec / alias", "source", "details", "size"),
        rows,
        title="models (use the first column with -m or models.default)",
    )
    for note in catalog.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
