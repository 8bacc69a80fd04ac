"""PDF -> pages of units that follow the document's structure.

Per page: pdfplumber gives the characters (text layer) with exact boxes and fonts; pypdfium2
renders the page once, at a modest scale, for the layout model (regions: text, title, table,
figure, caption, header, footer, equation) and, for pages without a text layer, for OCR.
Ruled tables come from pdfplumber's table finder (rules are better there); everything else is
split into units by :mod:`llmapps.translate.parsers.units`. A page whose layout analysis fails
is parsed by the rules alone (``Page.layout == "rules"``) and the job summary names it.

Pages are parsed one at a time and their renders dropped at once, so memory stays flat on long
documents; :mod:`llmapps.translate.parsers.worker` runs this in a child process under limits.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
import re
import statistics
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pdfplumber
from pdfplumber.utils.exceptions import PdfminerException

from llmapps.translate import pdf_fixes
from llmapps.translate.document import (
    CAPTION,
    CODE,
    FOOTER,
    HEADER,
    HEADING,
    LINE,
    MICRO_TEXT,
    PARAGRAPH,
    SYMBOL_FONT,
    TABLE_CELL,
    BBox,
    Block,
    Document,
    Page,
    display_box,
    user_box,
)
from llmapps.translate.errors import CorruptFileError, EncryptedPdfError, TranslateError
from llmapps.translate.pages import parse_pages
from llmapps.translate.parsers import units as U

if TYPE_CHECKING:
    from llmapps.ocr import OcrLine

pdf_fixes.apply()

OCR_MODES = ("auto", "always", "never")


@dataclass
class ParseOptions:
    """How pages become units: OCR mode and whether the layout model runs."""

    ocr: str = "auto"  # auto: pages without a text layer; always; never
    layout_model: bool = True


def open_pdf(path: Path, password: str | None) -> Any:
    """Open with pdfplumber, turning pdfminer's errors into one-line user errors. A file
    that pdfminer cannot read, or reads without pages, is read through pypdf's repair."""
    try:
        pdf = pdfplumber.open(path, password=password or "")
    except PdfminerException as exc:
        inner = exc.args[0] if exc.args else exc
        if type(inner).__name__ == "PDFPasswordIncorrect":
            raise _password_error(path, password) from None
        if (repaired := _repaired(path, password)) is not None:
            return repaired
        raise CorruptFileError(
            f"{path.name}: not a readable PDF ({inner}): check the file or re-export it"
        ) from None
    except Exception as exc:  # pdfminer raises many types on broken files
        if (repaired := _repaired(path, password)) is not None:
            return repaired
        raise CorruptFileError(
            f"{path.name}: not a readable PDF ({type(exc).__name__}): check the file"
        ) from None
    if not pdf.pages and (repaired := _repaired(path, password)) is not None:
        pdf.close()
        return repaired
    return pdf


def _repaired(path: Path, password: str | None) -> Any | None:
    """``path`` written out again by pypdf, opened with pdfplumber; None when pypdf finds no
    page either.

    Why: viewers rebuild a damaged cross-reference table, pdfminer does not always. pdfminer's
    own sample 175.pdf numbers its table from object 1 instead of 0, so every offset names
    the wrong object and pdfminer finds no page, while pdfium, pypdf and every viewer show
    its two scanned pages. The copy lives in memory, as big as the file (which the upload
    and parse limits bound)."""
    import pypdf

    quiet = logging.getLogger("pypdf")  # its notes on each damaged object are not the user's
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(path, strict=False, password=password or None)
        if not reader.pages:
            return None
        buffer = io.BytesIO()
        pypdf.PdfWriter(clone_from=reader).write(buffer)
        buffer.seek(0)
        pdf = pdfplumber.open(buffer)
        return pdf if pdf.pages else None
    except Exception:  # a repair that fails leaves the original error
        return None
    finally:
        quiet.setLevel(level)


def _password_error(path: Path, password: str | None) -> EncryptedPdfError:
    if password:
        return EncryptedPdfError(
            f"{path.name}: wrong password for this encrypted PDF: check --password"
        )
    return EncryptedPdfError(
        f"{path.name}: the PDF is encrypted: give its password with --password"
    )


class _Renderer:
    """Renders pages with pypdfium2 (opened on first use: pages with nothing to look at
    never pay for it)."""

    def __init__(self, path: Path, password: str | None) -> None:
        self.path = path
        self.password = password
        self._doc: Any = None

    def render(
        self, index: int, scale: float, media: tuple[float, ...] | None = None
    ) -> np.ndarray:
        """The page as displayed; ``media`` (its MediaBox, as pdfminer resolves it, inherited
        or not): render all of it, not only a smaller CropBox."""
        import pypdfium2 as pdfium

        if self._doc is None:
            try:
                self._doc = pdfium.PdfDocument(str(self.path), password=self.password or None)
            except pdfium.PdfiumError as exc:
                # pdfminer opens some AES-256 files with an empty password that pdfium (and
                # Acrobat) refuse: the text reads, but no page can be rendered.
                if "password" not in str(exc).lower():
                    raise
                raise _password_error(self.path, self.password) from None
        page = self._doc[index]
        try:
            # The whole media box, which pdfplumber's coordinates (and ours) cover; a smaller
            # CropBox would shift every region found on the render (the change is in memory).
            uncrop(page, media)
            bitmap = page.render(scale=scale, rev_byteorder=True, draw_annots=False)
            image = bitmap.to_numpy()[:, :, :3].copy()  # RGB, the page as displayed
            bitmap.close()
        finally:
            page.close()
        return image

    def close(self) -> None:
        if self._doc is not None:
            self._doc.close()
            self._doc = None


def parse_pdf(
    path: Path,
    *,
    password: str | None = None,
    pages: str | None = None,
    options: ParseOptions | None = None,
    max_pages: int | None = None,
    on_page: Callable[[int], None] | None = None,
    on_parsed: Callable[[Page], None] | None = None,
) -> Document:
    """Parse ``path`` into pages of units.

    ``on_page(number)`` is called before each page (the worker's heartbeat); ``on_parsed``
    after it, with the page (the worker streams pages to its parent instead of keeping them).
    """
    options = options or ParseOptions()
    if options.ocr not in OCR_MODES:
        raise TranslateError(f"unknown OCR mode '{options.ocr}': use auto, always or never")
    pdf = open_pdf(path, password)
    renderer = _Renderer(path, password)
    try:
        total = len(pdf.pages)
        if total == 0:
            raise CorruptFileError(f"{path.name}: the PDF has no pages: check the file")
        selected = parse_pages(pages, total)
        if max_pages is not None and len(selected) > max_pages:
            from llmapps.translate.errors import PdfLimitError

            raise PdfLimitError(
                f"{path.name}: {len(selected)} pages exceed the limit of {max_pages}: "
                "choose fewer with --pages or raise translate.max_pages"
            )
        doc = Document(path=path, kind="pdf", page_count=total)
        for number in selected:
            if on_page is not None:
                on_page(number)
            page = pdf.pages[number - 1]
            try:
                parsed = parse_page(page, number, options, renderer)
            except TranslateError:
                raise
            except Exception as exc:
                raise CorruptFileError(
                    f"{path.name}: page {number} cannot be read ({type(exc).__name__}): "
                    "check the file or skip the page with --pages"
                ) from None
            finally:
                page.close()
            if on_parsed is not None:
                on_parsed(parsed)
            else:
                doc.pages.append(parsed)
    finally:
        renderer.close()
        pdf.close()
    if on_parsed is None:
        classify(doc)
    return doc


def parse_page(page: Any, number: int, options: ParseOptions, renderer: _Renderer) -> Page:
    """One page: text layer (or OCR) + layout regions -> units in reading order."""
    width, height = float(page.width), float(page.height)
    out = Page(
        number=number,
        width=width,
        height=height,
        image_count=len(page.images),
        rotate=int(getattr(page, "rotation", 0) or 0) % 360 // 90 * 90,
        layout="model" if options.layout_model else "rules",
    )
    # pdfplumber puts objects in a frame where the media box starts at its own (x0, top);
    # our model, the renderer and the writer start the page at (0, 0).
    dx, dy = float(page.mediabox[0]), float(page.mediabox[1])
    ctx = U.PageContext(
        number=number,
        width=width,
        height=height,
        rotate=out.rotate,
        images=[_box(i, dx, dy) for i in page.images],
        curves=[_box(c, dx, dy) for c in page.curves] if len(page.curves) < 5000 else [],
    )
    ctx.marks = _marks(page, dx, dy)
    ctx.walls = _walls(page, dx, dy)
    chars = [
        moved
        for c in _unswapped(page.chars)
        if str(c.get("text", "")).strip() or c.get("text") == " "
        if not _micro(c)
        if _on_page(moved := _moved(c, dx, dy), width, height)
    ]
    chars = _with_drawn_underscores(chars, page, dx, dy)
    has_text = any(str(c.get("text", "")).strip() for c in chars)
    inked = out.image_count > 0 or len(ctx.curves) > 20
    do_ocr = options.ocr == "always" or (options.ocr == "auto" and not has_text and inked)
    if not has_text and not do_ocr:
        out.scanned = out.image_count > 0
        return out
    image: np.ndarray | None = None
    scale = 1.0
    if not do_ocr and (options.layout_model or (options.ocr == "auto" and ctx.scan)):
        from llmapps.translate.layout_model import LAYOUT_SCALE

        scale = LAYOUT_SCALE
        image = renderer.render(number - 1, scale, _media(page))
        if options.ocr == "auto" and ctx.scan and _layer_off_the_scan(chars, image, scale):
            do_ocr = out.layer_off = True
    if do_ocr:
        from llmapps.ocr import render_scale

        scale = render_scale(width, height)
        image = renderer.render(number - 1, scale, _media(page))
    regions: list[Any] = []
    if do_ocr and image is not None:
        from llmapps.ocr import ocr_page

        # The layout model reads the page while OCR does (both release the GIL): on two cores
        # its single thread fills the moments the OCR leaves a core idle.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="layout") as pool:
            found = pool.submit(_regions, image, scale, out) if options.layout_model else None
            lines, angle = ocr_page(image, scale)
            regions = found.result() if found is not None else []
        blocks = _ocr_units(lines, angle, regions, ctx)
        out.ocr = True
    else:
        if options.layout_model and image is not None:
            regions = _regions(image, scale, out)
        chars, blocks = U.vertical_units(chars, ctx)
        blocks.extend(_text_units(page, chars, regions, ctx))
    del image
    _page_numbers(blocks, height)
    out.crop = _crop(page, dx, dy)
    out.blocks = U.reading_order(blocks)
    _to_user_space(out)
    return out


#: A scanned page's text layer is read again by OCR when at least this share of its words
#: (of three letters or more; at least :data:`LAYER_CHECK_WORDS` of them) lie where the page
#: shows no ink.
LAYER_OFF_SHARE = 0.1
LAYER_CHECK_WORDS = 10


def _layer_off_the_scan(chars: list[dict[str, Any]], image: np.ndarray, scale: float) -> bool:
    """The text layer of a scanned page is not where its words are printed.

    An OCR layer written by a tool that measured the scan at the wrong resolution (pypdf's
    indirect-rotation.pdf: words stretched 1.35x from the left margin) puts the text beside
    the printed words: patches then hide the wrong strips and translations sit off their
    lines. A word of the layer is off when fewer than 3 in 10 of its columns show ink in the
    render; a sound layer has next to none (ocrmypdf's, a book scan's: 0 of 600)."""
    upright = [c for c in chars if c.get("upright", True) and str(c.get("text", "")).strip()]
    lines = U.build_lines(U.glyphs_from_chars(upright, U.Frame(0)))
    words = [w for line in lines for w in line if len(w.text) >= 3]
    if len(words) < LAYER_CHECK_WORDS:
        return False
    grey = image.mean(axis=2)
    ink = np.abs(grey - np.median(grey)) > 60
    height, width = ink.shape
    off = 0
    for w in words:
        x0, x1 = (
            max(0, int(w.x0 * scale)),
            min(width, max(int(w.x0 * scale) + 1, int(w.x1 * scale))),
        )
        top, bottom = max(0, int(w.top * scale)), min(height, int(w.bottom * scale) + 1)
        columns = ink[top:bottom, x0:x1].any(axis=0)
        off += columns.size == 0 or columns.mean() < 0.3
    return off >= LAYER_OFF_SHARE * len(words)


def _crop(page: Any, dx: float, dy: float) -> tuple[float, float, float, float] | None:
    """The page's CropBox in our frame (the media box from (0, 0)), when it hides a margin."""
    try:
        x0, top, x1, bottom = (float(v) for v in page.cropbox)
    except (AttributeError, TypeError, ValueError):
        return None
    crop = (x0 - dx, top - dy, x1 - dx, bottom - dy)
    full = (0.0, 0.0, float(page.width), float(page.height))
    if all(abs(a - b) < 1.0 for a, b in zip(crop, full, strict=True)):
        return None
    return crop


def _to_user_space(page: Page) -> None:
    """Boxes and size from the displayed page (what pdfplumber and the render give on a
    ``/Rotate`` page) to unrotated user space, the document model's convention."""
    if not page.rotate:
        return
    width, height = page.width, page.height
    for block in page.blocks:
        if block.bbox is not None:
            x0, top, x1, bottom = user_box(block.bbox, page.rotate, width, height)
            block.bbox = (round(x0, 2), round(top, 2), round(x1, 2), round(bottom, 2))
        for key in ("ink", "text_box"):
            if block.meta.get(key):
                block.meta[key] = user_box(block.meta[key], page.rotate, width, height)
    if page.crop is not None:
        page.crop = user_box(page.crop, page.rotate, width, height)
    if page.rotate in (90, 270):
        page.width, page.height = height, width


_PAGE_NUMBER = re.compile(
    r"^\W*(?:page|p\.|seite|第)?\s*[\divxlcIVXLC]{1,5}\s*(?:(?:of|/|von|页)\s*\d{1,5})?\W*$",
    re.IGNORECASE,
)


def _page_numbers(blocks: list[Block], height: float) -> None:
    """A lone page number near the top or bottom edge is a header/footer, never body text."""
    for block in blocks:
        if block.kind not in (LINE, PARAGRAPH) or not block.bbox:
            continue
        if not _PAGE_NUMBER.match(block.text.strip()):
            continue
        top, bottom = block.bbox[1], block.bbox[3]
        if any(
            other is not block and other.bbox and other.bbox[1] < bottom and other.bbox[3] > top
            for other in blocks
        ):
            continue  # a number on a line with other text (a table of contents entry)
        if block.bbox[1] >= 0.85 * height:
            block.kind = FOOTER
        elif block.bbox[3] <= 0.15 * height:
            block.kind = HEADER


def _media(page: Any) -> tuple[float, ...] | None:
    try:
        return tuple(float(v) for v in page.page_obj.mediabox)
    except (AttributeError, TypeError, ValueError):
        return None


def uncrop(page: Any, media: tuple[float, ...] | None) -> None:
    """Make pdfium render the whole ``media`` box (x0, y0, x1, y1 in PDF user space) of a
    pypdfium2 page whose CropBox is smaller. pdfium's own MediaBox cannot be trusted for this:
    it does not resolve a MediaBox inherited from the page tree (it answers US Letter)."""
    if media is None or len(media) != 4:
        return
    shown = tuple(float(v) for v in page.get_bbox())
    if all(abs(a - b) < 0.01 for a, b in zip(shown, media, strict=True)):
        return
    page.set_cropbox(*media)


#: A check box is a square of this many points a side.
BOX_SIDE = (4.0, 20.0)


def _marks(page: Any, dx: float, dy: float) -> list[BBox]:
    """Check boxes drawn as small squares, and dingbats (check marks, boxes, bullets in a
    font of pictures), as displayed: each starts a form's option or a list's item."""
    out: list[BBox] = []
    shapes = [*page.rects, *page.curves]
    if len(shapes) < 5000:
        for shape in shapes:
            w, h = float(shape["width"]), float(shape["height"])
            square = BOX_SIDE[0] <= min(w, h) and max(w, h) <= BOX_SIDE[1]
            if square and abs(w - h) <= 0.2 * max(w, h) and _seen(shape):
                out.append(_box(shape, dx, dy))
    for char in page.chars:
        if SYMBOL_FONT.search(str(char.get("fontname", ""))) and str(char.get("text", "")).strip():
            out.append(_box(char, dx, dy))
    return out


def _walls(page: Any, dx: float, dy: float) -> list[BBox]:
    """The page's visible rules and box sides, each as a thin box as displayed: drawn lines,
    and the sides of rectangles that show (outlined, or filled dark: a bar of white text).
    A line of text is cut where one crosses it (:func:`units.split_segments`)."""
    out: list[BBox] = []
    if len(page.rects) + len(page.lines) >= 5000:
        return out
    for line in page.lines:
        out.append(_box(line, dx, dy))
    for rect in page.rects:
        if not _seen(rect):
            continue
        x0, top, x1, bottom = _box(rect, dx, dy)
        out.extend(
            [
                (x0, top, x0, bottom),
                (x1, top, x1, bottom),
                (x0, top, x1, top),
                (x0, bottom, x1, bottom),
            ]
        )
    return out


def _seen(shape: dict[str, Any]) -> bool:
    """A shape that shows as a box: outlined, or filled darker than a tint. A syntax
    highlighter's box behind a token, in the listing's pale background, is none."""
    if shape.get("stroke"):
        return True
    if not shape.get("fill"):
        return False
    colour = shape.get("non_stroking_color")
    values: list[Any] = list(colour) if isinstance(colour, list | tuple) else [colour]
    try:
        levels = [float(v) for v in values]
    except (TypeError, ValueError):
        return False  # a pattern: no box
    if len(levels) == 4:  # CMYK
        c, m, y, k = levels
        levels = [(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)]
    return bool(levels) and sum(levels) / len(levels) < 0.8


def _box(
    obj: dict[str, Any], dx: float = 0.0, dy: float = 0.0
) -> tuple[float, float, float, float]:
    return (
        float(obj["x0"]) - dx,
        float(obj["top"]) - dy,
        float(obj["x1"]) - dx,
        float(obj["bottom"]) - dy,
    )


#: A drawn underscore is a horizontal rule this many points long, at most, and this thin.
UNDERSCORE_LENGTH = (1.5, 12.0)
UNDERSCORE_THICKNESS = 1.0


def _with_drawn_underscores(
    chars: list[dict[str, Any]], page: Any, dx: float, dy: float
) -> list[dict[str, Any]]:
    """``chars`` with an "_" for each underscore drawn as a rule between two letters.

    TeX sets "\\_" in its text fonts as a short rule, not a glyph: the text layer reads
    "asn1 bit der" for "asn1_bit_der" (every identifier of a LaTeX paper or a texinfo
    manual), which is prose to the keep rules and nonsense to a model. A rule lying in the
    gap between two letters of one line, low in their line, becomes an underscore glyph in
    the left letter's font."""
    rules = [
        _box(r, dx, dy)
        for r in [*page.lines, *page.rects]
        if float(r["height"]) <= UNDERSCORE_THICKNESS
        and UNDERSCORE_LENGTH[0] <= float(r["width"]) <= UNDERSCORE_LENGTH[1]
    ]
    if not rules or len(rules) > 2000:
        return chars
    by_line: dict[int, list[dict[str, Any]]] = {}
    for c in chars:
        if c.get("upright", True) and str(c.get("text", "")).strip():
            by_line.setdefault(round(float(c["bottom"])), []).append(c)
    added: list[dict[str, Any]] = []
    for x0, top, x1, _ in rules:
        near = [c for key in range(round(top) - 3, round(top) + 4) for c in by_line.get(key, [])]
        left = [c for c in near if x0 - 0.5 * c["size"] < c["x1"] <= x0 + 0.5]
        right = [c for c in near if x1 - 0.5 <= c["x0"] < x1 + 0.5 * c["size"]]
        if not left or not right or any(c["x0"] < x1 - 0.5 and c["x1"] > x0 + 0.5 for c in near):
            continue  # no gap between two letters there (an underline under a word)
        a = max(left, key=lambda c: c["x1"])
        b = min(right, key=lambda c: c["x0"])
        height = a["bottom"] - a["top"]
        low = a["top"] + 0.6 * height <= top <= a["bottom"] + 0.1 * height
        if low and abs(a["bottom"] - b["bottom"]) < 0.2 * height:
            added.append({**a, "text": "_", "x0": x0, "x1": x1})
    return chars + added if added else chars


def _moved(char: dict[str, Any], dx: float, dy: float) -> dict[str, Any]:
    """``char`` in page coordinates that start at the media box's top-left corner (pdfplumber
    starts them at the media box's own x0 and top, which differ from 0 when the box does not
    start at the origin, as on many printed forms)."""
    if not dx and not dy:
        return char
    out = dict(char)
    out["x0"], out["x1"] = float(char["x0"]) - dx, float(char["x1"]) - dx
    out["top"], out["bottom"] = float(char["top"]) - dy, float(char["bottom"]) - dy
    return out


def _swapped(text: str) -> bool:
    """Whether ``text`` is one ASCII character read with its two UTF-16 bytes swapped (``M``,
    U+004D, read as U+4D00)."""
    return len(text) == 1 and ord(text) & 0xFF == 0 and 0x20 <= ord(text) >> 8 <= 0x7E


def _unswapped(chars: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Characters of a font whose ToUnicode map has its bytes swapped, read as they print.

    Some generators write the map's UTF-16 values little-endian: "Multicolor" comes out as
    CJK ideographs (U+4D00 U+7500 ...), which every reader copies as such and the translator
    would keep as text already in Chinese. A font whose letters are nearly all of that form
    (real CJK text has a zero low byte in 1 character of 256) is read with its bytes swapped
    back."""
    by_font: dict[str, list[bool]] = {}
    for c in chars:
        text = str(c.get("text", ""))
        if text and text != " ":  # a swapped space or "0" reads as white-space (U+2000, U+3000)
            by_font.setdefault(str(c.get("fontname", "")), []).append(_swapped(text))
    fonts = {
        f for f, marks in by_font.items() if len(marks) >= 3 and sum(marks) >= 0.9 * len(marks)
    }
    if not fonts:
        return chars
    return [
        dict(c, text=chr(ord(c["text"]) >> 8))
        if str(c.get("fontname", "")) in fonts and _swapped(str(c.get("text", "")))
        else c
        for c in chars
    ]


def _micro(char: dict[str, Any]) -> bool:
    """A glyph set upright and smaller than :data:`MICRO_TEXT`. Only upright ones are judged:
    pdfplumber's size of a glyph turned sideways is its advance (a chart's rotated axis title
    has 1.9 pt "i"s), and its ``upright`` flag is true for some of those."""
    return U.char_angle(char) == 0 and 0 < float(char.get("size") or 0) < MICRO_TEXT


def _on_page(char: dict[str, Any], width: float, height: float) -> bool:
    """Whether any of ``char`` lies on the page. Text wholly outside the media box (a page
    cropped out of a larger sheet keeps the rest of the sheet's text) is never shown by a
    viewer: translating it would draw its translation into the page, over what is shown."""
    return (
        float(char["x1"]) > 0
        and float(char["x0"]) < width
        and float(char["bottom"]) > 0
        and float(char["top"]) < height
    )


def _shift(box: Any, dx: float, dy: float) -> tuple[float, float, float, float]:
    return (float(box[0]) - dx, float(box[1]) - dy, float(box[2]) - dx, float(box[3]) - dy)


def _text_units(
    page: Any, chars: list[dict[str, Any]], regions: list[Any], ctx: U.PageContext
) -> list[Block]:
    blocks: list[Block] = []
    remaining = chars
    if any(c.get("upright", True) for c in chars):
        remaining, blocks = _ruled_tables(page, chars, ctx)
    by_angle: dict[int, list[dict[str, Any]]] = {}
    for c in remaining:
        by_angle.setdefault(U.char_angle(c), []).append(c)
    for angle, group in sorted(by_angle.items()):
        frame = U.Frame(angle)
        glyphs = U.glyphs_from_chars(group, frame)
        if angle == 0 and regions:
            pieces = U.chunks(U.build_lines(glyphs), regions=regions)
            centres = [
                (
                    (min(g.x0 for g in p) + max(g.x1 for g in p)) / 2,
                    (min(g.top for g in p) + max(g.bottom for g in p)) / 2,
                )
                for p in pieces
            ]
            owner = U.assign_regions(centres, regions)
            members: dict[int, list[U.Glyph]] = {}
            for piece, index in zip(pieces, owner, strict=True):
                members.setdefault(index, []).extend(piece)
            for index, glyphs_in in sorted(members.items()):
                if index < 0:
                    blocks.extend(_rules_units(glyphs_in, frame, ctx))
                else:
                    region = regions[index]
                    blocks.extend(U.region_units(region.kind, glyphs_in, frame, ctx, region.bbox))
        else:
            blocks.extend(_rules_units(glyphs, frame, ctx))
    return blocks


def _rules_units(glyphs: list[U.Glyph], frame: U.Frame, ctx: U.PageContext) -> list[Block]:
    """Glyphs no region claims: running headers/footers by position, the rest as text."""
    if not glyphs:
        return []
    if frame.angle != 0:
        return U.region_units("text", glyphs, frame, ctx, None)
    top_margin, bottom_margin = 0.07 * ctx.height, 0.93 * ctx.height
    header = [g for g in glyphs if g.bottom <= top_margin]
    footer = [g for g in glyphs if g.top >= bottom_margin]
    body = [g for g in glyphs if top_margin < g.bottom and g.top < bottom_margin]
    blocks = U.region_units("text", body, frame, ctx, None) if body else []
    if header:
        blocks.extend(U.region_units("header", header, frame, ctx, None))
    if footer:
        blocks.extend(U.region_units("footer", footer, frame, ctx, None))
    return blocks


def _ruled_tables(
    page: Any, chars: list[dict[str, Any]], ctx: U.PageContext
) -> tuple[list[dict[str, Any]], list[Block]]:
    """Tables drawn with rules: one unit per cell, header row marked."""
    blocks: list[Block] = []
    remaining = chars
    try:
        tables = _without_hidden_rects(page).find_tables()
    except Exception:  # a malformed drawing must not lose the page's text
        return chars, []
    frame = U.Frame(0)
    for table in tables:
        rows = [r for r in table.rows if any(c is not None for c in r.cells)]
        # One row is a table too when rules divide it into cells (a ruled header strip):
        # its cells' texts must never be joined across the rules.
        if not rows or max(len(r.cells) for r in rows) < 2:
            continue
        dx, dy = float(page.mediabox[0]), float(page.mediabox[1])
        tb = _shift(table.bbox, dx, dy)
        inside = [c for c in remaining if _centre_in(c, tb) and c.get("upright", True)]
        if not inside:
            continue
        # Only the chars a cell holds are the table's: text inside the table's outline but in
        # no cell (a form's lines between ruled parts) stays with the page's other text.
        cells = [_shift(cell, dx, dy) for row in rows for cell in row.cells if cell is not None]
        inside = [c for c in inside if any(_centre_in(c, cell) for cell in cells)]
        if not inside:
            continue
        ids = {id(c) for c in inside}
        remaining = [c for c in remaining if id(c) not in ids]
        ctx.table_counter += 1
        name = f"{ctx.number}.{ctx.table_counter}"
        for r_index, row in enumerate(rows):
            for c_index, cell in enumerate(row.cells):
                if cell is None:
                    continue
                cell = _shift(cell, dx, dy)
                cell_chars = [c for c in inside if _centre_in(c, cell)]
                glyphs = U.glyphs_from_chars(cell_chars, frame)
                lines = U.build_lines(glyphs)
                if not lines:
                    continue
                size = min(g.size for g in glyphs)
                gutters = U.find_gutters(lines, 0.8 * size)
                segs = U.split_segments(lines, gutters, marks=ctx.marks)
                # A cell holding several rows' values (the finder missed the row rules)
                # keeps each value as its own unit; wrapped text stays one unit.
                groups = [g for g, _ in U.flow_groups(segs, gutters, cell=True)]
                for part, group in enumerate(groups):
                    meta: dict[str, Any] = {"table": name, "row": r_index, "col": c_index}
                    if len(groups) > 1:
                        meta["part"] = part
                    if r_index == 0:
                        meta["header"] = True
                    block = U.make_block(group, TABLE_CELL, frame, ctx, **meta)
                    if len(groups) == 1:
                        # The cell is the unit's room; where its text sat in it (a form's
                        # label at the top of an empty field) is where the translation goes.
                        if block.bbox is not None:
                            block.meta["text_box"] = block.bbox
                        block.bbox = (cell[0] + 1, cell[1] + 1, cell[2] - 1, cell[3] - 1)
                    blocks.append(block)
    return remaining, blocks


#: Filled boxes looked at as the ground of smaller boxes (the largest first), per page.
GROUND_BOXES = 50


def _without_hidden_rects(page: Any) -> Any:
    """``page`` without the filled, unstroked rectangles painted in the colour of a larger
    filled one they lie on: they draw no visible edge, so they are no table rules.

    Why: syntax highlighters (Pygments in rst2pdf, Sphinx) paint a box behind every token of
    a code listing in the listing's background colour; pdfplumber's table finder takes their
    edges for a grid and cuts the listing into "cells" of one token each."""
    rects = page.rects
    filled = [r for r in rects if r.get("fill") and not r.get("stroke")]
    if not filled:
        return page
    grounds = [r for r in rects if r.get("fill")]
    grounds.sort(key=lambda r: (r["x1"] - r["x0"]) * (r["bottom"] - r["top"]))
    grounds = grounds[-GROUND_BOXES:]
    colours: dict[str, int] = {}

    def table(objs: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        boxes = np.array([[o["x0"], o["top"], o["x1"], o["bottom"]] for o in objs], dtype=float)
        keys = [colours.setdefault(repr(o.get("non_stroking_color")), len(colours)) for o in objs]
        return boxes, np.array(keys)

    (small, small_colour), (big, big_colour) = table(filled), table(grounds)
    area = (small[:, 2] - small[:, 0]) * (small[:, 3] - small[:, 1])
    big_area = (big[:, 2] - big[:, 0]) * (big[:, 3] - big[:, 1])
    on = (
        (big_area[None, :] > area[:, None])
        & (big[None, :, 0] <= small[:, None, 0])
        & (big[None, :, 1] <= small[:, None, 1])
        & (small[:, None, 2] <= big[None, :, 2])
        & (small[:, None, 3] <= big[None, :, 3])
        & (big_colour[None, :] == small_colour[:, None])
    ).any(axis=1)
    gone = [r for r, under in zip(filled, on, strict=True) if under]
    hidden = {(r["x0"], r["top"], r["x1"], r["bottom"]) for r in gone}
    if not hidden:
        return page
    return page.filter(
        lambda obj: (
            obj.get("object_type") != "rect"
            or bool(obj.get("stroke"))
            or (obj["x0"], obj["top"], obj["x1"], obj["bottom"]) not in hidden
        )
    )


def _centre_in(obj: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    cx = (obj["x0"] + obj["x1"]) / 2
    cy = (obj["top"] + obj["bottom"]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _regions(image: np.ndarray, scale: float, out: Page) -> list[Any]:
    """The layout model's regions of a rendered page; none (and the page marked as laid out
    by the rules) when the model fails on it."""
    from llmapps.translate.layout_model import LayoutModelError, detect_regions

    try:
        return detect_regions(image, scale)
    except LayoutModelError:
        out.layout = "rules"
        return []


def _ocr_units(
    lines: list[OcrLine], angle: int, regions: list[Any], ctx: U.PageContext
) -> list[Block]:
    """OCR'd lines (read at ``angle``: :func:`llmapps.ocr.ocr_page`) as segments, grouped by
    the same region and flow rules as text."""
    # A page scanned sideways reads along its lines' direction: units are laid out in that
    # frame (the layout model's regions, found on the page as it lies, do not apply).
    frame = U.Frame(angle)
    if angle:
        regions = []
    segs: list[U.Seg] = []
    for line in lines:
        # Units are laid out on the lines' de-skewed bands (the translation goes there); the
        # printed ink, which the patch must hide, is the upright box (``meta["ink"]``).
        x0, top, x1, bottom = frame.to_local(line.band)
        size = max(line.height * 0.75, 1.0)
        glyph = U.Glyph(line.text, x0, top, x1, bottom, size, font="OCR")
        seg = U.Seg([U.Word([glyph]).finish()]).finish()
        seg.meta = {
            "ink": line.bbox,
            "ocr": True,
            "background": line.background,
            "color": line.color,
            "score": round(line.score, 3),
        }
        segs.append(seg)
    segs = _labels_joined(segs)
    centres = [((s.x0 + s.x1) / 2, (s.top + s.bottom) / 2) for s in segs]
    owner = U.assign_regions(centres, regions) if regions else [-1] * len(segs)
    members: dict[int, list[U.Seg]] = {}
    for seg, index in zip(segs, owner, strict=True):
        members.setdefault(index, []).append(seg)
    blocks: list[Block] = []
    for index, group in sorted(members.items()):
        _number_lines(group)
        kind = regions[index].kind if index >= 0 else "text"
        box = regions[index].bbox if index >= 0 else None
        whole = index < 0  # no region tells this group's columns apart
        if kind == "figure" and box is not None and U._real_figure(box, ctx):
            if _text_share(group, box) < PICTURE_TEXT_SHARE:
                blocks.extend(_picture_units(group, box, frame, ctx))
                continue
            kind = "text"  # on a scan the whole page is one image: read what the OCR found
            whole = True
        for part in _column_bands(group) if whole else [group]:
            rows: dict[int, list[U.Word]] = {}
            for s in part:
                rows.setdefault(s.line, []).extend(s.words)
            size = statistics.median(s.size for s in part)
            gutters = U.find_gutters(list(rows.values()), 0.8 * size)
            blocks.extend(U.units_from_segments(kind, part, gutters, frame, ctx, box))
    for block in blocks:
        block.meta["ocr"] = True
    return blocks


#: On a page read by OCR, a figure region whose lines cover less than this share of it is a
#: picture with a few words in it (a photo's shop signs, an engraving's caption); more is text
#: the layout model took for a figure (a scanned column: 0.6).
PICTURE_TEXT_SHARE = 0.1


def _text_share(segs: list[U.Seg], box: BBox) -> float:
    area = max(1.0, (box[2] - box[0]) * (box[3] - box[1]))
    return sum((s.x1 - s.x0) * (s.bottom - s.top) for s in segs) / area


def _picture_units(segs: list[U.Seg], box: BBox, frame: U.Frame, ctx: U.PageContext) -> list[Block]:
    """The OCR'd lines of a picture on a scanned page: a line at the picture's top or bottom
    edge is its caption ("MISS WATSON'S LECTURE" under an engraving) and is translated; the
    words inside the picture (a sign in a photo, the number on a locomotive) are kept as
    printed, because translating them paints patches over the picture."""
    blocks: list[Block] = []
    for s in segs:
        height = max(s.bottom - s.top, 1.0)
        edge = min(s.top - box[1], box[3] - s.bottom) <= 1.5 * height
        if edge:
            blocks.append(U.make_block([s], CAPTION, frame, ctx, region="figure"))
        else:
            blocks.append(U.figure_label(s, frame, ctx))
    return blocks


#: An item's label joins the OCR'd line that starts at most this many of its sizes to its
#: right (a typewriter's tab after "a.").
LABEL_GAP = 4.0


def _labels_joined(segs: list[U.Seg]) -> list[U.Seg]:
    """An item's label OCR'd as a line of its own joined to the line beside it.

    A typewritten "a." set a tab left of its item's text is read as two lines, and the label,
    a hair lower than the text, sorts between the item's first and second lines: the item was
    cut in two, each half translated alone. Set on the text's line, as a text layer has it,
    the label starts the item (kept in place, never translated) and the item's lines hang
    under its text. A label whose line holds no text beside it stays alone."""
    out = list(segs)
    for label in segs:
        if not U.MARKER.match(label.text.strip()):
            continue
        height = label.bottom - label.top
        beside = [
            s
            for s in out
            if s is not label
            and (label.x0 + label.x1) / 2 < s.x0
            and s.x0 - label.x1 <= LABEL_GAP * s.size
            and min(s.bottom, label.bottom) - max(s.top, label.top)
            >= 0.5 * min(height, s.bottom - s.top)
        ]
        if not beside:
            continue
        text = min(beside, key=lambda s: s.x0)
        if U.MARKER.match(text.text.strip()):
            continue
        # The label's few glyphs read smaller than the text's: they take the text's size, so
        # the item's lines flow on as one size.
        words = [
            U.Word([dataclasses.replace(g, size=text.size) for g in word.glyphs]).finish()
            for word in label.words
        ]
        joined = U.Seg([*words, *text.words], meta=dict(text.meta)).finish()
        inks = (label.meta["ink"], text.meta["ink"])
        joined.meta["ink"] = (
            min(i[0] for i in inks),
            min(i[1] for i in inks),
            max(i[2] for i in inks),
            max(i[3] for i in inks),
        )
        # By identity: segments are dataclasses, and two may compare equal.
        out = [joined if s is text else s for s in out if s is not label]
    return out


#: A gutter between OCR'd columns is free of text in at least this many lines in a row...
BAND_ROWS = 4
#: ... of which at least this many have text on both its sides (a line with wide word gaps
#: over short lines has one).
BAND_BESIDE = 3
#: The narrowest gutter between OCR'd columns, in text sizes. Less than between columns of a
#: text layer (0.8): OCR boxes are padded around the ink by varying amounts, and over a
#: column's length the widest of them narrow the free strip (poster.pdf: 0.73 sizes left).
#: An OCR'd line is one box, so no word space inside a column makes a strip.
BAND_GUTTER = 0.6
#: The narrowest column beside such a gutter, in text sizes.
BAND_SIDE = 3.0


def _column_bands(segs: list[U.Seg]) -> list[list[U.Seg]]:
    """OCR'd lines that no layout region sorts into columns (a low-resolution scan the layout
    model took for one figure, a page read sideways), as groups that never mix columns.

    A page-wide gutter search fails where full-width text (a list, a title) runs above two
    columns: too many lines cross the gutter. So gutters are found band by band: a strip at
    least :data:`BAND_GUTTER` sizes wide that no line of the band covers, with the band's text
    on both sides, over at least :data:`BAND_ROWS` consecutive lines. Each band's lines on
    either side of its gutters are a group of their own; the other lines form one more.
    Without that, the two columns' lines sorted into one list alternate, and no line could
    join the next line of its own column: each printed line was translated alone.

    Text on both sides is asked of the band, not of each line: two columns' lines seldom
    share baselines, so many lines have a neighbour on their own side only (beside a
    heading's space in the other column). Asked of each line, such a line broke the band and
    was left out of its column, alone ("--existing notes are not erased ...")."""
    rows: dict[int, list[U.Seg]] = {}
    for s in segs:
        rows.setdefault(s.line, []).append(s)
    order = sorted(rows)
    if len(order) < BAND_ROWS:
        return [segs]
    left = math.floor(min(s.x0 for s in segs))
    width = math.ceil(max(s.x1 for s in segs)) - left + 1
    size = statistics.median(s.size for s in segs)
    covers = []  # per line: the x its text covers
    for line in order:
        covered = np.zeros(width, dtype=bool)
        for s in rows[line]:
            covered[int(s.x0) - left : math.ceil(s.x1) - left] = True
        covers.append(covered)
    parts: list[list[U.Seg]] = []
    rest: list[U.Seg] = []
    i = 0
    while i < len(order):
        free, inked, j = ~covers[i], covers[i], i + 1
        strips: list[tuple[int, int]] = []  # the band's gutters so far
        while j < len(order):
            grown_free, grown_inked = free & ~covers[j], inked | covers[j]
            if not (grown := _gutters(grown_free, grown_inked, size)):
                break
            free, inked, strips, j = grown_free, grown_inked, grown, j + 1
        cuts = [
            left + (a + b) / 2
            for a, b in strips
            if sum(1 for c in covers[i:j] if c[:a].any() and c[b:].any()) >= BAND_BESIDE
        ]
        if j - i < BAND_ROWS or not cuts:
            rest.extend(rows[order[i]])
            i += 1
            continue
        columns: dict[int, list[U.Seg]] = {}
        for line in order[i:j]:
            for s in rows[line]:
                columns.setdefault(sum(1 for c in cuts if s.x0 > c), []).append(s)
        parts.extend(columns[k] for k in sorted(columns))
        i = j
    return [part for part in [rest, *parts] if part]


def _gutters(free: np.ndarray, inked: np.ndarray, size: float) -> list[tuple[int, int]]:
    """The strips of ``free`` (:func:`units.free_runs`, :data:`BAND_GUTTER` sizes wide or
    more) with a column of text on each side in ``inked`` (the x the band's lines cover):
    :data:`BAND_SIDE` sizes wide or more (marks in a scan's margin are none)."""
    ink = np.flatnonzero(inked)
    if ink.size == 0:
        return []
    first, last = int(ink[0]), int(ink[-1]) + 1
    return [
        (a, b)
        for a, b in U.free_runs(free, BAND_GUTTER * size)
        if a - first >= BAND_SIDE * size and last - b >= BAND_SIDE * size
    ]


def _number_lines(segs: list[U.Seg]) -> None:
    """Give OCR segments on the same visual line the same line index."""
    index = -1
    centre = -1e9
    for s in sorted(segs, key=lambda s: ((s.top + s.bottom) / 2, s.x0)):
        c = (s.top + s.bottom) / 2
        if abs(c - centre) > 0.4 * s.size:
            index += 1
            centre = c
        s.line = index


def _running_lines(doc: Document) -> None:
    """Text repeated at the same place near the top or bottom of several pages (a running
    title, "Page 3 of 9") is a header/footer, whatever the layout model called it."""
    if len(doc.pages) < 3:
        return
    seen: dict[tuple[str, int, int], list[tuple[Block, bool]]] = {}
    for page in doc.pages:
        for block in page.blocks:
            if block.kind not in (LINE, PARAGRAPH, HEADING) or not block.bbox or not page.height:
                continue
            shown = display_box(block.bbox, page.rotate, page.width, page.height)
            shown_height = page.width if page.rotate in (90, 270) else page.height
            top, bottom = shown[1] / shown_height, shown[3] / shown_height
            if top > 0.15 and bottom < 0.85:
                continue
            key = (
                re.sub(r"\d+", "#", block.text.strip().lower()),
                round(shown[0] / 20),
                round(shown[1] / 20),
            )
            seen.setdefault(key, []).append((block, top <= 0.15))
    for found in seen.values():
        pages = {b.page for b, _ in found}
        if len(pages) >= max(3, len(doc.pages) // 2):
            for block, at_top in found:
                block.kind = HEADER if at_top else FOOTER


def classify(doc: Document) -> None:
    """Running headers/footers; headings: clearly larger than the body size, or short bold
    lines; and the title."""
    _running_lines(doc)
    sizes: list[float] = []
    for block in doc.blocks:
        if block.kind in (PARAGRAPH, LINE, CODE) and not block.meta.get("ocr"):
            sizes.extend([block.size] * max(1, len(block.text)))
    body = statistics.median(sizes) if sizes else 0.0
    for block in doc.blocks:
        if body and block.kind in (PARAGRAPH, LINE):
            lines = int(block.meta.get("lines", 1))
            larger = block.size >= body * 1.15 and len(block.text) < 200
            bold_title = (
                block.bold and block.kind == PARAGRAPH and lines <= 2 and len(block.text) < 120
            )
            if larger or bold_title:
                block.kind = HEADING
        if block.kind == HEADING and "level" not in block.meta:
            block.meta["level"] = 1 if body and block.size >= body * 1.5 else 2
    headings = [b for b in doc.blocks if b.kind == HEADING]
    first_page = doc.pages[0].blocks if doc.pages else []
    if headings:
        top = max(headings, key=lambda b: (b.size, -b.page))
        doc.title = top.text
    elif first_page:
        doc.title = first_page[0].text[:120]
    else:
        doc.title = doc.path.stem
