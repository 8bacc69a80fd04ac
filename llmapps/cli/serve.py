"""CLI of the model server: ``serve``, ``run``, and ``models create/show/rm/cp/ps``.

The commands parse input, call one library function from ``llmapps.serve`` and print.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from llmapps.cli.common import console, err_console, fail, handle_errors, settings
from llmapps.cli.models import models_app


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app (and to ``models``)."""
    app.command("serve")(serve)
    app.command("run")(run)
    models_app.command("create")(create)
    models_app.command("show")(show)
    models_app.command("rm")(rm)
    models_app.command("cp")(cp)
    models_app.command("ps")(ps)


def build_server_app() -> Any:
    """The standalone server: the APIs without the UI, plus ``GET /`` like Ollama."""
    from llmapps.app import create_app

    return create_app(settings(), ui=False)  # without the UI, "/" answers like Ollama


@handle_errors
def serve(
    host: str | None = typer.Option(None, help="Bind address (default server.host, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default server.port; 11434 = Ollama's)."),
) -> None:
    """Run the private model server (OpenAI /v1 and Ollama /api) without the web UI."""
    import uvicorn

    cfg = settings()
    host = host or cfg.server.host
    port = port or cfg.server.port
    app = build_server_app()
    console.print(
        f"model server on [bold]http://{host}:{port}[/]  OpenAI: /v1  Ollama: /api  (Ctrl+C)"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _read_message(first: str) -> str:
    """A line, or a block between triple quotes spanning several lines."""
    text = first.strip()
    if not text.startswith('"""'):
        return first
    body = text[3:]
    if body.endswith('"""') and len(body) >= 3:
        return body[:-3]
    lines = [body] if body else []
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        stripped = line.rstrip("\n")
        if stripped.endswith('"""'):
            lines.append(stripped[:-3])
            break
        lines.append(stripped)
    return "\n".join(lines)


@handle_errors
def run(
    name: str = typer.Argument(..., help="Model name[:tag], e.g. smollm2."),
    prompt: str | None = typer.Argument(None, help="One-shot prompt ('-' reads stdin)."),
    verbose: bool = typer.Option(False, "--verbose", help="Print token counts and speed."),
) -> None:
    """Chat with a model: one-shot with PROMPT, else a REPL (/bye, /clear, /set, \"\"\")."""
    from llmapps.errors import LlmappsError
    from llmapps.serve.session import ChatSession

    session = ChatSession.open(settings(), name)

    def answer(text: str) -> None:
        for piece in session.send(text):
            console.out(piece, end="", highlight=False)
        console.out("")
        if verbose and session.last is not None:
            last = session.last
            rate = last.completion_tokens / (last.eval_ns / 1e9) if last.eval_ns else 0.0
            err_console.print(
                f"prompt tokens: {last.prompt_tokens}  eval tokens: {last.completion_tokens}  "
                f"eval rate: {rate:.1f} tokens/s"
            )

    if prompt is not None:
        text = sys.stdin.read() if prompt == "-" else prompt
        if not text.strip():
            raise fail("the prompt is empty")
        answer(text)
        return
    interactive = sys.stdin.isatty()
    if interactive:
        console.print('Send a message (/? for help, /bye to leave, """ for multi-line)')
    while True:
        if interactive:
            console.print(">>> ", end="")
        line = sys.stdin.readline()
        if not line:
            break
        if not line.strip():
            continue
        if line.lstrip().startswith("/"):
            try:
                reply = session.command(line)
            except LlmappsError as exc:
                err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
                continue
            if reply is None:
                break
            console.print(reply, highlight=False)
            continue
        text = _read_message(line)
        try:
            answer(text)
        except LlmappsError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)


@handle_errors
def create(
    name: str = typer.Argument(..., help="New model name[:tag]."),
    file: Path = typer.Option(Path("Modelfile"), "-f", "--file", help="The Modelfile."),
) -> None:
    """Create a model from a Modelfile (FROM smollm2 | a model name | a GGUF path)."""
    from llmapps.serve.registry import Registry

    if not file.is_file():
        raise fail(f"Modelfile not found: {file} (pass -f PATH)")
    record = Registry(settings()).create(
        name, file.read_text(encoding="utf-8"), file.resolve().parent
    )
    console.print(f"created [bold]{record.name}[/] from {record.modelfile.from_}")


@handle_errors
def show(
    name: str = typer.Argument(..., help="Model name[:tag]."),
    modelfile: bool = typer.Option(False, "--modelfile", help="Print the Modelfile."),
    parameters: bool = typer.Option(False, "--parameters", help="Print the parameters."),
    template: bool = typer.Option(False, "--template", help="Print the template."),
    system: bool = typer.Option(False, "--system", help="Print the system prompt."),
    license_: bool = typer.Option(False, "--license", help="Print the license."),
) -> None:
    """Show a model's details, or one part of it."""
    from llmapps.serve.info import show_info
    from llmapps.serve.registry import Registry

    record = Registry(settings()).get(name)
    info = show_info(record)
    template_text = info["template"] or info["model_info"].get("tokenizer.chat_template", "")
    for wanted, text in (
        (modelfile, info["modelfile"]),
        (parameters, info["parameters"]),
        (template, template_text),
        (system, info["system"]),
        (license_, info["license"]),
    ):
        if wanted:  # one part asked for: print it alone
            console.out(text, highlight=False)
            return
    details = info["details"]
    meta = info["model_info"]
    arch = details.get("family", "")
    table = Table(show_header=False, box=None)
    table.add_row("name", record.name)
    table.add_row("file", str(record.path))
    table.add_row("architecture", arch)
    table.add_row("parameters", details.get("parameter_size", ""))
    table.add_row("context length", str(meta.get(f"{arch}.context_length", "")))
    table.add_row("quantization", details.get("quantization_level", ""))
    if record.adapters:
        table.add_row("adapter", ", ".join(str(a) for a in record.adapters))
    for key, value in record.parameters.items():
        table.add_row(f"PARAMETER {key}", str(value))
    if info["system"]:
        table.add_row("system", info["system"])
    table.add_row("template", "Modelfile TEMPLATE" if info["template"] else "GGUF chat template")
    console.print(table)


@handle_errors
def rm(names: list[str] = typer.Argument(..., help="Model name(s)[:tag].")) -> None:
    """Remove models from the registry (their GGUF files are left in place)."""
    from llmapps.serve.registry import Registry

    registry = Registry(settings())
    for name in names:
        registry.delete(name)
        console.print(f"deleted '{name}'")


@handle_errors
def cp(
    source: str = typer.Argument(..., help="Existing model."),
    destination: str = typer.Argument(..., help="New name[:tag]."),
) -> None:
    """Copy a model under a new name."""
    from llmapps.serve.registry import Registry

    record = Registry(settings()).copy(source, destination)
    console.print(f"copied '{source}' to '{record.name}'")


@handle_errors
def ps(
    url: str | None = typer.Option(
        None, "--url", help="Server base URL (default http://server.host:server.port)."
    ),
) -> None:
    """Models loaded in the running server: name, size, context, expiry."""
    import httpx

    from llmapps.serve.auth import api_keys

    cfg = settings()
    base = url or f"http://{cfg.server.host}:{cfg.server.port}"
    keys = api_keys()
    headers = {"Authorization": f"Bearer {keys[0]}"} if keys else {}
    try:
        resp = httpx.get(f"{base.rstrip('/')}/api/ps", headers=headers, timeout=10)
    except httpx.HTTPError:
        raise fail(
            f"no server answers at {base}: start one with 'llmapps serve' or pass --url"
        ) from None
    if resp.status_code != 200:
        raise fail(f"{base}/api/ps answered {resp.status_code}: {resp.text[:200]}")
    table = Table("NAME", "SIZE", "CONTEXT", "UNTIL")
    for model in resp.json().get("models", []):
        expires = model.get("expires_at", "")
        until = "forever" if expires.startswith("2318") else _until(expires)
        kind = " (embedding)" if model.get("embedding") else ""
        table.add_row(
            model["name"] + kind,
            f"{model.get('size', 0) / 1e6:.0f} MB",
            str(model.get("context_length", "")),
            until,
        )
    console.print(table)


def _until(stamp: str) -> str:
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    seconds = int((when - datetime.now(UTC)).total_seconds())
    if seconds <= 0:
        return "now"
    return f"{seconds // 60} minutes from now" if seconds >= 120 else f"{seconds} seconds from now"
