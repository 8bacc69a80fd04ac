"""Translations drawn in the source text's orientation, inside the page; OCR'd lines patched.

The PDFs are drawn with reportlab so every unit's box is known exactly (units are built by
hand in unrotated user space, as the parser's contract says); the output is read back with
pdfplumber (char matrices, ``upright``, positions as a viewer sees them) and rendered with
pypdfium2 for the OCR patch colours.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from PIL import Image, ImageDraw
from pypdf import PdfWriter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from llmapps.translate.document import Block, Document, Page
from llmapps.translate.preview import render_page_png
from llmapps.translate.writers.pdf import translated_pdf
from tests.translate.layout_checks import OUR_FONT, colliding_chars, off_page

W, H = 595.0, 842.0
DESCENT = -0.207  # Helvetica, as pdfminer sizes a char box (from descent, one em tall)


def _box(x: float, y: float, width: float, size: float, rotation: int) -> tuple[float, ...]:
    """The glyph box of a line drawn at (x, y) with ``rotation``, in top-left coordinates."""
    cos, sin = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    corners = []
    for u in (0.0, width):
        for v in (DESCENT * size, (1 + DESCENT) * size):
            corners.append((x + u * cos - v * sin, y + u * sin + v * cos))
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    return (min(xs), H - max(ys), max(xs), H - min(ys))


LINES = [  # (text, x, y, rotation, translation)
    ("Expenses by region", 100, 150, 90, "各地区支出"),
    ("Total travel", 300, 600, 270, "差旅合计"),
    ("Upside down note", 400, 700, 180, "倒置注释"),
    ("Plain heading", 80, 780, 0, "普通标题"),
]


def _draw(path: Path, page_rotation: int) -> Document:
    c = canvas.Canvas(str(path), pagesize=(W, H))
    blocks = []
    for text, x, y, rotation, translation in LINES:
        size = 12.0
        c.saveState()
        c.translate(x, y)
        c.rotate(rotation)
        c.setFont("Helvetica", size)
        c.drawString(0, 0, text)
        c.restoreState()
        width = c.stringWidth(text, "Helvetica", size)
        bbox = _box(x, y, width, size, rotation)
        blocks.append(
            Block(text, bbox=bbox, size=size, rotation=rotation, translation=translation)  # type: ignore[arg-type]
        )
    c.showPage()
    c.save()
    if page_rotation:  # /Rotate on the same media box (reportlab's own option swaps the box)
        writer = PdfWriter(clone_from=str(path))
        writer.pages[0].rotate(page_rotation)
        writer.write(path)
    page = Page(1, width=W, height=H, blocks=blocks, rotate=page_rotation)
    return Document(path, "pdf", [page], page_count=1)


def _direction(char: dict[str, Any]) -> tuple[int, int]:
    a, b = char["matrix"][0], char["matrix"][1]
    norm = math.hypot(a, b) or 1.0
    return round(a / norm), round(b / norm)


@pytest.mark.parametrize("page_rotation", [0, 90, 270])
def test_rotated_text_is_drawn_in_its_orientation_inside_the_page(
    tmp_path: Path, page_rotation: int
) -> None:
    source = tmp_path / f"rot{page_rotation}.pdf"
    doc = _draw(source, page_rotation)
    out = tmp_path / f"rot{page_rotation}.zh.pdf"
    out.write_bytes(translated_pdf(doc))
    assert not [b for b in doc.blocks if b.meta.get("unfit")]
    with pdfplumber.open(source) as src, pdfplumber.open(out) as dst:
        sp, dp = src.pages[0], dst.pages[0]
        assert (dp.width, dp.height) == (sp.width, sp.height)
        assert off_page(dp) == [] and colliding_chars(dp) == []
        ours = [c for c in dp.chars if OUR_FONT in c["fontname"]]
        assert ours and all("Helvetica" not in c["fontname"] for c in dp.chars)  # replaced
        start = 0
        for text, *_rest, translation in LINES:
            # The source line as a viewer sees it (pdfplumber applies /Rotate); its chars come
            # in drawing order.
            line = sp.chars[start : start + len(text)]
            start += len(text)
            assert "".join(c["text"] for c in line) == text
            x0, top = min(c["x0"] for c in line), min(c["top"] for c in line)
            x1, bottom = max(c["x1"] for c in line), max(c["bottom"] for c in line)
            drawn = [
                c
                for c in ours
                if c["text"] in translation
                and x0 - 2 <= (c["x0"] + c["x1"]) / 2 <= x1 + 2
                and top - 2 <= (c["top"] + c["bottom"]) / 2 <= bottom + 2
            ]
            assert "".join(c["text"] for c in drawn) == translation, text
            # Same baseline direction and the same "upright" as the source glyphs.
            assert {_direction(c) for c in drawn} == {_direction(c) for c in line}
            assert {c["upright"] for c in drawn} == {c["upright"] for c in line}


def test_rotated_preview_shows_the_translation(tmp_path: Path) -> None:
    """The translated /Rotate 90 page renders with the same size as the original."""
    source = tmp_path / "rot.pdf"
    doc = _draw(source, 90)
    out = tmp_path / "rot.zh.pdf"
    out.write_bytes(translated_pdf(doc))
    original = Image.open(io.BytesIO(render_page_png(source, 0, dpi=50)))
    translated = Image.open(io.BytesIO(render_page_png(out, 0, dpi=50)))
    assert original.size == translated.size and original.size[0] > original.size[1]


BACKGROUND = (246, 236, 200)  # cream paper
INK = (24, 36, 120)  # dark blue print
RED = (200, 30, 30)


def _scan(path: Path) -> tuple[Document, tuple[float, float, float, float]]:
    """A "scanned" page: only an image (2 px per point) with a line of text and a red mark."""
    width_pt, height_pt = 300, 150
    image = Image.new("RGB", (width_pt * 2, height_pt * 2), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((440, 40, 520, 120), fill=RED)
    draw.text((60, 60), "Hello world again", fill=INK, font_size=36)
    left, top, right, bottom = draw.textbbox((60, 60), "Hello world again", font_size=36)
    c = canvas.Canvas(str(path), pagesize=(width_pt, height_pt))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    c.drawImage(ImageReader(io.BytesIO(buffer.getvalue())), 0, 0, width_pt, height_pt)
    c.showPage()
    c.save()
    bbox = (left / 2 - 1, top / 2 - 1, right / 2 + 1, bottom / 2 + 1)
    block = Block(
        "Hello world again",
        bbox=bbox,
        size=(bottom - top) / 2,
        translation="你好世界",
        meta={
            "ocr": True,
            "background": tuple(v / 255 for v in BACKGROUND),
            "color": tuple(v / 255 for v in INK),
        },
    )
    page = Page(1, width=width_pt, height=height_pt, blocks=[block], ocr=True, image_count=1)
    return Document(path, "pdf", [page], page_count=1), bbox


def _near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int) -> bool:
    return all(abs(int(p) - c) <= tolerance for p, c in zip(pixel[:3], colour, strict=True))


def test_ocr_translation_is_drawn_on_a_background_patch(tmp_path: Path) -> None:
    source = tmp_path / "scan.pdf"
    doc, (x0, top, x1, bottom) = _scan(source)
    out = tmp_path / "scan.zh.pdf"
    out.write_bytes(translated_pdf(doc))
    assert not doc.blocks[0].meta.get("unfit")
    before = Image.open(io.BytesIO(render_page_png(source, 0, dpi=144))).convert("RGB")
    after = Image.open(io.BytesIO(render_page_png(out, 0, dpi=144))).convert("RGB")
    assert before.size == after.size
    scale = 2  # 144 dpi = 2 px per point
    patch = (x0 * scale, top * scale, x1 * scale, bottom * scale)
    inside, changed_outside = [], 0
    for y in range(after.size[1]):
        for x in range(after.size[0]):
            px = after.getpixel((x, y))
            if patch[0] + 1 <= x <= patch[2] - 1 and patch[1] + 1 <= y <= patch[3] - 1:
                inside.append(px)
                continue
            near_patch = patch[0] - 2 <= x <= patch[2] + 2 and patch[1] - 2 <= y <= patch[3] + 2
            if not near_patch and not _near(px, before.getpixel((x, y)), 3):  # type: ignore[arg-type]
                changed_outside += 1
    assert changed_outside == 0  # the rest of the image is untouched (the red mark too)
    assert _near(after.getpixel((480, 80)), RED, 3)  # type: ignore[arg-type]
    background = sum(1 for p in inside if _near(p, BACKGROUND, 4))
    ink = sum(1 for p in inside if _near(p, INK, 40))
    white = sum(1 for p in inside if _near(p, (255, 255, 255), 8))
    assert background > 0.5 * len(inside)  # the patch has the page's own colour
    assert ink > 0.02 * len(inside)  # the translation is drawn in the sampled ink colour
    assert white == 0  # never a white box on a cream page
    with pdfplumber.open(out) as result:
        text = "".join(c["text"] for c in result.pages[0].chars)
    assert text == "你好世界"


def test_invisible_ocr_layer_gets_a_patch_over_the_printed_line(tmp_path: Path) -> None:
    """A scan with an invisible text layer (as ocrmypdf writes): the printed line is hidden
    under a patch of the paper's colour, sampled from the page, and the translation drawn."""
    source = tmp_path / "sandwich.pdf"
    image_pdf = tmp_path / "image.pdf"
    doc, (x0, top, x1, bottom) = _scan(image_pdf)
    block = doc.blocks[0]
    c = canvas.Canvas(str(source), pagesize=(300, 150))
    c.drawImage(ImageReader(io.BytesIO(render_page_png(image_pdf, 0, dpi=144))), 0, 0, 300, 150)
    text = c.beginText()
    text.setTextRenderMode(3)  # invisible, as an OCR text layer
    text.setFont("Helvetica", bottom - top - 2)
    text.setTextOrigin(x0 + 1, 150 - bottom + 3)
    text.textOut(block.text)
    c.drawText(text)
    c.showPage()
    c.save()
    plain = Block(block.text, bbox=block.bbox, size=block.size, translation="好")
    page = Page(1, width=300, height=150, blocks=[plain], image_count=1)
    out = tmp_path / "sandwich.zh.pdf"
    out.write_bytes(translated_pdf(Document(source, "pdf", [page], page_count=1)))
    assert plain.meta.get("patch") and not plain.meta.get("unfit")
    assert _near(tuple(round(v * 255) for v in plain.meta["background"]), BACKGROUND, 12)
    before = Image.open(io.BytesIO(render_page_png(source, 0, dpi=144))).convert("RGB")
    after = Image.open(io.BytesIO(render_page_png(out, 0, dpi=144))).convert("RGB")

    def ink(image: Image.Image) -> int:
        # The right half of the printed line: the one-glyph translation never reaches it.
        xs = range(int(x0 + x1), int(x1 * 2) - 2)
        ys = range(int(top * 2) + 2, int(bottom * 2) - 2)
        return sum(1 for x in xs for y in ys if _near(image.getpixel((x, y)), INK, 60))  # type: ignore[arg-type]

    assert ink(before) > 100 and ink(after) == 0
    assert _near(after.getpixel((480, 80)), RED, 3)  # type: ignore[arg-type]


def test_ocr_translation_never_grows_over_a_picture(tmp_path: Path) -> None:
    """Free of text is not free: a scan's photo beside and below a line is never painted."""
    image = Image.new("RGB", (600, 300), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for k in range(0, 600, 6):  # a "photo": stripes of colour right of and below the line
        draw.rectangle((260 + k % 340, 40, 265 + k % 340, 110), fill=(k % 255, 90, 160))
        draw.rectangle((40 + k, 110, 45 + k, 290), fill=(30, k % 255, 90))
    draw.text((40, 60), "Short", fill=INK, font_size=36)
    left, top, right, bottom = draw.textbbox((40, 60), "Short", font_size=36)
    path = tmp_path / "photo.pdf"
    c = canvas.Canvas(str(path), pagesize=(300, 150))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    c.drawImage(ImageReader(io.BytesIO(buffer.getvalue())), 0, 0, 300, 150)
    c.showPage()
    c.save()
    block = Block(
        "Short",
        bbox=(left / 2 - 1, top / 2 - 1, right / 2 + 1, bottom / 2 + 1),
        size=(bottom - top) / 2,
        translation="这是一个比原文长得多的译文句子",
        meta={"ocr": True, "background": tuple(v / 255 for v in BACKGROUND)},
    )
    page = Page(1, width=300, height=150, blocks=[block], ocr=True, image_count=1)
    out = tmp_path / "photo.zh.pdf"
    out.write_bytes(translated_pdf(Document(path, "pdf", [page], page_count=1)))
    before = Image.open(io.BytesIO(render_page_png(path, 0, dpi=144))).convert("RGB")
    after = Image.open(io.BytesIO(render_page_png(out, 0, dpi=144))).convert("RGB")
    x0, y0 = int(block.bbox[2] * 2) + 3, int(block.bbox[3] * 2) + 3  # type: ignore[index]
    changed = [
        (x, y)
        for x in range(0, 600, 2)
        for y in range(0, 300, 2)
        if (x > x0 or y > y0) and not _near(after.getpixel((x, y)), before.getpixel((x, y)), 3)  # type: ignore[arg-type]
    ]
    assert changed == []  # nothing painted outside the line's own box
    if not block.meta.get("unfit"):  # it fit in its own box (shrunk): drawn there only
        with pdfplumber.open(out) as result:
            chars = result.pages[0].chars
        assert chars and max(ch["x1"] for ch in chars) <= block.bbox[2] + 1  # type: ignore[index]
