"""Typesetting a page's translations so that no text is drawn over other text.

Why a separate step before drawing: a translation is a different length than its source, and
the only space known to be free is the unit's own box. Each unit is therefore fitted in its
own box first (shrinking to a floor of its source size); only then may it grow, to the right
and downwards, into space that no other text uses (other units, kept text, text outside any
unit, table rules, the page margin). Space a unit grows into is claimed, so two neighbours
never grow into the same gap. Before anything is drawn, every placed line is checked against
the text that will stay on the page and against the other placed lines; a unit that does not
fit, or whose lines would touch another's, is not drawn: its source text stays in place and
the job summary reports it.

Rotation: all geometry is done in the unit's *text frame* (u along the baseline, w down across
the lines), so growing "right" means along the baseline and "down" means to the next line,
whatever the text's orientation on the page. Boxes are in the document model's coordinates
(unrotated user space, origin top-left); ``Block.rotation`` is the baseline direction in PDF
user space, degrees counter-clockwise.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from llmapps.translate.document import LIST_ITEM, TABLE_CELL, Block, Page
from llmapps.translate.paragraphs import LIST_LABEL
from llmapps.translate.writers.layout import (
    LEADING,
    MIN_SIZE,
    Widths,
    cjk_share,
    fit_size,
    font_metrics,
    vertical_text,
)

Rect = tuple[float, float, float, float]  # x0, top, x1, bottom (page) or u0, w0, u1, w1 (frame)

#: A translation may shrink to this share of its source size before it grows into free space.
FLOOR = 0.6
#: Free space kept between a grown unit and its neighbours, as a share of the font size.
GAP = 0.3
#: Growth stops this far from the page edge (unless the source already came closer).
PAGE_MARGIN = 12.0
#: Overlap (points, in both directions) below which two boxes are taken as touching, not colliding.
TOLERANCE = 0.6


@dataclass
class Line:
    text: str
    u: float  # start along the baseline, frame coordinates
    baseline: float  # w of the baseline, frame coordinates
    width: float


@dataclass
class Placement:
    """Where and how one unit's translation is drawn."""

    block: Block
    rotation: int
    size: float
    lines: list[Line]
    frame: Rect  # the region of the text frame the unit uses (its own box, perhaps grown)
    boxes: list[Rect] = field(default_factory=list)  # each line's glyph box, page coordinates
    grown: bool = False
    # Set in columns (vertical CJK): each line is a column along ``rotation``, its glyphs
    # upright; a line's glyph box is the column, one em wide, whatever is drawn in it.
    vertical: bool = False

    def area(self) -> Rect:
        """The page-coordinate box around all drawn lines."""
        return _union(self.boxes)


@dataclass
class PageLayout:
    placements: list[Placement]
    unfit: list[Block]  # units left in the source language (reason in ``meta["unfit"]``)


def _rotation(value: float) -> int:
    return round(value / 90.0) % 4 * 90


def _cos_sin(rotation: int) -> tuple[int, int]:
    return {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}[rotation]


def to_frame(rect: Rect, rotation: int) -> Rect:
    """A page rectangle in the text frame of ``rotation`` (u along the baseline, w downwards)."""
    c, s = _cos_sin(rotation)
    x0, t0, x1, t1 = rect
    us = (x0 * c - t0 * s, x1 * c - t1 * s)
    ws = (x0 * s + t0 * c, x1 * s + t1 * c)
    return (min(us), min(ws), max(us), max(ws))


def to_page_point(u: float, w: float, rotation: int) -> tuple[float, float]:
    c, s = _cos_sin(rotation)
    return u * c + w * s, -u * s + w * c


def to_page(rect: Rect, rotation: int) -> Rect:
    c, s = _cos_sin(rotation)
    u0, w0, u1, w1 = rect
    xs = (u0 * c + w0 * s, u1 * c + w1 * s)
    ts = (-u0 * s + w0 * c, -u1 * s + w1 * c)
    return (min(xs), min(ts), max(xs), max(ts))


def overlaps(a: Rect, b: Rect, tolerance: float = TOLERANCE) -> bool:
    """True when ``a`` and ``b`` share more than ``tolerance`` points in both directions."""
    return (
        min(a[2], b[2]) - max(a[0], b[0]) > tolerance
        and min(a[3], b[3]) - max(a[1], b[1]) > tolerance
    )


def area(r: Rect) -> float:
    return max(0.0, r[2] - r[0]) * max(0.0, r[3] - r[1])


def runs_along(rule: Rect, box: Rect, rotation: int, margin: float) -> bool:
    """``rule`` lies inside ``box`` (grown by ``margin``) and runs along text turned
    ``rotation``: an underline or a strike-through of the box's words, not a border."""
    x0, t0, x1, t1 = rule
    inside = (
        x0 >= box[0] - margin
        and x1 <= box[2] + margin
        and t0 >= box[1] - margin
        and t1 <= box[3] + margin
    )
    return inside and (x1 - x0 >= t1 - t0) == (rotation in (0, 180))


def _union(rects: Iterable[Rect]) -> Rect:
    rs = list(rects)
    return (
        min(r[0] for r in rs),
        min(r[1] for r in rs),
        max(r[2] for r in rs),
        max(r[3] for r in rs),
    )


def source_size(block: Block) -> float:
    """The source's font size, or one estimated from the box and its line count."""
    if block.size and block.size > 0:
        return float(block.size)
    assert block.bbox is not None
    frame = to_frame(block.bbox, _rotation(block.rotation))
    lines = max(1, int(block.meta.get("lines", 1) or 1))
    return max(MIN_SIZE, min(48.0, (frame[3] - frame[1]) / lines / 1.1))


class BoxIndex:
    """Rectangles bucketed on a coarse grid, so "which boxes are near this one" costs the
    neighbours, not the whole page (dense tables have thousands of boxes)."""

    def __init__(self, rects: Iterable[Rect] = (), cell: float = 48.0) -> None:
        self.cell = cell
        self.rects: list[Rect] = []
        self._grid: dict[tuple[int, int], list[int]] = {}
        for rect in rects:
            self.add(rect)

    def _cells(self, rect: Rect) -> Iterable[tuple[int, int]]:
        c = self.cell
        x0, x1 = math.floor(rect[0] / c), math.floor(rect[2] / c)
        y0, y1 = math.floor(rect[1] / c), math.floor(rect[3] / c)
        if (x1 - x0 + 1) * (y1 - y0 + 1) > 4096:  # absurd boxes: clamp the work
            x1, y1 = x0 + 63, y0 + 63
        for i in range(x0, x1 + 1):
            for j in range(y0, y1 + 1):
                yield i, j

    def add(self, rect: Rect) -> int:
        index = len(self.rects)
        self.rects.append(rect)
        for key in self._cells(rect):
            self._grid.setdefault(key, []).append(index)
        return index

    def near(self, rect: Rect) -> list[int]:
        """Indices of the boxes that may touch ``rect`` (a superset; test them exactly)."""
        found: set[int] = set()
        for key in self._cells(rect):
            found.update(self._grid.get(key, ()))
        return sorted(found)

    def touching(self, rect: Rect, tolerance: float = TOLERANCE) -> list[int]:
        return [i for i in self.near(rect) if overlaps(self.rects[i], rect, tolerance)]

    def containing(self, x: float, y: float, margin: float = 0.0) -> list[int]:
        """Indices of the boxes holding the point (x, y), grown by ``margin``."""
        near = self.near((x - margin, y - margin, x + margin, y + margin))
        return [
            i
            for i in near
            if self.rects[i][0] - margin <= x <= self.rects[i][2] + margin
            and self.rects[i][1] - margin <= y <= self.rects[i][3] + margin
        ]


def _own_box(box: Rect, others: Sequence[Rect], written: Rect | None = None) -> Rect:
    """``box`` cut clear of the other units' boxes that overlap it (parsers may return boxes
    that overlap a little); a cut that would lose more than 60% of the box is not made, unless
    it keeps the unit's own text (``written``) whole. Such a cut is taken first: a label over a
    redaction box keeps its line, not the wider strip beside the box."""
    out = box
    for other in others:
        if not overlaps(out, other):
            continue
        x0, t0, x1, t1 = out
        cuts = [
            (x0, t0, other[0], t1),
            (other[2], t0, x1, t1),
            (x0, t0, x1, other[1]),
            (x0, other[3], x1, t1),
        ]
        cuts = [c for c in cuts if c[2] > c[0] and c[3] > c[1]]
        holding = [c for c in cuts if written is not None and _holds(c, written)]
        large = [c for c in cuts if area(c) >= 0.4 * area(box)]
        if holding or large:
            out = max(holding or large, key=area)
    return out


def _holds(outer: Rect, inner: Rect) -> bool:
    """``outer`` holds the lines of ``inner`` (their descenders and accents may poke out)."""
    poke = max(TOLERANCE, 0.3 * (inner[3] - inner[1]))
    return (
        outer[0] <= inner[0] + TOLERANCE
        and outer[1] <= inner[1] + poke
        and outer[2] >= inner[2] - TOLERANCE
        and outer[3] >= inner[3] - poke
    )


def _ground(fill: Rect, written: Rect) -> bool:
    """A dark shape is the ground of the text written on it (a header bar, a badge behind a
    word) when it holds half of that text or the text covers a quarter of it; one that only
    touches its descenders (a redaction box under a label) is not."""
    x0, t0 = max(fill[0], written[0]), max(fill[1], written[1])
    x1, t1 = min(fill[2], written[2]), min(fill[3], written[3])
    shared = max(0.0, x1 - x0) * max(0.0, t1 - t0)
    return shared >= 0.5 * area(written) or shared >= 0.25 * area(fill)


def text_box(block: Block) -> Rect:
    """Where the unit's source text lies: a table cell's unit spans its whole cell."""
    assert block.bbox is not None
    box = block.meta.get("text_box")
    return tuple(box) if box else block.bbox  # type: ignore[return-value]


class Typesetter:
    """Fits every unit of one page, in reading order, claiming the space each one uses."""

    def __init__(
        self,
        page: Page,
        font: str,
        text: Sequence[Rect] = (),
        rules: Sequence[Rect] = (),
        *,
        floor: float = FLOOR,
        shapes: Sequence[Rect] = (),
        blank: Callable[[Block, Rect], bool] | None = None,
    ) -> None:
        self.page = page
        self.font = font
        # For units drawn on a patch (scans): may this page area be painted over? (Growth
        # must not paint the paper's colour over a photo or a drawing of the scan.)
        self.blank = blank
        self.metrics = font_metrics(font)
        self.floor = floor
        self.text = list(text)  # text that stays outside any unit (page coordinates)
        self.rules = list(rules)  # table rules and other thin lines
        # Dark filled shapes and pictures: no unit is drawn over one, but the one its own text
        # was printed on (:func:`_ground`).
        self.shapes = list(shapes)
        # Everything a unit may not grow into, in page coordinates, and per text rotation in
        # that rotation's frame (built when first needed; grown units are added as they go).
        self._blockers = BoxIndex()
        self._frames: dict[int, BoxIndex] = {}
        self._rules: set[int] = set()  # blocker indexes of :attr:`rules`
        self._edges: _Edges | None = None  # built when a one-line unit is first aligned
        self._shapes: set[int] = set()  # blocker indexes of :attr:`shapes`

    def _block(self, rect: Rect) -> int:
        index = self._blockers.add(rect)
        for rotation, frame_index in self._frames.items():
            frame_index.add(to_frame(rect, rotation))
        return index

    def _frame_index(self, rotation: int) -> BoxIndex:
        if rotation not in self._frames:
            self._frames[rotation] = BoxIndex(to_frame(r, rotation) for r in self._blockers.rects)
        return self._frames[rotation]

    def run(self, units: Sequence[Block], fixed: Sequence[Block]) -> PageLayout:
        """Place ``units`` (to be translated); ``fixed`` are units whose text stays."""
        own_index: dict[int, int] = {}
        for block in [*units, *fixed]:
            if block.bbox is not None:
                own_index[id(block)] = self._block(block.bbox)
        for rect in self.text:
            self._block(rect)
        self._rules = {self._block(rect) for rect in self.rules}
        self._shapes = {self._block(rect) for rect in self.shapes}
        placements: list[Placement] = []
        unfit: list[Block] = []
        for block in units:
            assert block.bbox is not None
            block.meta.pop("unfit", None)
            placement = self.place(block, own_index[id(block)])
            if placement is None:
                block.meta["unfit"] = "does not fit its box at a readable size"
                unfit.append(block)
                continue
            placements.append(placement)
            if placement.grown:
                self._block(placement.area())
        staying = [b.bbox for b in [*fixed, *unfit] if b.bbox is not None] + self.text
        placements, rejected = check(placements, self.page, staying)
        return PageLayout(placements, unfit + rejected)

    def place(self, block: Block, own_index: int = -1) -> Placement | None:
        """The placement of ``block``'s translation, or None when it cannot fit.

        ``own_index`` is the block's own box among the blockers (it never blocks itself)."""
        assert block.bbox is not None
        rotation = _rotation(block.rotation)
        size = source_size(block)
        text = "\n".join(" ".join(part.split()) for part in block.output.split("\n"))
        # A vertical unit (``rotation`` runs down its columns) is set in columns again when
        # its translation is CJK; any other script is laid along the same direction, turned
        # 90° clockwise, so its lines keep the columns' places and reading order.
        vertical = bool(block.meta.get("vertical")) and cjk_share(text) >= 0.5
        if vertical:
            text = vertical_text(text, self.font)
        page_box: Rect = self.page.area(block.bbox)
        clamped = _clamp(block.bbox, page_box)
        written = text_box(block)
        grounds = [
            i
            for i in self._blockers.touching(written, 0.0)
            if i in self._shapes and _ground(self._blockers.rects[i], written)
        ]
        skip = {own_index, *grounds}
        near = [
            self._blockers.rects[i]
            for i in self._blockers.touching(clamped)
            if i not in skip and not self._underline(i, clamped, rotation)
        ]
        own_page = _own_box(clamped, near, written)
        own = to_frame(own_page, rotation)
        floor = max(MIN_SIZE, size * self.floor)
        leading = _leading(block, own, size)
        indent, hang = (0.0, 0.0) if vertical else _indents(block, own[2] - own[0])
        fitted = fit_size(
            text, self.font, own[2] - own[0], own[3] - own[1], size, floor, leading, indent, hang
        )
        frame = own
        grown = False
        if fitted is None or fitted.size < size * 0.85:
            index = self._frame_index(rotation)
            limits = _page_limits(to_frame(page_box, rotation), own)
            best = fitted
            for candidate in _candidates(own, index, skip, limits, size * GAP):
                if candidate == own:
                    continue
                if self.blank is not None and not all(
                    self.blank(block, to_page(strip, rotation)) for strip in _added(own, candidate)
                ):
                    continue
                trial = fit_size(
                    text,
                    self.font,
                    candidate[2] - candidate[0],
                    candidate[3] - candidate[1],
                    size,
                    floor,
                    leading,
                    indent,
                    hang,
                )
                if trial is not None and (best is None or trial.size > best.size * 1.05):
                    best, frame, grown = trial, candidate, True
            fitted = best
        if fitted is None:
            return None
        lines = self._lines(block, fitted.lines, fitted.size, fitted.leading, own, frame, rotation)
        if indent or hang:
            for i, line in enumerate(lines):
                line.u += indent if i == 0 else hang
        placement = Placement(
            block, rotation, fitted.size, lines, frame, grown=grown, vertical=vertical
        )
        placement.boxes = [self._glyph_box(line, fitted.size, rotation) for line in lines]
        return placement

    def _underline(self, index: int, box: Rect, rotation: int) -> bool:
        """Blocker ``index`` is a rule inside ``box`` that runs along its text (``rotation``):
        an underline or a strike-through of the unit's own words, not a border. It must not
        cut the unit's box: an underlined link would squeeze its paragraph into the part of
        the box beside it."""
        return index in self._rules and runs_along(
            self._blockers.rects[index], box, rotation, TOLERANCE
        )

    def _lines(
        self,
        block: Block,
        texts: list[str],
        size: float,
        leading: float,
        own: Rect,
        frame: Rect,
        rotation: int,
    ) -> list[Line]:
        widths = Widths.of(self.font)
        ascent = 1 + self.metrics.descent  # glyph box top above the baseline (pdfminer's rule)
        height = size + (len(texts) - 1) * leading
        top = frame[1]
        own_height = own[3] - own[1]
        single = own_height < size * 2.0 or block.kind == TABLE_CELL
        if single and height < own_height and frame[3] - frame[1] <= own_height + 0.01:
            top = own[1] + (own_height - height) / 2  # keep a short unit centred on its line
            written = _top_of_text(block, own, size, rotation)
            if written is not None:
                top = max(own[1], min(written, own[3] - height))
        not_wider = frame[2] - frame[0] <= own[2] - own[0] + 0.01
        one_line = own_height < size * 2.0  # a centred paragraph may just be justified
        align = "left"
        if not_wider and one_line:
            if self._edges is None:
                self._edges = _Edges(self.page)
            align = _alignment(block, self.page, rotation, self._edges)
        elif not_wider:  # lines centred or set flush right in the source (parsers/units.py)
            align = str(block.meta.get("align", "left"))
        out = []
        for i, text in enumerate(texts):
            baseline = top + ascent * size + i * leading
            width = widths.text(text) * size
            start = frame[0]
            if align == "centre":
                start = max(frame[0], (own[0] + own[2]) / 2 - width / 2)
            elif align == "right":
                start = max(frame[0], own[2] - width)
            out.append(Line(text, start, baseline, width))
        return out

    def _glyph_box(self, line: Line, size: float, rotation: int) -> Rect:
        ascent = 1 + self.metrics.descent
        rect = (
            line.u,
            line.baseline - ascent * size,
            line.u + line.width,
            line.baseline - self.metrics.descent * size,
        )
        return to_page(rect, rotation)


def _indents(block: Block, width: float) -> tuple[float, float]:
    """The source's first-line indent and hanging indent (``meta``, points), as long as the
    lines they leave are at least half of ``width``: a unit squeezed by its neighbours sets
    its lines flush instead."""
    indent = float(block.meta.get("indent", 0.0) or 0.0)
    hang = float(block.meta.get("hang", 0.0) or 0.0)
    if max(indent, hang) > width / 2:
        return 0.0, 0.0
    return indent, hang


def _leading(block: Block, own: Rect, size: float) -> float:
    """Line spacing as a share of the size: the source's own when it had several lines
    (``meta["lines"]``), within 1.05-1.3; else LEADING."""
    lines = int(block.meta.get("lines", 1) or 1)
    if lines < 2 or size <= 0:
        return LEADING
    pitch = ((own[3] - own[1]) - size) / (lines - 1)
    return min(1.3, max(1.05, pitch / size))


def _top_of_text(block: Block, own: Rect, size: float, rotation: int) -> float | None:
    """Where a table cell's text started when it sat at the top of its cell (a form's label
    over the empty field for its value), in ``rotation``'s frame: the translation starts
    there too, not in the middle of the field. None for text centred in its cell."""
    if block.kind != TABLE_CELL or not block.meta.get("text_box"):
        return None
    text = to_frame(text_box(block), rotation)
    above, below = text[1] - own[1], own[3] - text[3]
    return text[1] if below - above > 0.5 * size else None


class _Edges:
    """Where a page's units start and end, sorted once per page: how many units share an
    edge (within 1 pt) is then a bisection, not a pass over every unit for every line."""

    def __init__(self, page: Page) -> None:
        boxes = [b.bbox for b in page.blocks if b.bbox is not None]
        self.lefts = sorted(box[0] for box in boxes)
        self.rights = sorted(box[2] for box in boxes)
        self.ids = {id(b) for b in page.blocks if b.bbox is not None}
        # (middle, box) of every unit, by middle: the centred stacks of :meth:`centred`.
        self.middles = sorted(((box[0] + box[2]) / 2, box) for box in boxes)
        self._keys = [middle for middle, _ in self.middles]

    @staticmethod
    def near(values: list[float], x: float) -> int:
        return bisect.bisect_left(values, x + 1.0) - bisect.bisect_right(values, x - 1.0)

    def centred(self, box: Rect) -> bool:
        """``box`` shares its middle (within 1.5 pt) with two units near it above or below,
        one of which starts elsewhere: a stack of centred lines (a title page, an address
        block). The one starts at least half a line height away, and each is at least a
        quarter as wide (not an item's "1." under a line); a single such neighbour is often
        chance (a field list's "Date: 2005/08/22" over "Author: Jani Averbach")."""
        x0, top, x1, bottom = box
        middle, height, width = (x0 + x1) / 2, bottom - top, x1 - x0
        lo = bisect.bisect_left(self._keys, middle - 1.5)
        hi = bisect.bisect_right(self._keys, middle + 1.5)
        near = [
            other
            for _, other in self.middles[lo:hi]
            if other is not box
            and 4 * min(width, other[2] - other[0]) >= max(width, other[2] - other[0])
            and other[1] < bottom + 3 * height
            and other[3] > top - 3 * height
        ]
        elsewhere = [other for other in near if abs(other[0] - x0) > max(2.0, 0.5 * height)]
        return len(near) >= 2 and bool(elsewhere)


def _alignment(block: Block, page: Page, rotation: int, edges: _Edges) -> str:
    """How a one-line unit sits on its line: "centre" (centred on the page, a title, or in a
    stack of lines centred on one another: :meth:`_Edges.centred`), "right"
    (its end on an edge other units end at, its start on none, and no wider than half the
    page: a running header set flush right, a date in a letterhead) or "left". A line that
    only happens to end near the mirror of its start (a list item as long as that) starts
    where other units start: left."""
    if rotation != 0 or block.bbox is None or page.width <= 0:
        return "left"
    x0, _, x1, _ = block.bbox
    itself = 1 if id(block) in edges.ids else 0  # its own edges are among the page's
    shared = edges.near(edges.lefts, x0) - itself  # other units starting where it starts
    # OCR'd lines and list items wander or hang: their middles meet by chance.
    stacked = not block.meta.get("ocr") and block.kind != LIST_ITEM
    if stacked and shared < 2 and edges.centred(block.bbox):
        return "centre"
    if shared > 0:
        return "left"
    middle = (x0 + x1) / 2
    # A long list item ("d. Tighten nut to produce ...") may happen to sit mid-page.
    item = LIST_LABEL.match(block.text) is not None and x1 - x0 > 0.5 * page.width
    if abs(middle - page.width / 2) < 0.02 * page.width and x1 - x0 < 0.8 * page.width:
        return "left" if item else "centre"
    # A line that long ran on from its start; its end meets another's by chance (OCR).
    if x1 - x0 > 0.5 * page.width:
        return "left"
    return "right" if edges.near(edges.rights, x1) > itself else "left"


def _clamp(rect: Rect, page: Rect) -> Rect:
    x0, t0, x1, t1 = rect
    x0, x1 = max(page[0], min(x0, page[2])), max(page[0], min(x1, page[2]))
    t0, t1 = max(page[1], min(t0, page[3])), max(page[1], min(t1, page[3]))
    return (x0, t0, max(x1, x0 + 1.0), max(t1, t0 + 1.0))


def _page_limits(page: Rect, own: Rect) -> Rect:
    """How far a unit may grow on the page: to the margin, or its own edge if it is closer."""
    return (
        page[0],
        page[1],
        max(own[2], page[2] - PAGE_MARGIN),
        max(own[3], page[3] - PAGE_MARGIN),
    )


def _candidates(
    own: Rect, index: BoxIndex, skip: Collection[int], limits: Rect, gap: float
) -> list[Rect]:
    """Grown boxes to try: wider, taller (same width), both (frame coordinates)."""
    u0, w0, u1, w1 = own
    right = _free_right(own, index, skip, limits[2], gap)
    down = _free_down(own, index, skip, limits[3], gap)
    wide = (u0, w0, right, w1)
    both_down = _free_down(wide, index, skip, limits[3], gap)
    return [wide, (u0, w0, u1, down), (u0, w0, right, both_down)]


def _added(own: Rect, grown: Rect) -> list[Rect]:
    """The strips ``grown`` adds to ``own`` (frame coordinates): beside it and below."""
    strips = []
    if grown[2] > own[2]:
        strips.append((own[2], own[1], grown[2], own[3]))
    if grown[3] > own[3]:
        strips.append((grown[0], own[3], grown[2], grown[3]))
    return strips


def _free_right(
    box: Rect, index: BoxIndex, skip: Collection[int], limit: float, gap: float
) -> float:
    """How far ``box`` may grow along the baseline before a blocker (or ``limit``)."""
    _, w0, u1, w1 = box
    right = limit
    for i in index.near((u1, w0, limit, w1)):
        b = index.rects[i]
        if i not in skip and b[1] < w1 - TOLERANCE and b[3] > w0 + TOLERANCE and b[2] > u1:
            right = min(right, u1 if b[0] < u1 else b[0] - gap)
    return max(u1, right)


def _free_down(
    box: Rect, index: BoxIndex, skip: Collection[int], limit: float, gap: float
) -> float:
    """How far ``box`` may grow across its lines before a blocker (or ``limit``)."""
    u0, _, u1, w1 = box
    down = limit
    for i in index.near((u0, w1, u1, limit)):
        b = index.rects[i]
        if i not in skip and b[0] < u1 - TOLERANCE and b[2] > u0 + TOLERANCE and b[3] > w1:
            down = min(down, w1 if b[1] < w1 else b[1] - gap)
    return max(w1, down)


def check(
    placements: list[Placement], page: Page, staying: Sequence[Rect]
) -> tuple[list[Placement], list[Block]]:
    """Drop the placements whose glyphs would overlap text that stays (``staying``), another
    placement's glyphs, or leave the page; their units are marked unfit. Repeated until stable,
    because a dropped unit's source text stays and may touch another placement."""
    rejected: list[Block] = []
    staying = list(staying)
    while True:
        bad = collisions(placements, staying, page.width, page.height, area=page.area)
        if not bad:
            return placements, rejected
        keep = []
        for placement in placements:
            if id(placement) in bad:
                placement.block.meta["unfit"] = bad[id(placement)]
                rejected.append(placement.block)
                if placement.block.bbox is not None:
                    staying.append(placement.block.bbox)
            else:
                keep.append(placement)
        placements = keep


def collisions(
    placements: Sequence[Placement],
    staying: Sequence[Rect],
    width: float,
    height: float,
    *,
    area: Callable[[Rect | None], Rect] | None = None,
) -> dict[int, str]:
    """``id(placement) -> reason`` for every placement with a glyph off the page (or off the
    ``area(unit box)`` it must stay in: :meth:`Page.area`), over text that stays (``staying``
    boxes), or over another placement's glyphs."""
    bad: dict[int, str] = {}
    items: list[tuple[Rect, int]] = []
    index = BoxIndex(staying)
    for placement in placements:
        own = placement.block.bbox
        left, top, right, bottom = area(own) if area else (0.0, 0.0, width, height)
        for glyphs in placement.boxes:
            off_x = glyphs[0] < left - TOLERANCE or glyphs[2] > right + TOLERANCE
            if off_x or glyphs[1] < top - TOLERANCE or glyphs[3] > bottom + TOLERANCE:
                bad[id(placement)] = "would leave the page"
            items.append((glyphs, id(placement)))
            if id(placement) not in bad and any(
                index.rects[i] is not own for i in index.touching(glyphs)
            ):
                bad[id(placement)] = "would overlap text kept in place"
    # Sweep along x: only boxes whose x-ranges meet are compared.
    items.sort(key=lambda item: item[0][0])
    for i, (a, owner_a) in enumerate(items):
        for b, owner_b in items[i + 1 :]:
            if b[0] >= a[2] - TOLERANCE:
                break
            if owner_a != owner_b and overlaps(a, b):
                bad.setdefault(owner_b, "would overlap another translation")
    return bad


def glyph_rotation(matrix: Sequence[float]) -> int:
    """The baseline direction of a text matrix (a, b, c, d, e, f), degrees CCW, to 90°."""
    return _rotation(math.degrees(math.atan2(matrix[1], matrix[0])))
