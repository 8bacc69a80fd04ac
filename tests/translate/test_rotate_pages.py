"""``/Rotate`` pages through the whole pipeline: parser -> units -> writer -> PDF.

The parser sees a rotated page as displayed (pdfplumber and the rendered image apply
``/Rotate``); the document model holds unrotated user space (``document.py``); the writer
draws there. These tests catch the two halves disagreeing: translations drawn off the page or
turned the wrong way. The output is read back with pdfplumber, as a viewer shows it.
"""

from __future__ import annotations

import io
import itertools
import math
from pathlib import Path
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
import pytest
from pypdf import PdfWriter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from llmapps.ocr import lines_text, ocr_pdf_page
from llmapps.translate.parsers import parse_document
from llmapps.translate.writers.pdf import translated_pdf
from tests.translate import layout_pdfs as L
from tests.translate.layout_checks import (
    OUR_FONT,
    colliding_chars,
    corpus_pdf,
    off_page,
    pseudo_translate,
)

W, H = 595.0, 842.0


def _direction(char: dict[str, Any]) -> tuple[int, int]:
    a, b = char["matrix"][0], char["matrix"][1]
    norm = math.hypot(a, b) or 1.0
    return round(a / norm), round(b / norm)


def _rotate(path: Path, page_rotation: int) -> None:
    """Set ``/Rotate`` on the page, keeping the media box (as scanners and viewers write it)."""
    writer = PdfWriter(clone_from=str(path))
    writer.pages[0].rotate(page_rotation)
    writer.write(path)


# Lines drawn so that they read upright once the page is turned by its /Rotate, and one that
# stays sideways (a rotated table header): (text, x, y in user space, rotation in user space).
def _lines(page_rotation: int) -> list[tuple[str, float, float, int]]:
    upright = page_rotation % 360
    if page_rotation == 90:
        return [
            ("Quarterly expenses by region", 120, 100, upright),
            ("Travel and lodging were lower", 220, 100, upright),
            ("Sideways column note", 400, 600, 0),
        ]
    return [
        ("Quarterly expenses by region", 480, 740, upright),
        ("Travel and lodging were lower", 380, 740, upright),
        ("Sideways column note", 100, 300, 0),
    ]


def _text_page(path: Path, page_rotation: int) -> None:
    c = canvas.Canvas(str(path), pagesize=(W, H))
    for text, x, y, rotation in _lines(page_rotation):
        c.saveState()
        c.translate(x, y)
        c.rotate(rotation)
        c.setFont("Helvetica", 12)
        c.drawString(0, 0, text)
        c.restoreState()
    c.showPage()
    c.save()
    _rotate(path, page_rotation)


@pytest.mark.parametrize("page_rotation", [90, 270])
def test_rotated_text_page_translated_in_place_and_orientation(
    tmp_path: Path, page_rotation: int
) -> None:
    source = tmp_path / f"text{page_rotation}.pdf"
    _text_page(source, page_rotation)
    doc = parse_document(source)
    page = doc.pages[0]
    # The document model's convention: unrotated user space, rotation in that space.
    assert (page.width, page.height, page.rotate) == (W, H, page_rotation)
    by_text = {b.text: b for b in page.blocks}
    for text, x, y, rotation in _lines(page_rotation):
        block = by_text[text]
        assert block.rotation == rotation
        x0, top, x1, bottom = block.bbox or (0, 0, 0, 0)
        # The box holds the line's origin (user space, top-left origin).
        assert x0 - 3 <= x <= x1 + 3 and top - 3 <= H - y <= bottom + 3, (text, block.bbox)
    pseudo_translate(doc)
    out = tmp_path / f"text{page_rotation}.zh.pdf"
    out.write_bytes(translated_pdf(doc))
    assert not [b.text for b in doc.blocks if b.meta.get("unfit")]
    with pdfplumber.open(source) as src, pdfplumber.open(out) as dst:
        sp, dp = src.pages[0], dst.pages[0]
        assert (dp.width, dp.height) == (sp.width, sp.height)
        assert off_page(dp) == [] and colliding_chars(dp) == []
        ours = [c for c in dp.chars if OUR_FONT in c["fontname"]]
        assert ours and all("Helvetica" not in c["fontname"] for c in dp.chars)
        for block in doc.blocks:
            line = _displayed_line(sp.chars, block.text)
            assert line, block.text
            x0, top = min(c["x0"] for c in line), min(c["top"] for c in line)
            x1, bottom = max(c["x1"] for c in line), max(c["bottom"] for c in line)
            # The translation starts where the source line started, turned the same way.
            drawn = [
                c
                for c in ours
                if x0 - 2 <= (c["x0"] + c["x1"]) / 2 <= x1 + 40
                and top - 2 <= (c["top"] + c["bottom"]) / 2 <= bottom + 40
                and _direction(c) == _direction(line[0])
            ]
            assert drawn, block.text
            assert {c["upright"] for c in drawn} == {line[0]["upright"]}


def _displayed_line(chars: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """The chars of the source line ``text`` (chars come in drawing order)."""
    joined = "".join(c["text"] for c in chars)
    start = joined.find(text)
    return chars[start : start + len(text)] if start >= 0 else []


SCAN_LINES = [
    "The quarterly report shows strong growth.",
    "Sales rose in every region this year.",
    "Invoice number 4471 was paid in full.",
]


def _rotated_scan(path: Path, page_rotation: int) -> tuple[float, float]:
    """An image-only page that reads upright once turned by its ``/Rotate`` (as a scanner
    writes a landscape scan); returns the displayed page size."""
    upright = L.scanned_text(path.with_suffix(".upright.pdf"), SCAN_LINES)
    doc = pdfium.PdfDocument(str(upright))
    image = doc[0].render(scale=3).to_pil()
    shown_w, shown_h = doc[0].get_size()
    doc.close()
    # /Rotate turns the page clockwise: the image is stored turned the other way.
    stored = image.rotate(page_rotation, expand=True)
    png = io.BytesIO()
    stored.save(png, format="PNG")
    c = canvas.Canvas(str(path), pagesize=(shown_h, shown_w))
    c.drawImage(ImageReader(io.BytesIO(png.getvalue())), 0, 0, shown_h, shown_w)
    c.showPage()
    c.save()
    _rotate(path, page_rotation)
    return shown_w, shown_h


@pytest.mark.parametrize("page_rotation", [90, 270])
def test_ocr_of_a_rotated_scan_is_drawn_upright_inside_the_page(
    tmp_path: Path, page_rotation: int
) -> None:
    source = tmp_path / f"scan{page_rotation}.pdf"
    shown_w, shown_h = _rotated_scan(source, page_rotation)
    doc = parse_document(source)
    page = doc.pages[0]
    assert page.ocr and page.blocks
    assert (page.width, page.height) == pytest.approx((shown_h, shown_w))  # unrotated
    text = " ".join(b.text for b in page.blocks)
    for line in SCAN_LINES:
        assert line.rstrip(".") in text
    for block in page.blocks:
        assert block.rotation == page_rotation  # upright as displayed
        x0, top, x1, bottom = block.bbox or (0, 0, 0, 0)
        assert 0 <= x0 < x1 <= page.width and 0 <= top < bottom <= page.height
    pseudo_translate(doc)
    out = tmp_path / f"scan{page_rotation}.zh.pdf"
    out.write_bytes(translated_pdf(doc))
    translated = [b for b in doc.blocks if not b.keep]
    assert translated and not [b.text for b in translated if b.meta.get("unfit")]
    with pdfplumber.open(out) as dst:
        dp = dst.pages[0]
        assert (dp.width, dp.height) == pytest.approx((shown_w, shown_h))
        assert off_page(dp) == [] and colliding_chars(dp) == []
        ours = [c for c in dp.chars if c["text"].strip()]
        assert ours and all(OUR_FONT in c["fontname"] for c in ours)
        # Upright as the reader sees the page, over the scanned lines' area.
        assert {_direction(c) for c in ours} == {(1, 0)}
        assert all(c["upright"] for c in ours)
        assert all(c["x0"] >= 20 and c["bottom"] <= shown_h - 15 for c in ours)


def test_skewed_scan_lines_are_translated_without_collisions(tmp_path: Path) -> None:
    """A real skewed scan (ocrmypdf's skew.pdf): a line's upright box overlaps the lines above
    and below; translations go on the lines' own de-skewed bands, so (nearly) every line fits
    and none touches another or hides a line left in place."""
    doc = parse_document(corpus_pdf("ocrmypdf/skew.pdf"))
    page = doc.pages[0]
    assert page.ocr
    inks = sorted((b.meta["ink"] for b in page.blocks), key=lambda box: box[1])
    assert any(a[3] > b[1] + 2 for a, b in itertools.pairwise(inks))  # askew: boxes overlap
    pseudo_translate(doc)
    out = tmp_path / "skew.zh.pdf"
    out.write_bytes(translated_pdf(doc))
    units = [b for b in page.blocks if not b.keep]
    unfit = [b.text for b in units if b.meta.get("unfit")]
    assert len(unfit) <= 0.1 * len(units), unfit
    with pdfplumber.open(out) as dst:
        dp = dst.pages[0]
        assert off_page(dp) == [] and colliding_chars(dp) == []


def test_scans_lying_sideways_are_read_and_drawn_along_their_lines(tmp_path: Path) -> None:
    """ocrmypdf's cardinal.pdf holds one scanned page four ways, with no /Rotate: pages 2 and
    4 lie sideways, page 3 upside down. The recognizer read page 4 upside down and page 3 as
    three lines of garbage, and the writer set page 2's translations across its narrow lines
    (84 of 123 lines unfit). Each page is now read turned upright and drawn along its lines."""
    source = corpus_pdf("ocrmypdf/cardinal.pdf")
    doc = parse_document(source, pages="2-4")
    pseudo_translate(doc)
    out = tmp_path / "out.pdf"
    out.write_bytes(translated_pdf(doc))
    for page, direction in zip(doc.pages, (270, 180, 90), strict=True):
        texts = " ".join(b.text for b in page.blocks)
        assert "Linn Sequencer" in texts.replace("LinnSequencer", "Linn Sequencer"), texts[:200]
        assert "Oxnard Street" in texts
        assert {b.rotation for b in page.blocks} == {direction}
        placed = [b for b in page.blocks if not b.meta.get("unfit")]
        assert len(placed) >= 0.9 * len(page.blocks)
        # All of the page is read (about 4,300 characters), not a few lines of garbage.
        assert sum(len(b.text) for b in page.blocks) >= 3800 and len(page.blocks) >= 30
    with pdfplumber.open(out) as pdf:
        for dp in pdf.pages:
            assert off_page(dp) == []
            assert len(colliding_chars(dp)) <= 0.005 * len(dp.chars)
    # The knowledge base's text of a sideways page reads in order.
    text = lines_text(*ocr_pdf_page(str(source), 3))
    assert text.index("Sequencer") < text.index("Oxnard Street")
