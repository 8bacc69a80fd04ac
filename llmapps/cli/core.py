"""Core commands: ``up``, ``ask``, ``config``, ``logs``."""

from __future__ import annotations

import typer

from llmapps.cli.common import console, handle_errors, read_text_arg, settings

config_app = typer.Typer(help="Show and check the configuration.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("up")(up)
    app.command("ask")(ask)
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
    uvicorn.run(app, host=host, port=port, log_level="warning")


@handle_errors
def ask(
    prompt: str = typer.Argument(..., help="The prompt, or '-' to read it from stdin."),
    model: str | None = typer.Option(None, "-m", "--model", help="Model spec or alias."),
    system: str | None = typer.Option(None, "--system", "-s", help="System prompt."),
    temperature: float | None = typer.Option(None, "--temperature", "-t"),
    max_tokens: int | None = typer.Option(None, "--max-tokens"),
) -> None:
    """Ask a model once and stream the answer to the terminal."""
    from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

    from llmapps.models import get_chat_model

    text = read_text_arg(prompt).strip()
    if not text:
        raise typer.BadParameter("the prompt is empty")
    chat = get_chat_model(
        model, app="ask", settings=settings(), temperature=temperature, max_tokens=max_tokens
    )
    messages: list[BaseMessage] = [SystemMessage(system)] if system else []
    messages.append(HumanMessage(text))
    for chunk in chat.stream(messages):
        console.out(chunk.text, end="", highlight=False)
    console.out("")
