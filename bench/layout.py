"""Layout benchmark: the translator's real pipeline over real-world PDFs, judged by geometry.

Each document of the corpus (``make corpus``: PDFs from the sdists of ocrmypdf, tabula-py,
pikepdf and pdfminer.six) goes through ``translate_file`` exactly as ``llmapps translate``
runs it (parse -> units -> batched model calls -> typeset -> write), with a pseudo-translator
model on loopback (``bench/tools/pseudo_translator.py``: a perfect, predictable
"translation"), so what is
measured is the layout engine, not a model's wording. Printed per document (definitions in
``bench/tools/layout_metrics.py``):

- collisions: share of output characters drawn over another line (worst page, and document);
- numbers kept: standalone numbers (cells, counts, codes) still at their place;
- untranslated: the source's 4+ letter words still in the output;
- off-page: characters the translation put off the page (beyond the source's own);
- layout s/page: parse + typeset + write CPU time per page (stages timed from the job's
  progress events, plus the CPU time the parse worker process spent meanwhile, read from
  /proc for the warm child and from the reaped children's times for any child that ended;
  model calls excluded; CPU time, so a busy machine does not inflate it), then the same as
  wall-clock time ("wall");
- the parse worker's start-up (imports, layout model) is printed once on its own line: it is
  paid once per server or CLI run (the child stays warm between jobs), and it is included in
  the "all" line. ``--cold`` starts a fresh child for every document instead (the cost a
  one-shot run pays), so its per-document figures include the start-up;
- calls: model calls against one call per translated unit ("one per paragraph");
- unfit: units left in the source language because they could not be placed.

Then a 300-page document made by repeating the corpus's text pages is translated in a child
process whose peak resident memory is reported.

Targets (issue 9): collisions <= 0.5% on every page, no char off the page, numbers kept >= 95%,
untranslated <= 5%, layout <= 1.0 s/page, RSS <= 1.5 GB on 300 pages, calls <= 1/3.

Long documents are cut to their first ``--max-pages`` pages (default 4; 0 = all), so one run
over the whole corpus stays within minutes on two cores; the figures are per translated page.

Usage: python bench/layout.py [--docs NAME,...] [--max-pages 4] [--rss-pages 300] [--no-rss]
       [--keep DIR] [--cold]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tools.layout_metrics import Figures, measure  # noqa: E402
from bench.tools.pseudo_translator import PseudoTranslator  # noqa: E402

CORPUS = ROOT / ".cache" / "corpus"
DOCUMENTS = [
    "tabula-py/12s0324.pdf",  # statistics table with dot leaders, two tables on a page
    "tabula-py/MultiColumn.pdf",  # three-column register
    "tabula-py/campaign_donors.pdf",  # wide form-like table
    "tabula-py/data.pdf",  # ruled numeric tables, three pages
    "tabula-py/data_dtype.pdf",  # a bill cut out of an A4 sheet: text off the page, inline image
    "ocrmypdf/linn.pdf",  # scanned page (OCR)
    "ocrmypdf/francais.pdf",  # scanned French
    "ocrmypdf/c03-29.pdf",  # scanned form
    "ocrmypdf/rotated_skew.pdf",  # /Rotate 90 scan
    "ocrmypdf/skew.pdf",  # skewed scan
    "ocrmypdf/toc.pdf",  # text with an image
    "ocrmypdf/graph_ocred.pdf",  # OCR text layer over a chart
    "ocrmypdf/cmyk.pdf",  # a font whose Unicode map has its bytes swapped
    "pikepdf/congress.pdf",  # scanned
    "pikepdf/fourpages.pdf",  # four simple text pages
    "pikepdf/sandwich.pdf",  # invisible OCR text over a scan
    "pdfminer.six/naacl06-shinyama.pdf",  # two-column paper with tables and figures
    "pdfminer.six/f1040nr.pdf",  # IRS tax form: boxes, labels, amounts
    "pdfminer.six/i1040nr.pdf",  # IRS instructions: multi-column, legal-size pages
    "pdfminer.six/dmca.pdf",  # long legal text, numbered sections
    "pdfminer.six/nlp2004slides.pdf",  # landscape slides
    "pdfminer.six/jo.pdf",  # landscape page
    "pdfminer.six/kampo.pdf",  # Japanese source text
    "pypdf/Seige_of_Vicksburg_Sample_OCR.pdf",  # book scan with an OCR layer, text around a picture
    "pypdf/indirect-rotation.pdf",  # scan whose OCR layer lies beside the print (OCR'd again)
    "pdfreader/example-form.pdf",  # filled federal form: hidden 1 pt text, check marks
    "pdfreader/example-text-crash-report.pdf",  # dense state crash-report form
]
#: The one-page scan the warm-up OCRs (:func:`warm_up`).
OCR_WARM_UP = "ocrmypdf/francais.pdf"
# Pages with a text layer, repeated into the memory test's long document.
RSS_SOURCES = [
    "tabula-py/12s0324.pdf",
    "tabula-py/MultiColumn.pdf",
    "tabula-py/campaign_donors.pdf",
    "tabula-py/data.pdf",
    "pikepdf/fourpages.pdf",
]
SUMMED = ("chars", "collided", "numbers", "numbers_kept", "words", "words_left", "outside")
TARGETS = {
    "collisions": 0.005,
    "numbers": 0.95,
    "untranslated": 0.05,
    "seconds_per_page": 1.0,
    "rss_mb": 1536.0,
    "calls_ratio": 1 / 3,
    "ocr_placed": 0.9,
}


@dataclass
class Run:
    name: str
    pages: int
    units: int
    kept: int
    calls: int
    unfit: int
    layout_s: float
    total_s: float
    figures: Figures | None
    error: str = ""
    layout_wall_s: float = 0.0
    ocr_pages: int = 0
    ocr_units: int = 0  # units read by OCR
    ocr_placed: int = 0  # of those, drawn in place (translated, or kept as read), not unfit


def corpus_path(name: str) -> Path:
    path = CORPUS / name
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run make corpus")
    return path


def translate(
    pdf: Path, spec: str, home: Path, out: Path, pages: str | None = None
) -> tuple[Any, float, float, float]:
    """Run the real pipeline on ``pdf``; returns (result, layout CPU seconds, total CPU
    seconds, layout wall seconds)."""
    os.environ["LLMAPPS_HOME"] = str(home)
    os.environ.setdefault("OPENAI_COMPATIBLE_API_KEY", "bench")
    from llmapps.config import get_settings
    from llmapps.translate.parsers.worker import POOL
    from llmapps.translate.progress import Progress
    from llmapps.translate.service import TranslateOptions, translate_file

    marks: dict[str, float] = {}
    walls: dict[str, float] = {}

    def on_progress(p: Progress) -> None:
        # CPU time of this process: the machine may be shared, and the stages timed here run
        # on this thread (the model calls in between are not counted).
        marks.setdefault(p.stage, time.process_time())
        walls.setdefault(p.stage, time.perf_counter())

    started = time.process_time()
    wall_started = time.perf_counter()
    children_before = POOL.cpu_seconds()
    result = translate_file(
        pdf,
        TranslateOptions(
            target="zh",
            source="en",
            model=spec,
            formats=["pdf"],
            output_dir=str(out),
            pages=pages,
        ),
        settings=get_settings(),
        progress=on_progress,
    )
    ended = time.process_time()
    wall_ended = time.perf_counter()
    # The parse runs in a child process (capped, cancellable, kept warm): its CPU time counts.
    children = POOL.cpu_seconds() - children_before
    parse = marks.get("translating", ended) - marks.get("parsing", started) + children
    write = ended - marks.get("writing", ended)
    wall = (walls.get("translating", wall_ended) - walls.get("parsing", wall_started)) + (
        wall_ended - walls.get("writing", wall_ended)
    )
    return result, parse + write, ended - started + children, wall


def warm_up() -> tuple[float, float]:
    """Start the parse worker once (as the first job of a server or CLI run does) and have it
    OCR one small scan, so the OCR engine's load and first runs (about 1 s, paid once per
    worker) are not charged to the first scanned document's pages; returns the (CPU, wall)
    seconds of both."""
    from llmapps.config import get_settings
    from llmapps.translate.parsers.worker import POOL, parse_pdf_isolated
    from llmapps.translate.service import parse_limits

    cpu, wall = POOL.cpu_seconds(), time.perf_counter()
    limits = parse_limits(get_settings())
    POOL.warm_up(limits, preload=get_settings().translate.layout_model)
    parse_pdf_isolated(corpus_path(OCR_WARM_UP), pages="1", limits=limits)
    return POOL.cpu_seconds() - cpu, time.perf_counter() - wall


def run_document(name: str, spec: str, work: Path, max_pages: int = 0) -> Run:
    pdf = corpus_path(name)
    stem = name.replace("/", "_").removesuffix(".pdf")
    pages = f"1-{max_pages}" if max_pages > 0 else None
    try:
        result, layout_s, total_s, wall_s = translate(
            pdf, spec, work / stem / "home", work / stem, pages
        )
    except Exception as exc:  # a failure is a figure too: print it and go on
        return Run(name, 0, 0, 0, 0, 0, 0.0, 0.0, None, f"{type(exc).__name__}: {exc}")
    doc = result.document
    p = result.progress
    figures = measure(pdf, result.outputs["pdf"], [page.number for page in doc.pages])
    return Run(
        name,
        len(doc.pages),
        len(doc.blocks),
        sum(1 for b in doc.blocks if b.keep),
        p.model_calls,
        p.unfit_units,
        layout_s,
        total_s,
        figures,
        layout_wall_s=wall_s,
        ocr_pages=sum(1 for page in doc.pages if page.ocr),
        ocr_units=len(ocr_units := [b for b in doc.blocks if b.meta.get("ocr")]),
        ocr_placed=sum(1 for b in ocr_units if not b.meta.get("unfit")),
    )


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{value * 100:5.1f}%"


def _mark(ok: bool) -> str:
    return " " if ok else "!"


def report(runs: list[Run], startup: tuple[float, float] | None = None) -> bool:
    """Print one line per document and the totals; True when every target is met.

    ``startup``: the warm parse worker's (CPU, wall) start-up seconds, paid once for the run."""
    print(
        f"{'document':32} {'pages':>5} {'ocr':>3} {'units':>5} {'coll.worst':>10} {'coll.doc':>8} "
        f"{'numbers':>8} {'untransl':>8} {'offpage':>7} {'s/page':>7} {'wall':>6} {'pages/s':>7}"
        f" {'calls':>11} {'unfit':>5}"
    )
    all_ok = True
    totals = Figures()
    pages = calls = paragraphs = 0
    layout_s = wall_s = 0.0
    by_kind = {"text": [0, 0.0, 0.0], "ocr": [0, 0.0, 0.0]}  # pages, CPU s, wall s
    ocr_units = ocr_placed = 0
    ocr_worst: tuple[float, str] | None = None
    for run in runs:
        if run.figures is None:
            print(f"{run.name:32} FAILED {run.error}")
            all_ok = False
            continue
        f = run.figures
        paragraphs_here = run.units - run.kept
        ratio = run.calls / paragraphs_here if paragraphs_here else 0.0
        per_page = run.layout_s / run.pages if run.pages else 0.0
        checks = {
            "coll": (f.worst_page or 0) <= TARGETS["collisions"],
            "num": f.kept is None or f.kept >= TARGETS["numbers"],
            "untr": f.untranslated is None or f.untranslated <= TARGETS["untranslated"],
            "off": f.outside == 0,
            "time": per_page <= TARGETS["seconds_per_page"],
            "calls": ratio <= TARGETS["calls_ratio"] or run.calls <= 1,
        }
        all_ok &= all(checks.values())
        m = {key: _mark(value) for key, value in checks.items()}
        wall_page = run.layout_wall_s / run.pages if run.pages else 0.0
        print(
            f"{run.name:32} {run.pages:5d} {run.ocr_pages:3d} {run.units:5d}"
            f" {_pct(f.worst_page):>9}{m['coll']}"
            f" {_pct(f.collisions):>8} {_pct(f.kept):>7}{m['num']}"
            f" {_pct(f.untranslated):>7}{m['untr']} {f.outside:6d}{m['off']}"
            f" {per_page:6.2f}{m['time']} {wall_page:6.2f} {1 / max(per_page, 1e-9):7.2f}"
            f" {run.calls:4d}/{paragraphs_here:<4d}{ratio:4.2f}{m['calls']} {run.unfit:5d}"
        )
        if run.ocr_units:
            ocr_units += run.ocr_units
            ocr_placed += run.ocr_placed
            share = run.ocr_placed / run.ocr_units
            if ocr_worst is None or share < ocr_worst[0]:
                ocr_worst = (share, run.name)
        kind = by_kind["ocr" if run.ocr_pages else "text"]
        kind[0] += run.pages
        kind[1] += run.layout_s
        kind[2] += run.layout_wall_s
        for key in SUMMED:
            setattr(totals, key, getattr(totals, key) + getattr(f, key))
        totals.page_collisions.extend(f.page_collisions)
        pages += run.pages
        calls += run.calls
        paragraphs += paragraphs_here
        layout_s += run.layout_s
        wall_s += run.layout_wall_s
    if startup is not None:
        layout_s += startup[0]
        wall_s += startup[1]
    print(
        f"{'all':32} {pages:5d} {'':3} {'':5} {_pct(totals.worst_page):>9}"
        f"  {_pct(totals.collisions):>8}"
        f" {_pct(totals.kept):>7}  {_pct(totals.untranslated):>7}  {totals.outside:6d}"
        f"  {layout_s / max(pages, 1):6.2f}  {wall_s / max(pages, 1):6.2f}"
        f" {pages / max(layout_s, 1e-9):7.2f} {calls:4d}/{paragraphs:<4d} "
        f"{calls / max(paragraphs, 1):4.2f}"
    )
    for name, (n, cpu, wall) in by_kind.items():
        if n:
            print(
                f"  documents with{'' if name == 'ocr' else 'out'} OCR pages: {n} pages, "
                f"layout {cpu / n:.2f} s CPU/page, {wall / n:.2f} s wall/page, "
                f"{n / max(cpu, 1e-9):.2f} pages/s (CPU)"
            )
    if ocr_worst is not None:
        ok = ocr_worst[0] >= TARGETS["ocr_placed"]
        all_ok &= ok
        print(
            f"  OCR'd units drawn in place: {ocr_placed} of {ocr_units} "
            f"({ocr_placed / ocr_units:.1%}); worst document {ocr_worst[0]:.1%}{_mark(ok)} "
            f"({ocr_worst[1]})"
        )
    if startup is not None:
        print(
            f"  parse worker start-up and OCR engine load (once per run, kept warm; in 'all' "
            f"above): "
            f"{startup[0]:.2f} s CPU, {startup[1]:.2f} s wall"
        )
    print("('!' marks a figure that misses its target; s/page is CPU, wall is wall-clock)")
    return all_ok


def make_long_pdf(path: Path, pages: int) -> Path:
    """``pages`` pages made by repeating the corpus's text pages."""
    from pypdf import PdfReader, PdfWriter

    sources = [PdfReader(corpus_path(name)) for name in RSS_SOURCES]
    flat = [page for reader in sources for page in reader.pages]
    writer = PdfWriter()
    for i in range(pages):
        writer.add_page(flat[i % len(flat)])
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def rss_child(pdf: Path, spec: str, work: Path) -> None:
    """In a child process: translate ``pdf``, print JSON with timings and peak RSS."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    result, layout_s, total_s, _wall = translate(pdf, spec, work / "home", work / "out")
    from llmapps.translate.parsers.worker import POOL

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # The parse child's own peak: the warm one is still alive (its /proc status), any child
    # that ended is in RUSAGE_CHILDREN.
    worker_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    for pid in POOL.pids()["idle"]:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                worker_kb = max(worker_kb, int(line.split()[1]))
    print(
        json.dumps(
            {
                "pages": len(result.document.pages),
                "layout_s": layout_s,
                "total_s": total_s,
                "rss_mb": (peak_kb + worker_kb) / 1024,
                "worker_rss_mb": worker_kb / 1024,
                "calls": result.progress.model_calls,
                "unfit": result.progress.unfit_units,
            }
        )
    )


def rss_check(spec: str, work: Path, pages: int) -> bool:
    pdf = make_long_pdf(work / f"long-{pages}.pdf", pages)
    child = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(pdf), "--spec", spec, "--work", str(work)],
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        print(f"{pages}-page document: FAILED\n{child.stderr[-2000:]}")
        return False
    data = json.loads(child.stdout.strip().splitlines()[-1])
    per_page = data["layout_s"] / max(data["pages"], 1)
    ok = data["rss_mb"] <= TARGETS["rss_mb"] and per_page <= TARGETS["seconds_per_page"]
    print(
        f"{data['pages']}-page document: peak RSS {data['rss_mb']:.0f} MB, parse worker's "
        f"{data['worker_rss_mb']:.0f} MB included (target <= "
        f"{TARGETS['rss_mb']:.0f}), layout {per_page:.2f} s/page, {data['calls']} model calls, "
        f"{data['unfit']} unfit units{'' if ok else '  !'}"
    )
    return bool(ok)


def main() -> None:
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # broken xref notes of corpus files
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", help="comma list of corpus paths (default: all)")
    parser.add_argument(
        "--max-pages", type=int, default=4, help="first pages per document (0: all)"
    )
    parser.add_argument("--rss-pages", type=int, default=300)
    parser.add_argument("--no-rss", action="store_true")
    parser.add_argument("--keep", help="folder to keep the outputs in (default: a temp folder)")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="a fresh parse worker for every document (a one-shot run's cost)",
    )
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(Path(args.rss_child), args.spec, Path(args.work))
        return
    if not CORPUS.is_dir():
        raise SystemExit(f"{CORPUS} is missing: run make corpus")
    names = [n.strip() for n in args.docs.split(",")] if args.docs else DOCUMENTS
    if args.cold:  # no warm child: each parse starts (and pays for) its own
        os.environ["LLMAPPS_TRANSLATE__PARSE_IDLE_S"] = "0"
    with tempfile.TemporaryDirectory(prefix="bench-layout-") as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        os.environ["LLMAPPS_HOME"] = str(work / "warm-up")
        startup = None if args.cold else warm_up()
        with PseudoTranslator() as server:
            runs = [run_document(name, server.spec, work, args.max_pages) for name in names]
            ok = report(runs, startup)
            if not args.no_rss:
                ok &= rss_check(server.spec, work, args.rss_pages)
    print("all targets met" if ok else "some targets missed")


if __name__ == "__main__":
    main()
