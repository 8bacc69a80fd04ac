"""``llmapps kb …``: knowledge bases for the chat assistant.

Each command parses its input, calls one function of :mod:`llmapps.chat.kb` and renders the
result (tables, a progress bar while adding, JSON with ``--json``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from llmapps.cli.common import console, err_console, handle_errors, settings
from llmapps.cli.listing import print_json, print_list

kb_app = typer.Typer(
    name="kb",
    help="Knowledge bases for chat: add documents, search them with citations.",
    no_args_is_help=True,
)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[current]}", style="dim"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


def _print_report(report: object) -> None:
    from llmapps.chat.kb import AddReport

    assert isinstance(report, AddReport)
    console.print(
        f"added {len(report.added)} file(s), {report.chunks} chunk(s); "
        f"unchanged {len(report.unchanged)}; failed {len(report.failed)}"
    )
    for name, reason in report.failed:
        err_console.print(f"[yellow]skipped[/] {escape(name)}: {escape(reason)}", highlight=False)
    if report.info is not None and report.info.note:
        err_console.print(f"[dim]note: {escape(report.info.note)}[/]")


@kb_app.command("create")
@handle_errors
def create(name: Annotated[str, typer.Argument(help="knowledge base name")]) -> None:
    """Create an empty knowledge base."""
    from llmapps.chat.kb import create_kb

    create_kb(name, settings=settings())
    console.print(f"created knowledge base [bold]{escape(name)}[/]; add files with 'kb add'")


@kb_app.command("add")
@handle_errors
def add(
    name: Annotated[str, typer.Argument(help="knowledge base name")],
    paths: Annotated[list[Path], typer.Argument(help="files or folders (walked recursively)")],
) -> None:
    """Add PDF, Markdown, text, DOCX and Q&A files or whole folders (unchanged files skipped)."""
    from llmapps.chat.kb import add_paths

    with _progress() as bar:
        task = bar.add_task("indexing", total=None, current="")

        def progress(done: int, total: int, current: str) -> None:
            bar.update(task, completed=done, total=total, current=current)

        report = add_paths(name, paths, progress=progress, settings=settings())
    _print_report(report)
    if report.failed and not report.added and not report.unchanged:
        raise typer.Exit(1)


@kb_app.command("list")
@handle_errors
def list_(
    name: Annotated[str | None, typer.Argument(help="show this knowledge base's files")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List knowledge bases, or the files of one."""
    from llmapps.chat.kb import kb_info, list_kbs

    cfg = settings()
    if name is None:
        infos = [kb_info(n, settings=cfg) for n in list_kbs(cfg)]
        print_list(
            ("name", "files", "chunks", "vectors", "created"),
            [[i.name, len(i.files), i.chunks, i.vectors, i.created_at] for i in infos],
            as_json=as_json,
            records=[asdict(i) for i in infos],
            empty="no knowledge bases yet: create one with 'llmapps kb create NAME'",
        )
        return
    info = kb_info(name, settings=cfg)
    if as_json:
        print_json(asdict(info))
        return
    print_list(
        ("file", "type", "chunks", "bytes", "added"),
        [[f.name, f.kind, f.chunks, f.size, f.added_at] for f in info.files],
        title=info.name,
    )
    vectors = f"{info.vectors} vectors ({info.embed_spec})" if info.vectors else "no vectors"
    console.print(f"{info.chunks} chunks, {vectors}" + (f"; {info.note}" if info.note else ""))


@kb_app.command("remove")
@handle_errors
def remove(
    name: Annotated[str, typer.Argument(help="knowledge base name")],
    file: Annotated[str, typer.Argument(help="file name as listed by 'kb list NAME', or path")],
) -> None:
    """Remove one file (its chunks leave the indexes; the file on disk is untouched)."""
    from llmapps.chat.kb import remove_file

    info = remove_file(name, file, settings=settings())
    console.print(f"removed {escape(file)}; {len(info.files)} file(s), {info.chunks} chunk(s) left")


@kb_app.command("rebuild")
@handle_errors
def rebuild_(name: Annotated[str, typer.Argument(help="knowledge base name")]) -> None:
    """Re-read every file, re-chunk and re-index (after changing chunking or the model)."""
    from llmapps.chat.kb import rebuild

    with _progress() as bar:
        task = bar.add_task("rebuilding", total=None, current="")

        def progress(done: int, total: int, current: str) -> None:
            bar.update(task, completed=done, total=total, current=current)

        report = rebuild(name, progress=progress, settings=settings())
    _print_report(report)


@kb_app.command("delete")
@handle_errors
def delete(
    name: Annotated[str, typer.Argument(help="knowledge base name")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False,
) -> None:
    """Delete a knowledge base and its indexes (source files are untouched)."""
    from llmapps.chat.kb import delete_kb

    if not yes and not typer.confirm(f"delete knowledge base '{name}'?"):
        raise typer.Exit(1)
    delete_kb(name, settings=settings())
    console.print(f"deleted knowledge base {escape(name)}")


@kb_app.command("search")
@handle_errors
def search_(
    name: Annotated[str, typer.Argument(help="knowledge base name")],
    query: Annotated[str, typer.Argument(help="what to look for")],
    k: Annotated[int, typer.Option("-k", help="number of chunks")] = 4,
    mode: Annotated[str, typer.Option("--mode", help="auto, bm25, vector or hybrid")] = "auto",
    min_score: Annotated[
        float | None,
        typer.Option("--min-score", help="drop hits below this score (default: chat.kb_threshold)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Ranked chunks with source file, page/section and score (0..1)."""
    from llmapps.chat.kb import search

    hits = search(name, query, k, settings=settings(), threshold=min_score, mode=mode)
    if as_json:
        console.print_json(json.dumps([asdict(h) for h in hits], ensure_ascii=False))
        return
    if not hits:
        console.print("no chunk scores above the threshold (the knowledge base does not know)")
        return
    for rank, hit in enumerate(hits, start=1):
        where = f", {hit.location}" if hit.location else ""
        console.print(
            f"[bold]{rank}.[/] [cyan]{escape(hit.source)}{escape(where)}[/] score {hit.score:.3f}",
            highlight=False,
        )
        text = hit.text if len(hit.text) <= 400 else hit.text[:400] + "…"
        console.print(escape(text), highlight=False)
        console.print()


def register(app: typer.Typer) -> None:
    """Add the kb commands to the main app."""
    app.add_typer(kb_app, name="kb")
