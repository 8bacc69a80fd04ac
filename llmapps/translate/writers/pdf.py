"""Layout-preserving PDF: original text removed, translations drawn into the same boxes.

Why edit the content stream instead of painting white boxes: a white box would also hide
images, rules and table lines under the text, and the source text would still be there for
copy/search. We walk each page's content stream with pypdf, track where every text-showing
operator starts (CTM and text matrix), and drop the ones that start inside a block being
replaced; images, vector graphics and kept text stay untouched. The translations are then
drawn by reportlab on an overlay page (our CJK TrueType font, embedded as a subset) and
merged onto the original page, so page size and everything else are kept.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.generic import ContentStream, DecodedStreamObject, NameObject
from reportlab.pdfgen import canvas

from llmapps.translate.document import TABLE_CELL, BBox, Block, Document, Page
from llmapps.translate.fonts import register_font
from llmapps.translate.writers.layout import fit

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_SHOW_OPS = {b"Tj", b"TJ", b"'", b'"'}


def _mul(m1: Matrix, m2: Matrix) -> Matrix:
    """m1 then m2 (PDF row-vector convention)."""
    a1, b1, c1, d1, e1, f1 = m1
    a2, b2, c2, d2, e2, f2 = m2
    return (
        a1 * a2 + b1 * c2,
        a1 * b2 + b1 * d2,
        c1 * a2 + d1 * c2,
        c1 * b2 + d1 * d2,
        e1 * a2 + f1 * c2 + e2,
        e1 * b2 + f1 * d2 + f2,
    )


def _point(m: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def open_reader(path: Path, password: str | None) -> PdfReader:
    reader = PdfReader(str(path))
    if reader.is_encrypted:
        reader.decrypt(password or "")
    return reader


def remove_text(page: PageObject, reader: Any, boxes: list[BBox], margin: float = 2.0) -> int:
    """Drop text-showing operators that start inside ``boxes`` (top-left coords); count them.

    Form XObjects drawn by the page (``Do``) are filtered too, with their matrix applied.
    """
    if not boxes:
        return 0
    contents = page.get_contents()
    if contents is None:
        return 0
    stream = ContentStream(contents, reader)
    mb = page.mediabox
    geometry = _Geometry(boxes, margin, float(mb.left), float(mb.top), reader)
    removed = _filter(stream, page.get("/Resources"), _IDENTITY, geometry, 0)
    if removed:
        page.replace_contents(stream)
    return removed


class _Geometry:
    def __init__(
        self, boxes: list[BBox], margin: float, left: float, top: float, reader: Any
    ) -> None:
        self.boxes, self.margin, self.left, self.top, self.reader = (
            boxes,
            margin,
            left,
            top,
            reader,
        )

    def inside(self, x: float, y: float) -> bool:
        px, py = x - self.left, self.top - y
        m = self.margin
        return any(b[0] - m <= px <= b[2] + m and b[1] - m <= py <= b[3] + m for b in self.boxes)


def _filter(stream: ContentStream, resources: Any, ctm: Matrix, geo: _Geometry, depth: int) -> int:
    stack: list[Matrix] = []
    tm: Matrix = _IDENTITY
    tlm: Matrix = _IDENTITY
    leading = 0.0
    rise = 0.0
    removed = 0
    kept_ops: list[tuple[Any, bytes]] = []

    def next_line() -> None:
        nonlocal tlm, tm
        tlm = _mul((1, 0, 0, 1, 0, -leading), tlm)
        tm = tlm

    for operands, op in stream.operations:
        if op == b"q":
            stack.append(ctm)
        elif op == b"Q":
            ctm = stack.pop() if stack else ctm
        elif op == b"cm" and len(operands) == 6:
            ctm = _mul(tuple(float(v) for v in operands), ctm)  # type: ignore[arg-type]
        elif op == b"BT":
            tm = tlm = _IDENTITY
        elif op in (b"Td", b"TD") and len(operands) == 2:
            tx, ty = float(operands[0]), float(operands[1])
            if op == b"TD":
                leading = -ty
            tlm = _mul((1, 0, 0, 1, tx, ty), tlm)
            tm = tlm
        elif op == b"Tm" and len(operands) == 6:
            tlm = tm = tuple(float(v) for v in operands)  # type: ignore[assignment]
        elif op == b"TL" and operands:
            leading = float(operands[0])
        elif op == b"Ts" and operands:
            rise = float(operands[0])
        elif op == b"T*":
            next_line()
        elif op == b"Do" and operands and depth < 8:
            removed += _filter_form(operands[0], resources, ctm, geo, depth)
        if op in _SHOW_OPS:
            if op in (b"'", b'"'):
                next_line()
            x, y = _point(_mul(_mul((1, 0, 0, 1, 0, rise), tm), ctm), 0.0, 0.0)
            if geo.inside(x, y):
                removed += 1
                if op in (b"'", b'"'):
                    kept_ops.append(([], b"T*"))  # keep the line move, drop the glyphs
                continue
        kept_ops.append((operands, op))
    if removed:
        stream.operations = kept_ops
    return removed


def _filter_form(name: Any, resources: Any, ctm: Matrix, geo: _Geometry, depth: int) -> int:
    """Filter the text of a Form XObject in place (its /Matrix maps form space to the page)."""
    if resources is None:
        return 0
    xobjects = resources.get_object().get("/XObject")
    if xobjects is None or name not in xobjects.get_object():
        return 0
    form = xobjects.get_object()[name].get_object()
    if form.get("/Subtype") != "/Form":
        return 0
    matrix = tuple(float(v) for v in form.get("/Matrix", _IDENTITY))
    sub = ContentStream(form, geo.reader)
    removed = _filter(sub, form.get("/Resources") or resources, _mul(matrix, ctm), geo, depth + 1)  # type: ignore[arg-type]
    if removed:
        # Re-encode as FlateDecode (pypdf only rewrites Flate streams; forms may use others).
        data = sub.get_data()
        form[NameObject("/Filter")] = NameObject("/FlateDecode")
        form.pop(NameObject("/DecodeParms"), None)
        decoded = DecodedStreamObject()
        decoded.set_data(data)
        form.decoded_self = decoded
        form.set_data(data)
    return removed


def _free_space(page: Page, block: Block, margin: float = 18.0) -> tuple[float, float]:
    """How far right and how far down ``block`` may grow before another block or the margin."""
    assert block.bbox is not None
    x0, top, x1, bottom = block.bbox
    right = page.width - margin
    below = page.height - margin
    for other in page.blocks:
        if other is block or other.bbox is None:
            continue
        ox0, otop, ox1, obottom = other.bbox
        if otop < bottom and obottom > top and ox0 >= x1 - 1:
            right = min(right, ox0 - 4)  # a block beside it
        if ox0 < x1 and ox1 > x0 and otop >= bottom - 1:
            below = min(below, otop - 2)  # a block under it
    return max(right, x1), max(below, bottom)


def draw_blocks(page: Page, blocks: Iterable[Block], font: str) -> bytes:
    """A one-page PDF (same size as ``page``) with each block's output fitted in its box."""
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(page.width, page.height))
    for block in blocks:
        if block.bbox is None:
            continue
        x0, top, x1, bottom = block.bbox
        x0, x1 = max(0.0, x0), min(page.width, x1)
        top, bottom = max(0.0, top), min(page.height, bottom)
        width = max(x1 - x0, 10.0)
        height = max(bottom - top, 1.0)
        size = block.size or 10.0
        fitted = fit(block.output, font, size, width, height)
        if fitted.height() > height + 0.5 or fitted.size < size * 0.7:
            # Much smaller than the source, or overflowing even at the smallest size: grow
            # the box into the free space to the right, then below (up to the next block or
            # the page margin), never off the page.
            right, below = _free_space(page, block)
            wider = fit(block.output, font, size, max(width, right - x0), height)
            if wider.size > fitted.size or wider.height() < fitted.height():
                fitted, width = wider, max(width, right - x0)
            if fitted.height() > height + 0.5:
                room = max(height, below - top)
                fitted = fit(block.output, font, min(size, fitted.size), width, room)
                limit = max(1, int((room - fitted.size) // fitted.leading) + 1)
                fitted.lines = fitted.lines[:limit]
        text = c.beginText()
        text.setFont(font, fitted.size)
        # One font file for everything: fake bold by stroking the glyph outlines too. The
        # render mode outlives BT/ET, so it is set inside q/Q, which restores it afterwards.
        c.saveState()
        if block.bold:
            text.setTextRenderMode(2)
            c.setLineWidth(fitted.size * 0.035)
        baseline = page.height - top - fitted.size * 0.88
        if block.kind == TABLE_CELL and fitted.height() < height:
            baseline -= (height - fitted.height()) / 2  # cells: centred vertically
        for line in fitted.lines:
            if baseline < 0:
                break
            text.setTextOrigin(x0, baseline)
            text.textOut(line)
            baseline -= fitted.leading
        c.drawText(text)
        c.restoreState()
    c.showPage()
    c.save()
    return buffer.getvalue()


def translated_pdf(
    doc: Document, password: str | None = None, font_path: str | None = None
) -> bytes:
    """The layout-preserving translated PDF of the selected pages, as bytes."""
    font = register_font(font_path)
    reader = open_reader(doc.path, password)
    writer = PdfWriter()
    for page in doc.pages:
        writer.add_page(reader.pages[page.number - 1])
        target = writer.pages[-1]
        replaced = [b for b in page.blocks if not b.keep and b.translation and b.bbox]
        remove_text(target, writer, [b.bbox for b in replaced if b.bbox])
        if replaced:
            overlay = PdfReader(io.BytesIO(draw_blocks(page, replaced, font))).pages[0]
            mb = target.mediabox
            target.merge_transformed_page(
                overlay, Transformation().translate(float(mb.left), float(mb.bottom))
            )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def bilingual_pdf(
    doc: Document, translated: bytes, layout: str = "side", password: str | None = None
) -> bytes:
    """Original and translated pages side by side (``side``) or one after the other."""
    original = open_reader(doc.path, password)
    translation = PdfReader(io.BytesIO(translated))
    writer = PdfWriter()
    for index, page in enumerate(doc.pages):
        src = original.pages[page.number - 1]
        dst = translation.pages[index]
        if layout == "alternate":
            writer.add_page(src)
            writer.add_page(dst)
            continue
        mb = src.mediabox
        width, height = float(mb.width), float(mb.height)
        sheet = PageObject.create_blank_page(width=2 * width, height=height)
        shift = Transformation().translate(-float(mb.left), -float(mb.bottom))
        sheet.merge_transformed_page(src, shift)
        sheet.merge_transformed_page(
            dst, Transformation().translate(width - float(mb.left), -float(mb.bottom))
        )
        writer.add_page(sheet)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
