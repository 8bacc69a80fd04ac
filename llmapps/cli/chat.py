"""``llmapps chat``: the assistant in the terminal (REPL, or one-shot with a message).

Also ``llmapps personas …`` and ``llmapps conversations …`` to manage what the REPL uses.
Every command calls the chat service (the same one behind the web tab and HTTP) and only
renders its events: tokens as they arrive, tool calls, sources, notices and errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from llmapps.chat.errors import ChatError
from llmapps.cli.common import console, err_console, fail, handle_errors, settings
from llmapps.cli.listing import json_option, print_list
from llmapps.errors import LlmappsError

if TYPE_CHECKING:  # the service loads LangChain: imported when a chat command runs, not before
    from llmapps.chat.personas import Persona
    from llmapps.chat.service import ChatService, Turn

HELP = """Commands 命令:
  /new                 start a new conversation 新对话
  /list                list conversations 列出对话
  /switch ID           continue conversation ID 切换对话
  /kb NAME | /kb off   attach / detach a knowledge base 知识库
  /persona NAME        change persona 角色
  /model SPEC          change model (e.g. local:smollm2, openai:gpt-4o-mini) 模型
  /memory full|window|summary
  /tools a,b | /tools off   agent mode with these tools 工具（智能体模式）
  /regen               regenerate the last answer 重新生成
  /edit TEXT           replace your last message and answer again 修改上一条
  /export PATH         write the conversation to PATH (.md or .json) 导出
  /help                this help
  /exit                leave (Ctrl-D works too) 退出
Ctrl-C while an answer streams stops it (the partial answer is kept)."""

personas_app = typer.Typer(help="Chat personas: presets of prompt, model and parameters.")
conversations_app = typer.Typer(help="Saved chat conversations.")


def register(app: typer.Typer) -> None:
    """Add ``chat``, ``personas`` and ``conversations`` to the main app."""
    app.command("chat")(chat)
    app.add_typer(personas_app, name="personas")
    app.add_typer(conversations_app, name="conversations")


def _service() -> ChatService:
    from llmapps.chat.service import get_service

    return get_service(settings())


def render(turn: Turn) -> bool:
    """Print a turn's events as they arrive; True when it ended without an error."""
    ok = True
    started = False
    citations: list[dict[str, Any]] = []
    try:
        for event in turn.threaded():
            data = event.data
            if event.kind == "token":
                if not started:
                    console.print("[bold cyan]assistant>[/] ", end="")
                    started = True
                console.out(data["text"], end="", highlight=False)
            elif event.kind == "tool_call":
                args = json.dumps(data.get("args"), ensure_ascii=False)
                console.print(f"[dim]→ {escape(str(data.get('name')))}({escape(args)})[/]")
            elif event.kind == "tool_result":
                text = str(data.get("content", ""))
                text = text if len(text) <= 300 else text[:300] + "…"
                console.print(f"[dim]← {escape(str(data.get('name')))}: {escape(text)}[/]")
            elif event.kind == "notice":
                err_console.print(f"[yellow]note:[/] {escape(data['message'])}", soft_wrap=True)
            elif event.kind == "error":
                ok = False
                if started:
                    console.print()
                err_console.print(f"[bold red]error:[/] {escape(data['message'])}", soft_wrap=True)
            elif event.kind == "done":
                if started:
                    console.print()
                if data.get("status") == "stopped":
                    err_console.print("[yellow](stopped; partial answer kept)[/]")
                if citations:
                    console.print("[bold]Sources 来源:[/]")
                    for c in citations:
                        console.print(
                            f"  [{c['n']}] {escape(str(c['source']))}, "
                            f"{escape(str(c['location']))} (score {c['score']:.2f})",
                            highlight=False,
                        )
            elif event.kind == "citations":
                citations = list(data.get("citations", []))
    except KeyboardInterrupt:
        console.print()
        err_console.print("[yellow](stopped; partial answer kept)[/]")
    return ok


@handle_errors
def chat(
    message: Annotated[
        str | None, typer.Argument(help="Ask once and exit; without it, start the REPL.")
    ] = None,
    model: Annotated[str | None, typer.Option("-m", "--model", help="Model spec.")] = None,
    persona: Annotated[str | None, typer.Option("-p", "--persona", help="Persona name.")] = None,
    kb: Annotated[str | None, typer.Option("--kb", help="Attach a knowledge base.")] = None,
    memory: Annotated[str | None, typer.Option("--memory", help="full | window | summary")] = None,
    tools: Annotated[
        str | None, typer.Option("--tools", help="Agent mode with these tools (comma list).")
    ] = None,
    conversation: Annotated[
        int | None, typer.Option("-c", "--conversation", help="Continue conversation ID.")
    ] = None,
) -> None:
    """Chat with a model: a REPL, or one answer when MESSAGE is given ('-' reads stdin)."""
    from llmapps.chat.conversations import MEMORY_STRATEGIES

    service = _service()
    if memory and memory not in MEMORY_STRATEGIES:
        raise fail(f"unknown memory strategy '{memory}' (use {', '.join(MEMORY_STRATEGIES)})", 2)
    tool_names = [t.strip() for t in tools.split(",") if t.strip()] if tools else None
    options: dict[str, Any] = {
        "persona": persona,
        "model": model,
        "kb": kb,
        "memory": memory,
        "tools": tool_names,
    }
    if conversation is not None:
        service.configure(conversation, **options)
    if message is not None:
        from llmapps.cli.common import read_text_arg

        turn = service.send(conversation, read_text_arg(message), **options)
        if not render(turn):
            raise typer.Exit(1)
        return
    repl(service, conversation, options)


def repl(service: ChatService, conversation: int | None, options: dict[str, Any]) -> None:
    """Read lines until /exit or end of input; slash commands manage the session."""
    console.print("[bold]llmapps chat[/] — /help for commands 输入 /help 查看命令")
    current = conversation
    while True:
        try:
            line = console.input("[bold green]you>[/] ")
        except EOFError:
            console.print()
            return
        except KeyboardInterrupt:
            console.print()
            return
        line = line.strip()
        if not line:
            continue
        try:
            if line.startswith("/"):
                result = _command(service, line, current, options)
                if result == "exit":
                    return
                if result != "keep":
                    current = result
                continue
            turn = service.send(current, line, **(options if current is None else {}))
            current = turn.conversation_id
            render(turn)
        except LlmappsError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)


def _command(service: ChatService, line: str, current: int | None, options: dict[str, Any]) -> Any:
    """Run one slash command; returns the conversation to continue, None, "keep" or "exit"."""
    name, _, arg = line.partition(" ")
    arg = arg.strip()
    if name in ("/exit", "/quit", "/q"):
        return "exit"
    if name == "/help":
        console.print(HELP, highlight=False, markup=False)
        return "keep"
    if name == "/new":
        console.print("new conversation 新对话")
        return None
    if name == "/list":
        _print_conversations(service, current)
        return "keep"
    if name == "/switch":
        if not arg.isdigit():
            raise ChatError("usage: /switch ID (see /list)")
        conv = service.store.get(int(arg))
        console.print(f"conversation {conv.id}: {escape(conv.title or '(untitled)')}")
        for msg in service.store.messages(conv.id)[-4:]:
            who = "you" if msg.role == "user" else "assistant"
            console.print(f"[dim]{who}> {escape(msg.content[:200])}[/]")
        return conv.id
    if name in ("/kb", "/persona", "/model", "/memory"):
        key = name[1:]
        if not arg:
            raise ChatError(f"usage: {name} VALUE")
        value = "" if arg in ("off", "none") and key in ("kb", "model") else arg
        if current is not None:
            changes: dict[str, Any] = {key: value}
            service.configure(current, **changes)
        else:  # checked now, used when the conversation starts
            if key == "persona":
                service.personas.get(value)
            if key == "kb" and value:
                service._check_kb(value)
            from llmapps.chat.conversations import MEMORY_STRATEGIES

            if key == "memory" and value not in MEMORY_STRATEGIES:
                raise ChatError(f"unknown memory strategy '{value}' (use full, window or summary)")
        options[key] = value or None
        console.print(f"{key}: {escape(value or 'off')}")
        return "keep"
    if name == "/tools":
        names = [] if arg in ("", "off", "none") else [t.strip() for t in arg.split(",")]
        if names:
            from llmapps.chat.tools import build_tools

            build_tools(service.settings, kb=options.get("kb"), names=names)  # checks names
        if current is not None:
            service.configure(current, tools=names)
        options["tools"] = names or None
        console.print(f"tools: {', '.join(names) or 'off'}")
        return "keep"
    if name == "/regen":
        if current is None:
            raise ChatError("nothing to regenerate: send a message first")
        render(service.regenerate(current))
        return "keep"
    if name == "/edit":
        if current is None:
            raise ChatError("nothing to edit: send a message first")
        render(service.edit_last(current, arg))
        return "keep"
    if name == "/export":
        if current is None:
            raise ChatError("nothing to export: send a message or /switch ID first")
        path = _export(service, current, arg)
        console.print(f"exported to {escape(str(path))}")
        return "keep"
    raise ChatError(f"unknown command {name}: type /help")


def _export(service: ChatService, conversation_id: int, target: str) -> Path:
    if not target:
        raise ChatError("usage: /export PATH (.md or .json)")
    path = Path(target).expanduser()
    if path.exists():
        raise ChatError(f"{path} already exists: choose another file name")
    if path.suffix.lower() == ".json":
        text = json.dumps(service.store.export_json(conversation_id), ensure_ascii=False, indent=2)
    else:
        text = service.store.export_markdown(conversation_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _print_conversations(
    service: ChatService, current: int | None = None, as_json: bool = False
) -> None:
    convs = service.store.all()
    rows = [
        [
            f"{conv.id}{'*' if conv.id == current else ''}",
            conv.title or "(untitled)",
            conv.persona or "",
            conv.model or "",
            conv.kb or "",
            conv.updated_at,
        ]
        for conv in convs
    ]
    columns = ("id", "title", "persona", "model", "kb", "updated")
    print_list(columns, rows, as_json=as_json, records=[c.to_dict() for c in convs])


# llmapps conversations ---------------------------------------------------------------------
@conversations_app.command("list")
@handle_errors
def conversations_list(as_json: bool = json_option()) -> None:
    """List saved conversations, newest first."""
    _print_conversations(_service(), as_json=as_json)


@conversations_app.command("search")
@handle_errors
def conversations_search(query: str) -> None:
    """Find conversations whose title or messages contain QUERY."""
    for hit in _service().store.search(query):
        conv = hit["conversation"]
        console.print(
            f"[bold]{conv['id']}[/] {escape(conv['title'])}: {escape(hit['snippet'])}",
            highlight=False,
        )


@conversations_app.command("rename")
@handle_errors
def conversations_rename(conversation_id: int, title: str) -> None:
    """Give conversation ID a new title."""
    conv = _service().store.rename(conversation_id, title)
    console.print(f"{conv.id}: {escape(conv.title)}")


@conversations_app.command("delete")
@handle_errors
def conversations_delete(conversation_id: int) -> None:
    """Delete conversation ID and its messages."""
    _service().store.delete(conversation_id)
    console.print(f"deleted conversation {conversation_id}")


@conversations_app.command("export")
@handle_errors
def conversations_export(conversation_id: int, path: Path) -> None:
    """Write conversation ID to PATH (.md Markdown or .json)."""
    written = _export(_service(), conversation_id, str(path))
    console.print(f"exported to {escape(str(written))}")


# llmapps personas ----------------------------------------------------------------------------
@personas_app.command("list")
@handle_errors
def personas_list(as_json: bool = json_option()) -> None:
    """Shipped and user personas."""
    personas = _service().personas.all()
    rows = [
        [
            p.name,
            p.title,
            p.model or "(default)",
            "yes" if p.kb_only else "",
            p.description,
            "shipped" if p.shipped else "user",
        ]
        for p in personas
    ]
    columns = ("name", "title", "model", "kb only", "description", "source")
    print_list(columns, rows, as_json=as_json, records=[p.to_dict() for p in personas])


@personas_app.command("show")
@handle_errors
def personas_show(name: str) -> None:
    """Print a persona as JSON."""
    console.print_json(json.dumps(_service().personas.get(name).to_dict(), ensure_ascii=False))


def _persona_fields(
    system: str | None,
    model: str | None,
    temperature: float | None,
    max_tokens: int | None,
    kb: str | None,
    kb_only: bool | None,
    handoff: str | None,
    memory: str | None,
    description: str | None,
) -> dict[str, Any]:
    values = {
        "system_prompt": system,
        "model": model,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "kb": kb,
        "kb_only": kb_only,
        "handoff": handoff,
        "memory": memory,
        "description": description,
    }
    return {k: v for k, v in values.items() if v is not None}


SystemOpt = Annotated[str | None, typer.Option("--system", "-s", help="System prompt.")]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Model spec.")]
TempOpt = Annotated[float | None, typer.Option("--temperature", "-t")]
MaxOpt = Annotated[int | None, typer.Option("--max-tokens")]
KbOpt = Annotated[str | None, typer.Option("--kb", help="Knowledge base attached by default.")]
KbOnlyOpt = Annotated[
    bool | None, typer.Option("--kb-only/--no-kb-only", help="Answer only from the KB.")
]
HandoffOpt = Annotated[str | None, typer.Option("--handoff", help="Said when the KB has nothing.")]
MemoryOpt = Annotated[str | None, typer.Option("--memory", help="full | window | summary")]
DescOpt = Annotated[str | None, typer.Option("--description")]


def _persona_command(doc: str, save: Callable[[str, dict[str, Any]], Persona], verb: str) -> Any:
    """One command taking every persona field as an option; ``save(name, fields)`` stores them.

    Why a factory: ``create`` and ``edit`` take the same options, so a new persona field is
    added here once and both commands get it.
    """

    def command(
        name: str,
        system: SystemOpt = None,
        model: ModelOpt = None,
        temperature: TempOpt = None,
        max_tokens: MaxOpt = None,
        kb: KbOpt = None,
        kb_only: KbOnlyOpt = None,
        handoff: HandoffOpt = None,
        memory: MemoryOpt = None,
        description: DescOpt = None,
    ) -> None:
        fields = _persona_fields(
            system, model, temperature, max_tokens, kb, kb_only, handoff, memory, description
        )
        persona = save(name, fields)
        console.print(f"{verb} persona {escape(persona.name)}")

    command.__doc__ = doc
    return handle_errors(command)


def _create_persona(name: str, fields: dict[str, Any]) -> Persona:
    return _service().personas.create({"name": name, **fields})


def _edit_persona(name: str, fields: dict[str, Any]) -> Persona:
    if not fields:
        raise ChatError("nothing to change: pass at least one option (see --help)")
    return _service().personas.update(name, fields)


personas_create = personas_app.command("create")(
    _persona_command("Create persona NAME.", _create_persona, "created")
)
personas_edit = personas_app.command("edit")(
    _persona_command(
        "Change fields of persona NAME (a shipped one is copied into your own).",
        _edit_persona,
        "updated",
    )
)


@personas_app.command("delete")
@handle_errors
def personas_delete(name: str) -> None:
    """Delete your persona NAME (or your edits of a shipped one)."""
    _service().personas.delete(name)
    console.print(f"deleted persona {escape(name)}")
