"""Layout-preserving PDF: original text removed, translations drawn into the same boxes.

Why edit the content stream instead of painting white boxes: a white box would also hide
images, rules and table lines under the text, and the source text would still be there for
copy/search. :mod:`.content` walks each page's content stream and drops the text runs that
start inside a unit being replaced; images, vector graphics and kept text stay untouched. The
typesetter (:mod:`.typeset`) places every translation so that no glyph lands on other text or
off the page; a unit that cannot be placed keeps its source text and is reported. The
translations are then drawn by reportlab on an overlay page (our CJK TrueType font, embedded as
a subset) in the source text's orientation, and merged onto the original page, so page size,
``/Rotate`` and everything else are kept.

Scanned pages whose units came from OCR have no text to remove: each translation is drawn
over a patch filled with the background colour sampled around the OCR'd line
(``meta["background"]``), covering only that line's box and the translation's own lines, in
the sampled text colour (``meta["color"]``); the rest of the page image is untouched. Units
whose source is an invisible OCR text layer over a scan get the same patch, with colours
sampled from the rendered page (:mod:`.sample`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.errors import PdfReadError
from pypdf.generic import NameObject
from reportlab.pdfgen import canvas

from llmapps.translate import pdf_fixes, scripts
from llmapps.translate.document import MICRO_TEXT, Block, Document, Page
from llmapps.translate.fonts import register_font
from llmapps.translate.writers.content import PageContent, Rect, TextRun, draw_over
from llmapps.translate.writers.layout import CORNER_MARKS, Widths, column_pieces, font_metrics
from llmapps.translate.writers.sample import PageImage, colours
from llmapps.translate.writers.typeset import (
    BoxIndex,
    Line,
    PageLayout,
    Placement,
    Typesetter,
    area,
    check,
    runs_along,
    text_box,
    to_page_point,
)

#: A text run belongs to a unit when it starts this close (points) to the unit's box.
START_MARGIN = 1.0
#: Unreadable text (``MICRO_TEXT``) this close to a translated unit goes with it (a space or
#: two after a label's last word, at body sizes).
MICRO_REACH = 4.0

pdf_fixes.apply()


def open_reader(path: Path, password: str | None) -> PdfReader:
    """The source PDF for writing. A file pypdf cannot open (no cross-reference table or
    ``startxref``, as hand-written and truncated PDFs have) but that the parser could read
    is written from a copy that pdfium repairs in memory; the file itself is never changed."""
    try:
        reader = PdfReader(str(path))
    except PdfReadError:
        reader = PdfReader(_repaired(path, password))
    if reader.is_encrypted:
        reader.decrypt(password or "")
    return reader


def _repaired(path: Path, password: str | None) -> io.BytesIO:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path), password=password)
    try:
        buffer = io.BytesIO()
        doc.save(buffer)
    finally:
        doc.close()
    buffer.seek(0)
    return buffer


def replaced_units(page: Page) -> list[Block]:
    """The units whose translation replaces their source on the page."""
    return [
        b
        for b in page.blocks
        if b.bbox is not None and not b.keep and b.translation and b.translation != b.text
    ]


def layout_page(
    page: Page, content: PageContent | None, font: str, image: PageImage | None = None
) -> PageLayout:
    """Typeset ``page``'s translations against what the page's content stream holds.

    Every text run that will stay on the page (not removed with a translated unit's source)
    is text the translations must avoid: runs outside any unit, runs of kept units, and runs
    that only cross a unit's box. Units whose source text is all invisible (an OCR text layer
    over a scanned image) are marked ``meta["patch"]``: the printed line is in the image, so
    the translation needs a patch over it, like a unit from our own OCR.
    """
    units = replaced_units(page)
    chosen = {id(b) for b in units}
    fixed = [b for b in page.blocks if id(b) not in chosen and b.bbox is not None]
    text: list[Rect] = []
    rules: list[Rect] = []
    shapes: list[Rect] = []
    partners: dict[int, list[Block]] = {}
    if content is not None and units:
        scan = content.scan()
        rules = scan.rules
        # A page-wide ground (a slide's dark background, a scan, a watermark picture) is
        # every unit's ground: no blocker.
        page_area = page.width * page.height
        shapes = [f for f in [*scan.fills, *scan.images] if area(f) < 0.25 * page_area]
        partners = _shared_runs(units, fixed, scan.runs)
        redraw = [b for b in fixed if id(b) in partners]
        units = [*units, *redraw]
        fixed = [b for b in fixed if id(b) not in partners]
        removing = _remover(units, fixed, page.ocr)
        text = [
            run.box
            for run in scan.runs
            if not run.blank
            and run.box[2] > run.box[0]
            and run.size >= MICRO_TEXT  # unreadable text (document.MICRO_TEXT) may be covered
            and not removing(run)
        ]
        _mark_invisible(units, scan.runs)
    if image is not None:
        _fit_to_ink(units, image, page)
    blank = None
    if image is not None and any(_needs_patch(b) for b in units):

        def blank(block: Block, area: Rect) -> bool:
            """Patched units grow only over blank paper (never over a photo of the scan)."""
            if not _needs_patch(block):
                return True
            paper = block.meta.get("background")
            if paper is None and block.bbox is not None:
                paper, _ = colours(image.pixels(block.bbox))
            return image.blank(area, _rgb(paper, (1.0, 1.0, 1.0)))

    layout = Typesetter(page, font, text, rules, shapes=shapes, blank=blank).run(units, fixed)
    return _settle_shared(layout, page, partners) if partners else layout


def _shared_runs(
    units: Sequence[Block], fixed: Sequence[Block], runs: Sequence[TextRun]
) -> dict[int, list[Block]]:
    """Kept units that share a text run with a unit being translated: ``id(kept) -> units``.

    A section or line number set apart from its text ("1  Background") is a kept unit of its
    own, but the PDF may draw both in one run, and runs are removed whole: the run starts in
    the kept unit, so it would stay and sit under the translation. Such a kept unit is drawn
    again by us, in place and unchanged, so that the run can go.
    """
    kept = BoxIndex(b.bbox for b in fixed if b.bbox is not None)
    kept_blocks = [b for b in fixed if b.bbox is not None]
    placed = BoxIndex(b.bbox for b in units if b.bbox is not None)
    placed_blocks = [b for b in units if b.bbox is not None]
    out: dict[int, list[Block]] = {}
    for run in runs:
        if run.blank or run.invisible:
            continue
        homes = kept.containing(run.x, run.t, START_MARGIN)
        if len(homes) != 1:
            continue
        home = kept_blocks[homes[0]]
        if home.bbox is None or len(home.text) > 12 or any(c.isalpha() for c in home.text[1:]):
            continue  # only numbers and labels are redrawn (the source font is not ours)
        for i in placed.touching(run.box):
            other = placed_blocks[i]
            box = other.bbox
            assert box is not None
            inside = min(run.box[2], box[2]) - max(run.box[0], box[0])
            if inside > 0.5 * (box[2] - box[0]):
                out.setdefault(id(home), []).append(other)
    for block in fixed:
        if id(block) in out:
            block.meta["redraw"] = True
    return out


def _settle_shared(layout: PageLayout, page: Page, partners: dict[int, list[Block]]) -> PageLayout:
    """A redrawn kept unit and the units sharing its run are placed together or not at all
    (a run is removed whole: placing one alone would lose or cover the other's text)."""
    placements = list(layout.placements)
    unfit = list(layout.unfit)
    while True:
        placed = {id(p.block) for p in placements}
        drop: set[int] = set()
        for kept_id, others in partners.items():
            together = [kept_id, *(id(o) for o in others)]
            if not all(i in placed for i in together):
                drop.update(i for i in together if i in placed)
        if not drop:
            break
        for p in placements:
            if id(p.block) in drop and not p.block.meta.get("redraw"):
                p.block.meta["unfit"] = "shares a text run with text that stays"
                unfit.append(p.block)
        placements = [p for p in placements if id(p.block) not in drop]
        staying = [p.block.bbox for p in layout.placements if id(p.block) in drop and p.block.bbox]
        placements, rejected = check(placements, page, staying)
        unfit.extend(rejected)
    for block in unfit:
        if block.meta.get("redraw"):
            block.meta.pop("unfit", None)  # it stays as printed: nothing is lost
    return PageLayout(placements, [b for b in unfit if not b.meta.get("redraw")])


def _mark_invisible(units: Sequence[Block], runs: Sequence[TextRun]) -> None:
    """Mark units whose source is all invisible text (``meta["patch"]``) and give the others
    their source's text colour (``meta["color"]``) when all their runs share one."""
    index = BoxIndex(b.bbox for b in units if b.bbox is not None)
    with_box = [b for b in units if b.bbox is not None]
    seen: dict[int, set[bool]] = {}
    colours: dict[int, set[tuple[float, float, float] | None]] = {}
    for run in runs:
        if run.blank:
            continue
        for i in index.containing(run.x, run.t, START_MARGIN):
            seen.setdefault(i, set()).add(run.invisible)
            colours.setdefault(i, set()).add(run.color)
    for i, block in enumerate(with_box):
        if block.meta.get("ocr"):
            continue
        if seen.get(i) == {True}:
            block.meta["patch"] = True
        elif len(colours.get(i, ())) == 1 and "color" not in block.meta:
            colour = next(iter(colours[i]))
            if colour is not None and max(colour) > 0.05:  # black is the default anyway
                block.meta["color"] = colour


def _fit_to_ink(units: Sequence[Block], image: PageImage, page: Page) -> None:
    """Move units of an invisible OCR layer onto the printed words they stand for.

    The layer's boxes are the OCR engine's guess: often taller than the printed line, set off
    from it, and a little short of the word's ends. A patch over such a box leaves the word's
    ends showing, and growth past the box is refused (the strip beside it holds the rest of
    the printed word). So the unit's box becomes the ink box found on the rendered page
    (:meth:`PageImage.ink_box`), its size the printed size, and its paper and ink colours are
    sampled there; the layer's own box is kept (``meta["layer_box"]``) so that the invisible
    text is still removed with the unit. The page's other text bounds how far a unit's box may
    grow (:meth:`PageImage.ink_box`). A unit over blank paper is hidden text, not a layer:
    ``meta["hidden"]``, drawn invisible. Only one-line units move; a paragraph keeps its box.
    """
    rotate = page.rotate
    boxes = [b.bbox for b in page.blocks if b.bbox is not None]  # the layer's, before moving
    index = BoxIndex(boxes)
    for block in units:
        if not block.meta.get("patch") or block.meta.get("ocr") or block.bbox is None:
            continue
        box = block.bbox
        paper, ink_colour = colours(image.pixels(box))
        if image.blank(box, paper):
            # Invisible text over blank paper is no OCR layer: nothing is printed there (a
            # form's hidden field names). Its translation stays invisible, with no patch.
            block.meta["hidden"] = True
            del block.meta["patch"]
            continue
        if int(block.meta.get("lines", 1)) > 1:
            # A paragraph's box is the union of its lines' boxes: the ink search, made for a
            # line (a line height around it, letter gaps a tenth of it), would take in the
            # pictures beside a column of text. Its colours are sampled all the same.
            block.meta.setdefault("background", paper)
            block.meta.setdefault("color", ink_colour)
            continue
        along_x = (round(block.rotation / 90.0) - round(rotate / 90.0)) % 2 == 0
        reach = max(box[2] - box[0], box[3] - box[1])  # ink_box looks a line height out
        near = (box[0] - reach, box[1] - reach, box[2] + reach, box[3] + reach)
        others = [boxes[i] for i in index.near(near) if boxes[i] is not box]
        found = image.ink_box(box, paper, along_x, others)
        if found is None:
            continue
        block.meta["layer_box"] = box
        block.meta.setdefault("background", paper)
        block.meta.setdefault("color", ink_colour)
        block.bbox = tuple(round(v, 2) for v in found)  # type: ignore[assignment]
        across = (found[3] - found[1]) if along_x == (rotate % 180 == 0) else found[2] - found[0]
        # Printed caps plus descenders span about 0.9 em.
        if block.size and across > 0:
            block.size = round(min(float(block.size), across / 0.9), 2)


def _needs_patch(block: Block) -> bool:
    return bool(block.meta.get("ocr") or block.meta.get("patch"))


def _sample_missing(layout: PageLayout, image: PageImage) -> None:
    """Paper and ink colours for patched units that do not carry them."""
    for placement in layout.placements:
        block = placement.block
        if not _needs_patch(block) or block.bbox is None or "background" in block.meta:
            continue
        try:
            paper, ink = colours(image.pixels(block.bbox))
        except Exception:  # no render: white paper, black ink (still hides the printed line)
            paper, ink = (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)
        block.meta["background"] = paper
        block.meta.setdefault("color", ink)


def _remover(
    placed: Sequence[Block], kept: Sequence[Block], read_by_ocr: bool = False
) -> Callable[[TextRun], bool]:
    """Which runs go with the ``placed`` units' source: those whose first glyph starts in a
    placed unit's box (a run starting inside a kept unit's box stays even when it also starts
    inside a placed one: numbers must never vanish), and unreadable text (smaller than
    ``MICRO_TEXT``) that touches one: a form's "*Required Field" hidden after its label for
    screen readers would otherwise be the page's last English words.

    On a page our OCR read (``read_by_ocr``) every invisible run goes but those starting in a
    kept unit (a number that stays): an invisible text layer there is an older reading that our
    OCR replaced, because it lies beside the printed words (or ``--ocr always`` asked); left,
    it stays English and blocks the translations' space."""
    boxes = BoxIndex(_source_box(b) for b in placed if b.bbox is not None)
    kept_boxes = BoxIndex(b.bbox for b in kept if b.bbox is not None)

    def decide(run: TextRun) -> bool:
        if read_by_ocr and run.invisible:
            return not kept_boxes.containing(run.x, run.t, START_MARGIN)
        if run.symbol:
            return False  # a check mark or a box: no unit's text (parsers skip its glyphs)
        if run.size < MICRO_TEXT:
            return bool(boxes.touching(run.box, -MICRO_REACH))
        if run.vertical:
            return _first_entered(run, boxes, kept_boxes)
        if not boxes.containing(run.x, run.t, START_MARGIN):
            return False
        # The start point is on the baseline, which lies on a kept box's bottom edge (or a
        # hair below it) when the font has no descent, as a Symbol bullet's box has none.
        up = run.t - START_MARGIN
        return not (kept_boxes.containing(run.x, run.t) or kept_boxes.containing(run.x, up))

    return decide


def _first_entered(run: TextRun, placed: BoxIndex, kept: BoxIndex) -> bool:
    """A vertical run (a column written top to bottom) goes when the first unit box its
    column enters is a placed unit's. Why not its start point: a column often starts with
    indenting ideographic spaces above its unit's box, and the parser (which sees spaces only
    as gaps) cannot say where the run began."""
    x, top, bottom = run.x, run.t - START_MARGIN, run.box[3]

    def entry(index: BoxIndex) -> float | None:
        found = [
            max(top, index.rects[i][1])
            for i in index.near((x - START_MARGIN, top, x + START_MARGIN, bottom))
            if index.rects[i][0] - START_MARGIN <= x <= index.rects[i][2] + START_MARGIN
            and index.rects[i][1] - START_MARGIN <= bottom
            and index.rects[i][3] >= top
        ]
        return min(found) if found else None

    mine, other = entry(placed), entry(kept)
    return mine is not None and (other is None or mine < other)


def _source_box(block: Block) -> Rect:
    """Where the unit's source text starts: its box, and the invisible layer's own box when
    the unit was moved onto the printed ink (:func:`_fit_to_ink`)."""
    assert block.bbox is not None
    layer = block.meta.get("layer_box")
    if layer is None:
        return block.bbox
    return _union_box(block.bbox, layer)


def _grown(box: Rect, by: float) -> Rect:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def _union_box(a: Rect, b: Any) -> Rect:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def remove_source(
    content: PageContent, placed: Sequence[Block], kept: Sequence[Block], read_by_ocr: bool = False
) -> int:
    """Remove the source text of the ``placed`` units from the page's content (and, on a page
    our OCR read, its stale invisible text layer: :func:`_remover`)."""
    if not any(b.bbox is not None for b in placed):
        return 0
    return content.remove(_remover(placed, kept, read_by_ocr), _underlines(placed, kept))


def _underlines(placed: Sequence[Block], kept: Sequence[Block]) -> Callable[[Rect], bool]:
    """Which rules go with the ``placed`` units' source: a rule along a unit's lines inside
    its text's box (an underline or a strike-through of its words), none inside a kept
    unit's box. Left, the underline of a link or of "Important Note" stays where the English
    words were, under the middle of the translation or under nothing."""
    units = [b for b in placed if b.bbox is not None and not b.meta.get("ocr")]
    index = BoxIndex(_grown(text_box(b), max(0.6, 0.15 * b.size)) for b in units)
    kept_index = BoxIndex(b.bbox for b in kept if b.bbox is not None)

    def gone(rule: Rect) -> bool:
        inside = [
            i
            for i in index.touching(rule, 0.0)
            if runs_along(rule, index.rects[i], units[i].rotation, 0.0)
        ]
        return bool(inside) and not kept_index.touching(rule, 0.0)

    return gone


def draw_page(page: Page, layout: PageLayout, font: str, size: tuple[float, float]) -> bytes:
    """A one-page PDF of ``size`` (the unrotated media box) with every placement drawn."""
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=size)
    draw_into(c, page, layout, font, page.height or size[1])
    c.showPage()
    c.save()
    return buffer.getvalue()


def draw_into(c: canvas.Canvas, page: Page, layout: PageLayout, font: str, height: float) -> None:
    """Draw ``layout`` on the canvas's current page (``height``: the page's, for y flips)."""
    # OCR patches first, so no patch can cover another unit's translation.
    placed = {id(p.block) for p in layout.placements}
    staying = [b.bbox for b in page.blocks if id(b) not in placed and b.bbox is not None]
    for placement in layout.placements:
        block = placement.block
        if _needs_patch(block) and block.bbox is not None:
            c.setFillColorRGB(*_rgb(block.meta.get("background"), (1.0, 1.0, 1.0)))
            # A little margin: printed glyphs and scan noise reach just past the OCR'd box.
            pad = min(1.5, 0.1 * placement.size)
            for x0, top, x1, bottom in [*_clear_of(_ink(block), staying, pad), *placement.boxes]:
                w, h = x1 - x0 + 2 * pad, bottom - top + 2 * pad
                c.rect(x0 - pad, height - bottom - pad, w, h, stroke=0, fill=1)
    for placement in layout.placements:
        _draw(c, placement, font, height)


def _ink(block: Block) -> Rect:
    """What the patch hides: the printed lines' upright boxes (``meta["ink"]``, OCR of a
    skewed scan) or the unit's box."""
    ink = block.meta.get("ink")
    assert block.bbox is not None
    if ink is not None and len(ink) == 4:
        x0, top, x1, bottom = (float(v) for v in ink)
        box = block.bbox
        return (min(x0, box[0]), min(top, box[1]), max(x1, box[2]), max(bottom, box[3]))
    return block.bbox


def _clear_of(ink: Rect, staying: Sequence[Rect], pad: float) -> list[Rect]:
    """The parts of ``ink`` a patch may cover without hiding text that stays on the page: on a
    skewed scan a line's upright box reaches over its neighbours, and a neighbour left
    untranslated (or a kept number) must stay readable."""
    parts = [ink]
    for s in staying:
        s = (s[0] - pad, s[1] - pad, s[2] + pad, s[3] + pad)
        cut: list[Rect] = []
        for x0, top, x1, bottom in parts:
            if s[0] >= x1 or s[2] <= x0 or s[1] >= bottom or s[3] <= top:
                cut.append((x0, top, x1, bottom))
                continue
            if s[0] > x0:
                cut.append((x0, top, s[0], bottom))
            if s[2] < x1:
                cut.append((s[2], top, x1, bottom))
            mx0, mx1 = max(x0, s[0]), min(x1, s[2])
            if s[1] > top:
                cut.append((mx0, top, mx1, s[1]))
            if s[3] < bottom:
                cut.append((mx0, s[3], mx1, bottom))
        parts = cut
    return parts


def _rgb(value: Any, default: tuple[float, float, float]) -> tuple[float, float, float]:
    try:
        r, g, b = (float(v) for v in value)
        return (min(1.0, max(0.0, r)), min(1.0, max(0.0, g)), min(1.0, max(0.0, b)))
    except (TypeError, ValueError):
        return default


_TURNS = {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}


def _draw(c: canvas.Canvas, placement: Placement, font: str, height: float) -> None:
    block = placement.block
    cos, sin = _TURNS[placement.rotation]
    text = c.beginText()
    text.setFont(font, placement.size)
    # One font file for everything: fake bold by stroking the glyph outlines too. The render
    # mode outlives BT/ET, so it is set inside q/Q, which restores it afterwards.
    c.saveState()
    c.setFillColorRGB(*_rgb(block.meta.get("color"), (0.0, 0.0, 0.0)))
    if block.meta.get("hidden"):
        text.setTextRenderMode(3)  # hidden in the source, hidden in the translation
    elif block.bold:
        text.setTextRenderMode(2)
        c.setStrokeColorRGB(*_rgb(block.meta.get("color"), (0.0, 0.0, 0.0)))
        c.setLineWidth(placement.size * 0.035)
    for line in placement.lines:
        if placement.vertical:
            _draw_column(text, placement, line, font, height)
            continue
        x, top = to_page_point(line.u, line.baseline, placement.rotation)
        text.setTextTransform(cos, sin, -sin, cos, x, height - top)
        _text_out(text, line.text, font, placement.size)
    c.drawText(text)
    c.restoreState()


def _text_out(text: Any, line: str, font: str, size: float) -> None:
    """``line`` from the text cursor on; superscript digits (footnote marks) as their plain
    digits, smaller and raised (:mod:`llmapps.translate.scripts`): the font lacks most of
    them, and the measure (``Widths``) counts them at that size."""
    for piece, raised in scripts.pieces(line):
        if raised:
            text.setFont(font, size * scripts.SCALE)
            text.setRise(size * scripts.RISE)
        text.textOut(piece)
        if raised:
            text.setFont(font, size)
            text.setRise(0)


def _draw_column(text: Any, placement: Placement, line: Line, font: str, height: float) -> None:
    """One column of a vertical placement, top to bottom: CJK characters upright, one under
    the other (a full-width comma or stop in its cell's upper right, as columns set them),
    runs of other characters (Latin words, digits, dashes without a vertical form) turned 90°
    clockwise along the column. Frame coordinates: u down the column, w across the columns
    (the line's glyph box spans w from ``baseline - ascent`` to ``baseline - descent``)."""
    size = placement.size
    rotation = placement.rotation
    widths = Widths.of(font)
    metrics = font_metrics(font)
    ascent = 1 + metrics.descent
    centre = line.baseline - ascent * size + size / 2
    along = _TURNS[rotation]
    up = _TURNS[(rotation + 90) % 360]
    u = line.u
    for piece, standing in column_pieces(line.text.translate(scripts.FROM_SUPERSCRIPT)):
        advance = widths.text(piece) * size  # a footnote mark in a column: a plain digit
        if standing:
            w = centre + advance / 2  # an upright glyph's baseline runs towards -w
            base = u + ascent * size
            if piece in CORNER_MARKS:
                w, base = w - 0.5 * size, base - 0.45 * size
            x, top = to_page_point(base, w, rotation)
            text.setTextTransform(up[0], up[1], -up[1], up[0], x, height - top)
        else:
            x, top = to_page_point(u, line.baseline, rotation)
            text.setTextTransform(along[0], along[1], -along[1], along[0], x, height - top)
        text.textOut(piece)
        u += advance


def translated_pdf(
    doc: Document, password: str | None = None, font_path: str | None = None
) -> bytes:
    """The layout-preserving translated PDF of the selected pages, as bytes.

    Units that could not be placed keep their source text and are marked
    ``meta["unfit"]`` (the reason), for the job summary. All translations are drawn in one
    reportlab document (one embedded font subset for the whole file), one overlay page per
    translated page, attached to its page as a Form XObject. A page whose content cannot be
    processed is kept as it was, its units reported unfit.
    """
    font = register_font(font_path)
    reader = open_reader(doc.path, password)
    writer = PdfWriter()
    buffer = io.BytesIO()
    overlay = canvas.Canvas(buffer)
    attach: list[tuple[PageObject, int]] = []  # writer page, overlay page index
    for page in doc.pages:
        writer.add_page(reader.pages[page.number - 1])
        target = writer.pages[-1]
        if not replaced_units(page):
            continue
        try:
            layout = _edit_page(doc, page, target, writer, font, password)
        except Exception as exc:  # a broken content stream: keep the page, report its units
            for block in replaced_units(page):
                block.meta["unfit"] = f"page could not be typeset ({type(exc).__name__})"
            continue
        if layout.placements:
            mb = target.mediabox
            overlay.setPageSize((float(mb.width), float(mb.height)))
            draw_into(overlay, page, layout, font, page.height or float(mb.height))
            overlay.showPage()
            attach.append((target, len(attach)))
    if attach:
        overlay.save()
        drawn = PdfReader(io.BytesIO(buffer.getvalue()))
        for target, index in attach:
            draw_over(target, drawn.pages[index], writer)
    _copy_catalog(reader, writer, whole=len(doc.pages) == len(reader.pages))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _copy_catalog(reader: PdfReader, writer: PdfWriter, *, whole: bool) -> None:
    """The document-wide entries the copied pages depend on.

    ``/OCProperties``: the layers that content belongs to (an AutoCAD drawing's), with their
    default states: without it a layer off by default shows and viewers list no layers.
    ``/AcroForm``: the form the pages' fields belong to, when every page is in the output
    (its fields on other pages would drag those pages in).
    """
    root = reader.root_object
    keys = ["/OCProperties", "/AcroForm"] if whole else ["/OCProperties"]
    for key in keys:
        if key in root:
            writer.root_object[NameObject(key)] = root.raw_get(key).clone(writer)


def _edit_page(
    doc: Document,
    page: Page,
    target: PageObject,
    writer: PdfWriter,
    font: str,
    password: str | None,
) -> PageLayout:
    """Typeset the page's translations and remove the source text of the placed units."""
    content = PageContent(target, writer)
    mb = target.mediabox
    media = (float(mb.left), float(mb.bottom), float(mb.right), float(mb.top))
    image = PageImage(doc.path, page.number - 1, page.rotate, password, media)
    layout = layout_page(page, content, font, image)
    placed = [p.block for p in layout.placements]
    placed_ids = {id(b) for b in placed}
    kept = [b for b in page.blocks if id(b) not in placed_ids]
    remove_source(content, placed, kept, page.ocr)
    _sample_missing(layout, image)
    content.save()
    return layout


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
    _copy_catalog(original, writer, whole=False)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
