"""Core commands: ``up``, ``ask``, ``config show|check``, ``logs``."""

from __future__ import annotations

import json

import typer

from llmapps.cli.common import console, err_console, fail, handle_errors, read_text_arg, settings
from llmapps.cli.listing import print_json, print_list

config_app = typer.Typer(help="Show and check the configuration.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("up")(up)
    app.command("ask")(ask)
    app.command("logs")(logs)
    app.add_typer(config_app, name="config")


@handle_errors
def up(
    host: str | None = typer.Option(None, help="Bind address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default 8000)."),
) -> None:
    """Start the web UI and the APIs (OpenAI /v1, Ollama /api, application endpoints)."""
    import uvicorn

    from llmapps.app import create_app

    cfg = settings()
    host = host or cfg.server.host
    port = port or cfg.server.port
    app = create_app(cfg)
    console.print(f"llmapps is up: [bold]http://{host}:{port}/[/]  (Ctrl+C to stop)")
    from llmapps.models.local.manifests import default_model_line

    console.print(default_model_line(cfg), highlight=False, soft_wrap=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@handle_errors
def ask(
    prompt: str = typer.Argument(..., help="The prompt, or '-' to read it from stdin."),
    model: str | None = typer.Option(None, "-m", "--model", help="Model spec or alias."),
    system: str | None = typer.Option(None, "--system", "-s", help="System prompt."),
    temperature: float | None = typer.Option(None, "--temperature", "-t"),
    top_p: float | None = typer.Option(None, "--top-p"),
    max_tokens: int | None = typer.Option(None, "--max-tokens"),
) -> None:
    """Ask a model once and stream the answer to the terminal."""
    from llmapps.models import resolve_spec
    from llmapps.models.ask import stream_answer

    text = read_text_arg(prompt)
    if model is None:  # say which model the default (maybe "auto") stands for
        err_console.print(f"model: {resolve_spec(None, settings())}", style="dim", highlight=False)
    for piece in stream_answer(
        text,
        spec=model,
        system=system,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        app="ask",
        settings=settings(),
    ):
        console.out(piece, end="", highlight=False)
        console.file.flush()
    console.out("")


@config_app.command("show")
@handle_errors
def config_show(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of TOML-like text."),
) -> None:
    """Print the effective settings (file + LLMAPPS_* env + .env), secrets redacted."""
    cfg = settings()
    data = cfg.redacted()
    source = str(cfg.source_file) if cfg.source_file else "none (defaults + environment)"
    if as_json:
        console.print_json(json.dumps({"config_file": source, **data}, ensure_ascii=False))
        return
    console.print(f"# config file: {source}", highlight=False)
    console.out(_as_toml(data), highlight=False)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _as_toml(data: dict[str, object], prefix: str = "") -> str:
    """Settings as TOML-looking text (values that are unset show as comments)."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, object]]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((f"{prefix}{key}", value))
        elif value is None:
            lines.append(f"# {key} = (unset)")
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    for name, table in tables:
        body = _as_toml(table, f"{name}.")
        lines.append(f"\n[{name}]" + (f"\n{body}" if body.strip() else ""))
    return "\n".join(line for line in lines)


@config_app.command("check")
@handle_errors
def config_check() -> None:
    """Validate the config file and try each configured model with a tiny request."""
    from llmapps.models.check import check_data_dir, check_models

    cfg = settings()  # a bad file exits here with file:line: key
    source = str(cfg.source_file) if cfg.source_file else "no llmapps.toml (defaults)"
    console.print(f"config: {source} [green]valid[/]", highlight=False)
    results = [check_data_dir(cfg)]
    with console.status("trying each configured model…"):
        results += check_models(cfg)
    for result in results:
        mark = "[green]ok  [/]" if result.ok else "[bold red]FAIL[/]"
        console.print(
            f"{mark} {result.role:<14} {result.spec}  {result.message}",
            highlight=False,
            soft_wrap=True,
        )
    failed = [r for r in results if not r.ok]
    if failed:
        raise fail(f"{len(failed)} problem(s) found: see the FAIL lines above")
    console.print("all checks passed")


@handle_errors
def logs(
    n: int = typer.Option(20, "-n", help="How many of the newest calls to list."),
    app_name: str | None = typer.Option(None, "--app", help="Only calls made by this app."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one object)."),
) -> None:
    """List recent model calls with their tokens, latency and errors, and the totals."""
    from llmapps.models.calllog import call_totals, recent_calls

    cfg = settings()
    rows = recent_calls(cfg, limit=n, app=app_name)
    totals = call_totals(cfg, app=app_name)
    if as_json:
        print_json({"calls": rows, "totals": totals})
        return
    print_list(
        ("time (UTC)", "app", "model", "in", "out", "ms", "error"),
        [
            [
                str(row["started_at"]).replace("T", " ")[5:19],
                row["app"],
                row["spec"],
                "" if row["prompt_tokens"] is None else row["prompt_tokens"],
                "" if row["completion_tokens"] is None else row["completion_tokens"],
                "" if row["latency_ms"] is None else row["latency_ms"],
                (row["error"] or "").removeprefix(f"{row['spec']}: "),
            ]
            for row in rows
        ],
        title="model calls, newest first",
    )
    scope = f"app {app_name}" if app_name else "all apps"
    console.print(
        f"totals ({scope}): {totals.get('calls', 0)} calls, {totals.get('errors', 0)} errors, "
        f"{totals.get('prompt_tokens', 0)} prompt + {totals.get('completion_tokens', 0)} "
        "completion tokens",
        highlight=False,
    )
