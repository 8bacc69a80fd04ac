"""CLI of the model server with Ollama's verbs: ``serve list ps show create cp rm pull run stop``.

Why top level: a course user's Ollama habits (``ollama pull qwen2.5:1.5b``, ``ollama list``)
work unchanged with ``llmapps`` in place of ``ollama``; the ``models …`` group keeps the same
commands as aliases. The commands parse input, call one library function and print: tables
in Ollama's columns, padded plain text (never cut) so scripts can read them.
"""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from llmapps.cli.common import console, err_console, fail, handle_errors, settings
from llmapps.cli.models import models_app


def register(app: typer.Typer) -> None:
    """Add Ollama's verbs to the main app (and, as aliases, to ``models``)."""
    app.command("serve")(serve)
    app.command("run")(run)
    app.command("list")(list_)
    app.command("ls", hidden=True)(list_)
    app.command("stop")(stop)
    for group in (app, models_app):
        group.command("create")(create)
        group.command("show")(show)
        group.command("rm")(rm)
        group.command("cp")(cp)
        group.command("ps")(ps)
        group.command("pull")(pull)


def build_server_app() -> Any:
    """The standalone server: the APIs without the UI, plus ``GET /`` like Ollama."""
    from llmapps.app import create_app

    return create_app(settings(), ui=False)  # without the UI, "/" answers like Ollama


OLLAMA_PORT = 11434


def ollama_host(value: str | None = None) -> tuple[str, int]:
    """``OLLAMA_HOST`` read as Ollama reads it: ``[scheme://]host[:port]``; default
    ``127.0.0.1:11434`` (an empty host, as in ``:8080``, means every interface)."""
    text = (value if value is not None else os.environ.get("OLLAMA_HOST", "")).strip()
    text = text.strip("\"'")
    scheme, sep, hostport = text.partition("://")
    default = OLLAMA_PORT
    if not sep:
        hostport = text
    elif scheme == "http":
        default = 80
    elif scheme == "https":
        default = 443
    hostport = hostport.split("/", 1)[0]
    host, port_text = "127.0.0.1", str(default)
    match = re.fullmatch(r"\[?([^\]]*?)\]?:(\d*)", hostport)
    if match:
        host, port_text = match.group(1) or "0.0.0.0", match.group(2)
    elif hostport:
        host = hostport.strip("[]")
    port = int(port_text) if port_text.isdigit() and int(port_text) <= 65535 else default
    return host, port


def server_urls(cfg: Any, url: str | None) -> list[str]:
    """Where a client command looks for the server: ``--url``, else ``llmapps serve``'s
    address (``OLLAMA_HOST``, default port 11434), then ``llmapps up``'s (server.port)."""
    if url:
        return [url.rstrip("/")]
    host, port = ollama_host()
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return [f"http://{host}:{port}", f"http://{cfg.server.host}:{cfg.server.port}"]


def _server_get(path: str, url: str | None, method: str = "GET", body: Any = None) -> Any:
    import httpx

    from llmapps.serve.auth import api_keys

    cfg = settings()
    keys = api_keys()
    headers = {"Authorization": f"Bearer {keys[0]}"} if keys else {}
    bases = server_urls(cfg, url)
    for base in bases:
        try:
            resp = httpx.request(method, base + path, headers=headers, json=body, timeout=60)
        except httpx.HTTPError:
            continue
        if resp.status_code != 200:
            try:
                message = resp.json().get("error") or resp.text[:200]
            except ValueError:
                message = resp.text[:200]
            raise fail(f"{base}{path} answered {resp.status_code}: {message}")
        return resp.json()
    raise fail(
        f"no server answers at {' or '.join(bases)}: start one with 'llmapps serve' or pass --url"
    )


@handle_errors
def serve(
    host: str | None = typer.Option(
        None, help="Bind address (default from OLLAMA_HOST, else 127.0.0.1)."
    ),
    port: int | None = typer.Option(
        None, help="Port (default from OLLAMA_HOST, else 11434, Ollama's)."
    ),
) -> None:
    """Run the private model server (Ollama /api and OpenAI /v1) on Ollama's port 11434."""
    import uvicorn

    settings()
    env_host, env_port = ollama_host()
    host = host or (env_host if os.environ.get("OLLAMA_HOST") else settings().server.host)
    port = port or env_port
    app = build_server_app()
    console.print(
        f"model server listening on [bold]http://{host}:{port}[/]  "
        "Ollama: /api  OpenAI: /v1  (Ctrl+C to stop)"
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
    from llmapps.serve.registry import Registry
    from llmapps.serve.session import ChatSession

    if not Registry(settings()).exists(name):  # like `ollama run`: pull what is missing
        err_console.print(f"{name} is not here yet: pulling it", highlight=False)
        pull(name, insecure=False)
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


def _table(headers: list[str], rows: list[list[str]]) -> None:
    """Ollama's plain tables: columns padded with three spaces, nothing cut."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        line = "   ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        console.out(line.rstrip(), highlight=False)


def human_bytes(n: float) -> str:
    """Sizes as Ollama prints them (decimal units: 986 MB, 4.7 GB)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if n >= 10 or unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


def _ago(stamp: str, now: datetime | None = None) -> str:
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = int(((now or datetime.now(UTC)) - when).total_seconds())
    for size, unit in ((86400 * 365, "year"), (86400 * 30, "month"), (86400 * 7, "week"),
                       (86400, "day"), (3600, "hour"), (60, "minute")):  # fmt: skip
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "Less than a minute ago" if seconds >= 1 else "Less than a second ago"


@handle_errors
def list_(
    as_json: bool = typer.Option(False, "--json", help="Print JSON (Ollama's /api/tags shape)."),
) -> None:
    """List the models of the local registry: NAME ID SIZE MODIFIED (like ``ollama list``)."""
    from llmapps.serve.registry import Registry

    records = Registry(settings()).list()
    if as_json:
        payload = [
            {
                "name": r.name,
                "model": r.name,
                "digest": r.digest,
                "size": r.size,
                "modified_at": r.created_at,
            }
            for r in records
        ]
        console.out(json.dumps({"models": payload}, ensure_ascii=False, indent=2), highlight=False)
        return
    rows = [[r.name, r.digest[:12], human_bytes(r.size), _ago(r.created_at)] for r in records]
    _table(["NAME", "ID", "SIZE", "MODIFIED"], rows)


def processor(size: int, size_vram: int) -> str:
    """Ollama's PROCESSOR column."""
    if size <= 0 or size_vram <= 0:
        return "100% CPU"
    if size_vram >= size:
        return "100% GPU"
    cpu = round((size - size_vram) * 100 / size)
    return f"{cpu}%/{100 - cpu}% CPU/GPU"


@handle_errors
def ps(
    url: str | None = typer.Option(
        None, "--url", help="Server base URL (default: OLLAMA_HOST or :11434, then server.port)."
    ),
) -> None:
    """Models loaded in the running server: NAME ID SIZE PROCESSOR CONTEXT UNTIL."""
    rows = []
    for model in _server_get("/api/ps", url).get("models", []):
        expires = model.get("expires_at", "")
        until = "Forever" if expires.startswith("2318") else _until(expires)
        kind = " (embedding)" if model.get("embedding") else ""
        size = int(model.get("size") or 0)
        rows.append(
            [
                model["name"] + kind,
                str(model.get("digest", ""))[:12],
                human_bytes(size),
                processor(size, int(model.get("size_vram") or 0)),
                str(model.get("context_length", "")),
                until,
            ]
        )
    _table(["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"], rows)


@handle_errors
def stop(
    name: str = typer.Argument(..., help="Model name[:tag] to unload."),
    url: str | None = typer.Option(None, "--url", help="Server base URL."),
) -> None:
    """Unload a model from the running server (keep_alive 0, as ``ollama stop`` does)."""
    _server_get("/api/generate", url, "POST", {"model": name, "keep_alive": 0, "stream": False})


@handle_errors
def pull(
    name: str = typer.Argument(..., help="NAME[:TAG] (Ollama library) or hf.co/USER/REPO[:QUANT]."),
    insecure: bool = typer.Option(False, "--insecure", help="Use plain HTTP for a registry host."),
) -> None:
    """Download a model from the Ollama registry or Hugging Face (resumes after a cut)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from llmapps.serve.pull import pull as pull_model

    bars: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=False),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as progress:

        def show(event: dict[str, Any]) -> None:
            digest = event.get("digest")
            if digest:
                if digest not in bars:
                    bars[digest] = progress.add_task(event["status"], total=event.get("total"))
                progress.update(bars[digest], completed=event.get("completed", 0))
            elif event["status"] != "success":
                progress.console.print(event["status"], highlight=False)

        record = pull_model(settings(), name, show, insecure=insecure)
    console.print(f"success: [bold]{record.name}[/] ({human_bytes(record.size)})")


def _until(stamp: str) -> str:
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    seconds = int((when - datetime.now(UTC)).total_seconds())
    if seconds <= 0:
        return "now"
    if seconds >= 7200:
        return f"{seconds // 3600} hours from now"
    return f"{seconds // 60} minutes from now" if seconds >= 120 else f"{seconds} seconds from now"
