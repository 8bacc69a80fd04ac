"""PDFs generated for the translator tests with reportlab (no binary fixtures in git)."""

from __future__ import annotations

import io
from pathlib import Path

from reportlab.lib.pagesizes import A4, letter
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from llmapps.translate.fonts import cjk_font_path

LOREM = (
    "Machine translation turns text in one language into another language. "
    "Modern systems use large language models that read a whole paragraph at once. "
    "They keep the meaning and the tone of the original author."
)


def _draw_lines(
    c: canvas.Canvas,
    x: float,
    y: float,
    width: float,
    text: str,
    size: float,
    font: str = "Helvetica",
    leading: float | None = None,
) -> float:
    """Wrap ``text`` into ``width`` and draw it from baseline ``y``; return the next baseline."""
    from reportlab.lib.utils import simpleSplit

    leading = leading or size * 1.25
    c.setFont(font, size)
    for line in simpleSplit(text, font, size, width):
        c.drawString(x, y, line)
        y -= leading
    return y


def _image(c: canvas.Canvas, x: float, y: float, w: float, h: float) -> None:
    from reportlab.lib.utils import ImageReader

    c.drawImage(ImageReader(io.BytesIO(_tiny_png())), x, y, w, h)


def _tiny_png() -> bytes:
    """A valid 2x2 PNG built by hand (zlib + crc), so no imaging library is needed."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00\x00\x00\xff" for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def make_rich_pdf(path: Path) -> Path:
    """Two pages: title, headings, two columns, a table, an image, a footnote, CJK, a URL."""
    pdfmetrics.registerFont(TTFont("TestCJK", str(cjk_font_path()), subfontIndex=0))
    c = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    # Page 1: title, intro, two columns, image, footnote.
    c.setFont("Helvetica-Bold", 20)
    c.drawString(60, height - 70, "A Study of Translation")
    y = _draw_lines(c, 60, height - 110, width - 120, LOREM, 10)
    c.setFont("Helvetica-Bold", 14)
    c.drawString(60, y - 16, "Method")
    col_w = (width - 120 - 30) / 2
    top = y - 45
    _draw_lines(c, 60, top, col_w, "The left column explains the data. " + LOREM, 10)
    _draw_lines(c, 60 + col_w + 30, top, col_w, "The right column explains the model. " + LOREM, 10)
    _image(c, 60, 250, 120, 80)
    c.setStrokeColorRGB(0.2, 0.2, 0.8)
    c.rect(200, 250, 100, 80)  # vector graphics must survive too
    _draw_lines(c, 60, 80, width - 120, "1. This footnote gives the source of the data.", 7)
    c.setFont("Courier", 9)
    c.drawString(60, 200, "https://example.org/data")
    c.showPage()
    # Page 2: a table with ruling lines, CJK text, numbers.
    c.setFont("Helvetica-Bold", 14)
    c.drawString(60, height - 70, "Results")
    rows = [["Model", "Score"], ["Small model", "71.5"], ["Large model", "88.2"]]
    x0, y0, cw, rh = 60, height - 100, 150, 22
    for r, row in enumerate(rows):
        for col, cell in enumerate(row):
            cx, cy = x0 + col * cw, y0 - r * rh
            c.rect(cx, cy - rh, cw, rh)
            c.setFont("Helvetica", 10)
            c.drawString(cx + 4, cy - 15, cell)
    c.setFont("TestCJK", 12)
    c.drawString(60, height - 220, "这是一段已经是中文的文字，不需要翻译。")
    _draw_lines(
        c,
        60,
        height - 260,
        width - 120,
        "The results show that larger models translate better. " + LOREM,
        10,
    )
    c.showPage()
    c.save()
    return path


def make_simple_pdf(
    path: Path, pages: int = 3, paragraphs: int = 2, pagesize: tuple[float, float] = letter
) -> Path:
    """``pages`` pages, each with a heading and ``paragraphs`` paragraphs."""
    c = canvas.Canvas(str(path), pagesize=pagesize)
    width, height = pagesize
    for p in range(1, pages + 1):
        c.setFont("Helvetica-Bold", 16)
        c.drawString(60, height - 70, f"Chapter {p}")
        y = height - 110
        for k in range(paragraphs):
            y = (
                _draw_lines(c, 60, y, width - 120, f"Paragraph {k + 1} of page {p}. " + LOREM, 10)
                - 12
            )
        c.showPage()
    c.save()
    return path


def make_scanned_pdf(path: Path) -> Path:
    """Page 1 has text; page 2 is only an image (a 'scanned' page)."""
    c = canvas.Canvas(str(path), pagesize=letter)
    _draw_lines(c, 60, 700, 400, "A page with a text layer.", 12)
    c.showPage()
    _image(c, 50, 50, 500, 690)
    c.showPage()
    c.save()
    return path


def make_form_pdf(path: Path) -> Path:
    """Text drawn inside a Form XObject (as some generators do for headers) plus page text."""
    c = canvas.Canvas(str(path), pagesize=letter)
    c.beginForm("header")
    c.setFont("Helvetica", 12)
    c.drawString(72, 720, "Quarterly report of the northern office")
    c.endForm()
    c.doForm("header")
    _draw_lines(c, 72, 650, 400, "Sales grew in every region this quarter.", 11)
    c.showPage()
    c.save()
    return path


def make_sheet_pdf(path: Path) -> Path:
    """A page cut out of a larger sheet, as generators of bills and statements write one.

    The page draws the whole A4 sheet, an unfiltered Form XObject, moved so that only its
    upper part is on the (short) page: text above and below the page stays in the form,
    where no viewer shows it. On the page: a sentence, then an inline image (ASCII85, as
    reportlab writes it), then a standalone amount drawn after the image."""
    from PIL import Image

    c = canvas.Canvas(str(path), pagesize=(A4[0], 260), pageCompression=0)
    c.beginForm("sheet")
    c.setFont("Helvetica", 10)
    c.drawString(72, 790, "Printed on the sheet above the page, never shown")
    c.drawString(72, 700, "The invoice lists every service of the month.")
    c.drawInlineImage(Image.new("RGB", (4, 4), (200, 30, 30)), 72, 620, 40, 40)
    c.drawString(400, 600, "1.234,56")
    c.drawString(72, 300, "Printed on the sheet below the page, never shown")
    c.endForm()
    c.translate(0, -520)  # the sheet's y 520..780 is the page
    c.doForm("sheet")
    c.showPage()
    c.save()
    return path
