"""Translator benchmark on a generated 20-page PDF with the embedded model (one run).

Prints, measured side by side in this run:
- pages/min at workers 1 vs 4 (on a page subset, to keep the run short);
- model calls per page: our batching (measured) vs one call per paragraph (the number of
  translatable blocks) vs one call per page (the OpenAI-Translator approach);
- non-model time as a share of the total of a sequential full run (target < 5%);
- rerun time with the cache as a share of the first run (target < 2%).

Usage: .venv/bin/python bench/translate.py [--pages 20] [--subset 3] [--max-tokens 256]
Each measurement uses a fresh data directory, so no run is helped by another's cache.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas

TOPICS = [
    "Rivers carry water from the mountains to the sea.",
    "Farmers plant rice in the spring and harvest it in the autumn.",
    "The library opens at nine and closes at six.",
    "Children learn to read by listening to stories.",
    "Trains connect the large cities of the country.",
    "The museum shows paintings from many centuries.",
]


def make_pdf(path: Path, pages: int) -> Path:
    """``pages`` A4 pages: a heading and three one-sentence paragraphs each (short answers
    keep the embedded model's run to a few minutes)."""
    c = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    for p in range(1, pages + 1):
        c.setFont("Helvetica-Bold", 16)
        c.drawString(60, height - 70, f"Chapter {p}: Daily life")
        y = height - 110
        for k in range(3):
            text = f"Section {p}.{k + 1}. " + TOPICS[(p + k) % len(TOPICS)]
            c.setFont("Helvetica", 10)
            for line in simpleSplit(text, "Helvetica", 10, width - 120):
                c.drawString(60, y, line)
                y -= 12.5
            y -= 14
        c.showPage()
    c.save()
    return path


def _settings(home: Path, workers: int, max_tokens: int):  # type: ignore[no-untyped-def]
    from llmapps.config import load_settings

    os.environ["LLMAPPS_HOME"] = str(home)
    settings = load_settings()
    settings.translate.workers = workers
    settings.translate.max_tokens = max_tokens
    return settings


def run(pdf: Path, root: Path, name: str, workers: int, pages: str | None, max_tokens: int):  # type: ignore[no-untyped-def]
    from llmapps.translate.service import TranslateOptions, translate_file

    home = root / name
    settings = _settings(home, workers, max_tokens)
    options = TranslateOptions(
        target="zh", formats=["pdf"], pages=pages, output_dir=str(root / name / "out")
    )
    started = time.perf_counter()
    first = translate_file(pdf, options, settings=settings)
    first_s = time.perf_counter() - started
    return settings, options, first, first_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--subset", type=int, default=3, help="pages for the workers 1 vs 4 run")
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args()
    os.environ.setdefault("LLMAPPS_MODELS__N_CTX", "2048")

    from llmapps.translate.paragraphs import mark_keep
    from llmapps.translate.parsers import parse_document
    from llmapps.translate.service import translate_file

    with tempfile.TemporaryDirectory(prefix="bench-translate-") as tmp:
        root = Path(tmp)
        pdf = make_pdf(root / "book.pdf", args.pages)
        doc = parse_document(pdf)
        mark_keep(doc.blocks, "zh")
        paragraphs = sum(1 for b in doc.blocks if not b.keep)
        from llmapps.config import load_settings
        from llmapps.translate.batcher import make_batches

        cfg = load_settings().translate
        planned = len(
            make_batches(
                [(str(i), b.text, "") for i, b in enumerate(doc.blocks) if not b.keep],
                cfg.batch_chars,
                cfg.batch_items,
            )
        )
        text_pages = sum(1 for p in doc.pages if any(not b.keep for b in p.blocks))
        print(f"document: {args.pages} pages, {paragraphs} translatable blocks")

        # Warm the model once so loading time is not charged to the first measurement.
        from llmapps.models import get_chat_model

        get_chat_model(max_tokens=4).invoke("hi")

        # 1. Full document, sequential: calls per page, non-model share, cache rerun.
        settings, options, full, full_s = run(pdf, root, "full", 1, None, args.max_tokens)
        p = full.progress
        started = time.perf_counter()
        again = translate_file(pdf, options, settings=settings)
        rerun_s = time.perf_counter() - started
        non_model = max(0.0, full_s - p.model_seconds)

        # 2. pages/min at workers 1 vs 4 on a subset (fresh caches).
        subset = f"1-{min(args.subset, args.pages)}"
        _, _, w1, w1_s = run(pdf, root, "w1", 1, subset, args.max_tokens)
        _, _, w4, w4_s = run(pdf, root, "w4", 4, subset, args.max_tokens)
        n_sub = w1.progress.pages

        print(
            f"\nfull run, workers 1: {full_s:.1f} s, {p.model_calls} model calls "
            f"({p.fallback_calls} batch fallbacks), {p.tokens} tokens"
        )
        print("model calls per page:")
        print(f"  ours (batched, measured)        {p.model_calls / args.pages:6.2f}")
        print(
            f"  ours if every batch parses      {planned / args.pages:6.2f}"
            f"  ({planned} batches of <= {cfg.batch_items} blocks; fallbacks add calls)"
        )
        print(f"  one call per paragraph          {paragraphs / args.pages:6.2f}")
        print(f"  one call per page (OpenAI-Tr.)  {text_pages / args.pages:6.2f}")
        print(
            f"non-model time: {non_model:.2f} s of {full_s:.1f} s = "
            f"{100 * non_model / full_s:.2f}% (target < 5%)"
        )
        print(
            f"rerun with cache: {rerun_s:.3f} s = {100 * rerun_s / full_s:.2f}% of the first "
            f"run (target < 2%); model calls on rerun: {again.progress.model_calls}"
        )
        print(
            f"pages/min on pages {subset} ({n_sub} pages): workers 1 = "
            f"{60 * n_sub / w1_s:.2f}, workers 4 = {60 * n_sub / w4_s:.2f} "
            f"(x{w1_s / w4_s:.2f}); calls {w1.progress.model_calls} vs "
            f"{w4.progress.model_calls}"
        )


if __name__ == "__main__":
    main()
