"""``translate_file``: the one function the CLI, the web tab and the HTTP jobs call.

Flow: parse -> mark kept blocks -> look every block up in the cache -> batch the misses ->
translate them on a worker pool (rate-limited, retried) storing each batch in the cache as it
finishes -> glossary check -> writers. Job state is kept in SQLite throughout, so a run that
stops (error, Ctrl-C, restart) is resumed by running it again: finished batches come from the
cache and only the rest costs model calls.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from llmapps.access import LOCAL, Access
from llmapps.config import Settings, get_settings
from llmapps.errors import LlmappsError
from llmapps.models.guard import check_spec
from llmapps.scrub import scrub
from llmapps.store.db import get_db
from llmapps.translate.batcher import make_batches
from llmapps.translate.cache import TranslationCache, cache_key
from llmapps.translate.chain import PROMPT_VERSION, BatchTranslator, ChainSettings, RateLimiter
from llmapps.translate.document import Document
from llmapps.translate.errors import (
    CorruptFileError,
    EncryptedPdfError,
    PdfLimitError,
    TranslateError,
    UnsupportedFileError,
)
from llmapps.translate.glossary import Glossary, load_glossary
from llmapps.translate.jobs import JobStore
from llmapps.translate.language import detect_language
from llmapps.translate.paragraphs import mark_keep, split_bullet, with_bullet
from llmapps.translate.parsers import parse_document
from llmapps.translate.parsers.worker import ParseLimits
from llmapps.translate.progress import Progress, ProgressCallback, Tracker
from llmapps.translate.writers import FORMATS, PDF_ONLY
from llmapps.translate.writers.pdf import bilingual_pdf, translated_pdf
from llmapps.translate.writers.text import to_markdown, to_text


@dataclass
class TranslateOptions:
    """What to translate and how; ``None`` fields take the ``[translate]`` settings."""

    target: str
    source: str | None = None  # None: detected from the text
    model: str | None = None
    formats: list[str] | None = None
    pages: str | None = None
    glossary: str | None = None  # path of a CSV file
    keep_terms: list[str] = field(default_factory=list)
    style: str = ""
    workers: int | None = None
    requests_per_second: float | None = None
    password: str | None = None
    output_dir: str | None = None
    bilingual_layout: str | None = None
    max_tokens: int | None = None
    ocr: str | None = None  # auto | always | never (None: translate.ocr)

    def public(self) -> dict[str, Any]:
        """The options without the password (what is stored in the job row)."""
        data = asdict(self)
        data.pop("password", None)
        return data


@dataclass
class TranslateResult:
    job_id: str
    document: Document
    outputs: dict[str, Path]
    progress: Progress
    source_lang: str
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def scanned_pages(self) -> list[int]:
        return self.document.scanned_pages


def fingerprint(path: Path, options: TranslateOptions) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    digest.update(json.dumps(options.public(), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def check_request(
    model: str | None, formats: list[str] | None, settings: Settings, access: Access
) -> None:
    """What a caller may ask for, checked before any upload is kept or job is queued: the
    output formats, and for a remote caller (HTTP, web UI) the model spec (403 for files or
    hosts it may not name)."""
    check_spec(model, settings, access)
    check_formats(formats or [])


def check_formats(requested: list[str]) -> None:
    """Raise :class:`TranslateError` naming any unknown output format (the HTTP API checks
    before queueing a job, so the upload is answered 400 rather than failing later)."""
    unknown = [f for f in requested if f not in FORMATS]
    if unknown:
        raise TranslateError(
            f"unknown output format(s) {', '.join(unknown)}: choose from {', '.join(FORMATS)}"
        )


def check_ocr(mode: str | None) -> None:
    """Raise :class:`TranslateError` (400) for an OCR mode other than auto, always, never."""
    if mode and mode not in ("auto", "always", "never"):
        raise TranslateError(f"unknown OCR mode '{mode}': use auto, always or never")


def _formats(requested: list[str], kind: str, notes: list[str]) -> list[str]:
    check_formats(requested)
    chosen = list(dict.fromkeys(requested))
    if kind != "pdf":
        dropped = [f for f in chosen if f in PDF_ONLY]
        chosen = [f for f in chosen if f not in PDF_ONLY]
        if dropped:
            notes.append(f"{', '.join(dropped)} output needs a PDF input; skipped")
        if not chosen:
            chosen = [kind]
    return chosen


def _output_paths(path: Path, target: str, formats: list[str], out_dir: Path) -> dict[str, Path]:
    names = {
        "pdf": f"{path.stem}.{target}.pdf",
        "bilingual": f"{path.stem}.{target}.bilingual.pdf",
        "md": f"{path.stem}.{target}.md",
        "txt": f"{path.stem}.{target}.txt",
    }
    outputs = {f: out_dir / names[f] for f in formats}
    for fmt, out in outputs.items():
        if out.resolve() == path.resolve():
            outputs[fmt] = out_dir / f"{path.stem}.translated{out.suffix}"
    return outputs


#: Errors of the input itself: running the job again cannot help.
INPUT_ERRORS = (UnsupportedFileError, CorruptFileError, EncryptedPdfError, PdfLimitError)


def parse_limits(settings: Settings) -> ParseLimits:
    """The ``[translate]`` parsing limits."""
    cfg = settings.translate
    return ParseLimits(
        max_pages=cfg.max_pages,
        max_decompressed_mb=cfg.max_decompressed_mb,
        page_time_s=cfg.page_time_s,
        memory_mb=cfg.parse_memory_mb,
        idle_s=cfg.parse_idle_s,
        workers=cfg.parse_workers,
    )


def translate_file(
    path: str | Path,
    options: TranslateOptions,
    *,
    settings: Settings | None = None,
    model: BaseChatModel | None = None,
    progress: ProgressCallback | None = None,
    job_id: str | None = None,
    access: Access = LOCAL,
) -> TranslateResult:
    """Translate ``path`` into ``options.target`` and write the requested formats.

    ``model`` overrides the spec (tests and benchmarks pass a ready model); ``job_id`` resumes
    or names a job (the HTTP API creates the row first); ``access`` says who asks (a remote
    caller may only name the models the guard allows). Raises :class:`LlmappsError`.
    """
    settings = settings or get_settings()
    check_request(options.model, options.formats, settings, access)
    path = Path(path)
    if not options.target or not options.target.strip():
        raise TranslateError("no target language: give one with --to (e.g. --to zh)")
    if not path.is_file():
        raise TranslateError(f"{path}: file not found: check the path")
    db = get_db(settings)
    jobs = JobStore(db)
    fp = fingerprint(path, options)
    if job_id is not None and jobs.get(job_id) is None:
        jobs.create(str(path), options.public(), fp, job_id=job_id)
    elif job_id is None:
        existing = jobs.find_unfinished(fp)
        job_id = (existing or jobs.create(str(path), options.public(), fp)).id
    tracker = Tracker(progress)
    last_saved = [0.0]

    def save(force: bool = False) -> None:
        now = time.monotonic()
        if force or now - last_saved[0] > 0.5:
            last_saved[0] = now
            jobs.update(job_id, progress=tracker.progress.as_dict())  # type: ignore[arg-type]

    jobs.update(job_id, status="running", error="")
    try:
        result = _run(path, options, settings, model, tracker, job_id, save)
    except LlmappsError as exc:
        tracker.update(stage="failed", message=str(exc))
        # A bad input fails the same way every time: "failed" is not resumed at start-up.
        status = "failed" if isinstance(exc, INPUT_ERRORS) else "interrupted"
        jobs.update(job_id, status=status, progress=tracker.progress.as_dict(), error=str(exc))
        raise
    except BaseException as exc:
        message = (  # stored in the job row: no known secret value in it
            f"translation stopped ({type(exc).__name__}: {scrub(str(exc))}) after "
            f"{tracker.progress.blocks_done} of {tracker.progress.blocks_total} blocks: "
            "run it again to resume (finished blocks are cached)"
        )
        tracker.update(stage="failed", message=message)
        jobs.update(
            job_id, status="interrupted", progress=tracker.progress.as_dict(), error=message
        )
        if isinstance(exc, Exception):
            raise TranslateError(message) from exc
        raise
    jobs.update(
        job_id,
        status="done",
        progress=tracker.progress.as_dict(),
        outputs={k: str(v) for k, v in result.outputs.items()},
    )
    return result


def _run(
    path: Path,
    options: TranslateOptions,
    settings: Settings,
    model: BaseChatModel | None,
    tracker: Tracker,
    job_id: str,
    save: Any,
) -> TranslateResult:
    cfg = settings.translate
    notes: list[str] = []
    tracker.update(stage="parsing", message=f"reading {path.name}")
    formats = _formats(options.formats or list(cfg.formats), "pdf", notes)
    ocr = options.ocr or cfg.ocr
    check_ocr(ocr)
    doc = parse_document(
        path,
        password=options.password,
        pages=options.pages,
        ocr=ocr,
        layout_model=cfg.layout_model,
        limits=parse_limits(settings),
    )
    formats = _formats(formats, doc.kind, notes)
    glossary = load_glossary(
        Path(options.glossary) if options.glossary else None, options.keep_terms
    )
    target = options.target.strip()
    source = (options.source or "").strip() or detect_language(
        " ".join(b.text for b in doc.blocks[:200])
    )
    pair = (source.split("-")[0].lower(), target.split("-")[0].lower())
    # Nothing is "already in the target's script" when source and target share it: same
    # language, or Japanese into Chinese (a heading of kanji alone is still Japanese).
    shared = pair[0] == pair[1] or pair == ("ja", "zh")
    mark_keep(doc.blocks, "" if shared else target)
    notes.extend(parse_notes(doc, cfg.layout_model))
    blocks = doc.blocks
    kept = sum(1 for b in blocks if b.keep)
    tracker.update(
        stage="translating",
        pages=len(doc.pages),
        blocks_total=len(blocks),
        blocks_kept=kept,
        blocks_done=kept,
        scanned_pages=doc.scanned_pages,
        ocr_pages=[p.number for p in doc.pages if p.ocr],
        layout_fallback_pages=(
            [p.number for p in doc.pages if p.layout == "rules"]
            if cfg.layout_model and doc.kind == "pdf"
            else []
        ),
        message="",
    )
    spec = options.model or cfg.model or settings.models.default
    model_name = spec if model is None else f"{spec}|{type(model).__name__}"
    if model is not None and getattr(model, "model_name", None):
        model_name = f"{model_name}:{getattr(model, 'model_name', '')}"
    key_of = {
        id(b): cache_key(
            model_name,
            source,
            target,
            PROMPT_VERSION,
            glossary.digest,
            options.style,
            split_bullet(b.text)[1],
        )
        for b in blocks
        if not b.keep
    }
    cache = TranslationCache(get_db(settings))
    cached = cache.get_many(sorted(set(key_of.values())))
    todo: dict[str, tuple[str, str]] = {}  # key -> (text, previous)
    previous = ""
    hits = 0
    for block in blocks:
        if not block.keep:
            key = key_of[id(block)]
            if key in cached:
                block.translation = with_bullet(block.text, cached[key])
                hits += 1
            elif key not in todo:
                todo[key] = (split_bullet(block.text)[1], previous)
        previous = block.text
    tracker.add(cache_hits=hits, blocks_done=hits)
    save(True)
    if todo:
        if model is None:
            from llmapps.models import get_chat_model

            model = get_chat_model(
                spec,
                app="translate",
                settings=settings,
                max_tokens=options.max_tokens or cfg.max_tokens,
                temperature=0.0,  # translations should be repeatable (and cacheable)
                seed=0,
            )
        translated = _translate(
            todo,
            model,
            source,
            target,
            doc.title,
            options,
            settings,
            glossary,
            tracker,
            cache,
            model_name,
            save,
        )
        by_key_count: dict[str, int] = {}
        for block in blocks:
            if not block.keep and block.translation is None:
                key = key_of[id(block)]
                found = translated.get(key)
                block.translation = None if found is None else with_bullet(block.text, found)
                by_key_count[key] = by_key_count.get(key, 0) + 1
        # Duplicated texts were translated once; count their other blocks as done too.
        extra = sum(c - 1 for c in by_key_count.values())
        if extra:
            tracker.add(blocks_done=extra)
    violations = _check_glossary(doc, glossary)
    tracker.update(stage="writing", glossary_violations=len(violations))
    save(True)
    out_dir = Path(options.output_dir) if options.output_dir else path.parent
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = _output_paths(path, target, formats, out_dir)
    _write(doc, outputs, options, settings)
    unfit = [b for b in doc.blocks if b.meta.get("unfit")]
    unfit_pages = sorted({b.page for b in unfit})
    if unfit:
        notes.append(
            f"{len(unfit)} unit(s) did not fit their box and keep the source text "
            f"(page(s) {', '.join(str(n) for n in unfit_pages)})"
        )
    tracker.update(
        stage="done",
        unfit_units=len(unfit),
        unfit_pages=unfit_pages,
        message=f"wrote {', '.join(p.name for p in outputs.values())}",
    )
    return TranslateResult(
        job_id=job_id,
        document=doc,
        outputs=outputs,
        progress=tracker.progress,
        source_lang=source,
        violations=violations,
        notes=notes,
    )


def parse_notes(doc: Document, layout_model: bool) -> list[str]:
    """What the job summary says about parsing: OCR'd, skipped and rule-parsed pages."""
    notes = []

    def pages(numbers: list[int]) -> str:
        return ", ".join(str(n) for n in numbers)

    if doc.scanned_pages:
        notes.append(
            "scanned page(s) without a text layer, not translated (use --ocr auto): "
            + pages(doc.scanned_pages)
        )
    ocr_pages = [p.number for p in doc.pages if p.ocr]
    if ocr_pages:
        notes.append(f"page(s) read by OCR: {pages(ocr_pages)}")
    off = [p.number for p in doc.pages if p.layer_off]
    if off:
        notes.append(f"text layer beside the printed words, read by OCR instead: {pages(off)}")
    if layout_model and doc.kind == "pdf":
        fallback = [p.number for p in doc.pages if p.layout == "rules"]
        if fallback:
            notes.append(f"layout analysis failed on page(s) {pages(fallback)}: used the rules")
    return notes


def _translate(
    todo: dict[str, tuple[str, str]],
    model: BaseChatModel,
    source: str,
    target: str,
    title: str,
    options: TranslateOptions,
    settings: Settings,
    glossary: Glossary,
    tracker: Tracker,
    cache: TranslationCache,
    model_name: str,
    save: Any,
) -> dict[str, str]:
    cfg = settings.translate
    items = [(key, text, prev) for key, (text, prev) in todo.items()]
    batches = make_batches(items, cfg.batch_chars, max(1, cfg.batch_items))
    translator = BatchTranslator(
        model,
        ChainSettings(
            source=source,
            target=target,
            style=options.style,
            title=title,
            retries=cfg.retries,
            retry_wait=cfg.retry_wait_s,
            max_tokens=options.max_tokens or cfg.max_tokens,
        ),
        glossary,
        tracker,
        RateLimiter(
            options.requests_per_second
            if options.requests_per_second is not None
            else cfg.requests_per_second
        ),
    )
    results: dict[str, str] = {}
    workers = max(1, options.workers or cfg.workers)

    def run(batch: Any) -> None:
        out = translator.translate(batch.texts, batch.previous)
        cache.put_many(
            [
                (key, model_name, source, target, text, translation)
                for key, text, translation in zip(batch.keys, batch.texts, out, strict=True)
            ]
        )
        results.update(zip(batch.keys, out, strict=True))
        tracker.add(blocks_done=len(batch.keys))
        save()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="translate") as pool:
        futures = [pool.submit(run, batch) for batch in batches]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in done:
            exc = future.exception()
            if exc is not None:
                pool.shutdown(wait=True, cancel_futures=True)
                raise exc
    return results


def _check_glossary(doc: Document, glossary: Glossary) -> list[str]:
    if not glossary:
        return []
    violations: list[str] = []
    for block in doc.blocks:
        if block.keep or not block.translation:
            continue
        fixed, problems = glossary.check(block.text, block.translation)
        block.translation = fixed
        violations.extend(f"page {block.page}: {p}" for p in problems)
    return violations


def _write(
    doc: Document, outputs: dict[str, Path], options: TranslateOptions, settings: Settings
) -> None:
    cfg = settings.translate
    translated: bytes | None = None
    for fmt, out in outputs.items():
        tmp = out.with_name(out.name + ".part")
        if fmt in PDF_ONLY:
            if translated is None:
                translated = translated_pdf(doc, options.password, cfg.font_path)
            data = (
                translated
                if fmt == "pdf"
                else bilingual_pdf(
                    doc,
                    translated,
                    options.bilingual_layout or cfg.bilingual_layout,
                    options.password,
                )
            )
            tmp.write_bytes(data)
        elif fmt == "md":
            tmp.write_text(to_markdown(doc), encoding="utf-8")
        else:
            tmp.write_text(to_text(doc), encoding="utf-8")
        tmp.replace(out)
