"""``llmapps translate FILE --to zh``: parse options, call ``translate_file``, show progress."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from llmapps.cli.common import console, err_console, handle_errors, settings


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""

    @app.command("translate")
    @handle_errors
    def translate(
        file: Path = typer.Argument(..., help="PDF, Markdown or text file to translate"),
        to: str = typer.Option(
            None, "--to", "-t", help="target language, e.g. zh, en, ja (default: translate.target)"
        ),
        source: str = typer.Option(None, "--from", "-f", help="source language (auto if omitted)"),
        model: str = typer.Option(None, "--model", "-m", help="model spec, e.g. local:smollm2"),
        formats: str = typer.Option(
            None, "--format", help="comma list of pdf, bilingual, md, txt (default from config)"
        ),
        pages: str = typer.Option(None, "--pages", "-p", help="page range, e.g. 1-3,7,10-"),
        glossary: Path = typer.Option(None, "--glossary", "-g", help="CSV: source,target"),
        keep: str = typer.Option(None, "--keep", help="comma list of terms never translated"),
        style: str = typer.Option("", "--style", help="e.g. formal, literary, technical"),
        workers: int = typer.Option(None, "--workers", "-w", help="parallel model calls"),
        rps: float = typer.Option(None, "--rps", help="most model requests per second"),
        password: str = typer.Option(None, "--password", help="password of an encrypted PDF"),
        output: Path = typer.Option(None, "--output", "-o", help="output folder"),
        layout: str = typer.Option(None, "--bilingual-layout", help="side | alternate"),
        preview: Path = typer.Option(
            None, "--preview", help="folder for PNGs of original and translated pages (PDF)"
        ),
        ocr: str = typer.Option(
            None,
            "--ocr",
            help="auto (pages without a text layer) | always | never (default: translate.ocr)",
        ),
    ) -> None:
        """Translate a document into another language, keeping its layout (resumable)."""
        from llmapps.translate.progress import Progress as TProgress
        from llmapps.translate.service import TranslateOptions, translate_file

        cfg = settings()
        target = to or cfg.translate.target
        options = TranslateOptions(
            target=target,
            source=source,
            model=model,
            formats=[f.strip() for f in formats.split(",") if f.strip()] if formats else None,
            pages=pages,
            glossary=str(glossary) if glossary else None,
            keep_terms=[k.strip() for k in keep.split(",")] if keep else [],
            style=style,
            workers=workers,
            requests_per_second=rps,
            password=password,
            output_dir=str(output) if output else None,
            bilingual_layout=layout,
            ocr=ocr,
        )
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
        )
        if preview is not None:
            check_preview(file, options.formats or list(cfg.translate.formats), preview)
        with Progress(*columns, console=err_console, transient=False) as bar:
            task = bar.add_task("parsing", total=None, stats="")

            def show(p: TProgress) -> None:
                stats = (
                    f"pages {p.pages} · blocks {p.blocks_done}/{p.blocks_total} · "
                    f"cache {p.cache_hits} · calls {p.model_calls} · tokens {p.tokens}"
                )
                bar.update(
                    task,
                    description=p.stage,
                    total=p.blocks_total or None,
                    completed=p.blocks_done,
                    stats=stats,
                )

            result = translate_file(file, options, settings=cfg, progress=show)
        for note in result.notes:
            err_console.print(f"[yellow]note:[/] {note}", highlight=False)
        for violation in result.violations[:20]:
            err_console.print(f"[yellow]glossary:[/] {violation}", highlight=False)
        p = result.progress
        console.print(
            f"translated {p.blocks_done - p.blocks_kept} block(s), kept {p.blocks_kept}, "
            f"{p.cache_hits} from cache, {p.model_calls} model call(s), {p.tokens} tokens "
            f"({result.source_lang} -> {target}, job {result.job_id})",
            highlight=False,
        )
        for fmt, out in result.outputs.items():
            console.print(f"{fmt}: {out}", highlight=False, soft_wrap=True)
        if preview is not None:
            from llmapps.translate.errors import TranslateError
            from llmapps.translate.preview import write_previews

            numbers = [page.number for page in result.document.pages]
            try:
                written = write_previews(
                    file, result.outputs["pdf"], preview, numbers, password=password
                )
            except OSError as exc:
                raise TranslateError(
                    f"cannot write the preview to {preview} ({exc.strerror or exc}): "
                    "choose another folder with --preview"
                ) from None
            console.print(
                f"preview: {len(written) // 2} page(s) as PNG in {preview}",
                highlight=False,
                soft_wrap=True,
            )


def check_preview(file: Path, formats: list[str], folder: Path) -> None:
    """``--preview`` renders the translated PDF: fail before any model call when there is none."""
    from llmapps.translate.errors import TranslateError
    from llmapps.translate.parsers import detect_kind

    if file.is_file() and detect_kind(file) != "pdf":
        raise TranslateError(f"{file.name}: --preview needs a PDF input: drop --preview")
    if "pdf" not in formats:
        raise TranslateError("--preview renders the translated PDF: add pdf to --format")
    if folder.exists() and not folder.is_dir():
        raise TranslateError(f"--preview {folder}: not a folder: give a folder for the PNGs")
