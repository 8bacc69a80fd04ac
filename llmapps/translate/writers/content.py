"""Reading and editing a page's content stream: where each piece of text is, where the rules
are, and removing the text of translated units.

Why walk the content stream ourselves: the layout-preserving writer must delete exactly the
source text it replaces and nothing else (images, vector graphics, kept numbers stay), and the
typesetter must know which space is really free (text outside any unit, table rules). We track
the graphics state (CTM, text matrix, font, size, spacing) through every operator, including
Form XObjects, and compute each text-showing operator's start point and advance from the
font's width tables, so a run of ``Tj`` operators inside one ``BT`` block is located
glyph-run by glyph-run rather than all at its block's start.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pypdf import PageObject
from pypdf.generic import (
    ArrayObject,
    ContentStream,
    DecodedStreamObject,
    DictionaryObject,
    EncodedStreamObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
)

from llmapps.translate.document import SYMBOL_FONT

Matrix = tuple[float, float, float, float, float, float]
Rect = tuple[float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_SHOW_OPS = {b"Tj", b"TJ", b"'", b'"'}
#: What follows a text object whose clipping glyphs (``Tr`` 4-7) were all removed: a clip to
#: nothing. The spec intersects the clip with the glyphs' outlines, so no glyph means nothing
#: painted after it shows; pdfium instead leaves the clip unchanged and an image meant to show
#: only through the letters (coloured text set as an image clipped by invisible text) would
#: cover its whole box.
_EMPTY_CLIP: list[tuple[Any, bytes]] = [
    ([NumberObject(0), NumberObject(0), NumberObject(0), NumberObject(0)], b"re"),
    ([], b"W"),
    ([], b"n"),
]
_PATH_OPS = {b"m", b"l", b"c", b"v", b"y", b"re", b"h"}
_PAINT_OPS = {b"S", b"s", b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"}
_STROKE_OPS = {b"S", b"s", b"B", b"B*", b"b", b"b*"}
#: A path thinner than this (points) and longer than RULE_MIN is a rule (table line, underline).
RULE_THICKNESS = 2.5
RULE_MIN = 4.0


def mul(m1: Matrix, m2: Matrix) -> Matrix:
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


def point(m: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


@dataclass
class TextRun:
    """One text-showing operator: where it starts and the box its glyphs cover (page
    coordinates, origin top-left)."""

    x: float
    t: float
    box: Rect
    size: float  # glyph height on the page
    rotation: int  # baseline direction, degrees CCW in user space
    invisible: bool = False  # render mode 3/7: an OCR text layer over a scanned image
    blank: bool = False  # only space characters: nothing to collide with
    color: tuple[float, float, float] | None = None  # fill colour (RGB 0..1) when known
    # Vertical writing mode (/WMode 1): glyphs advance down the page and the start point is
    # the top centre of the first glyph (``box`` is the column the run covers).
    vertical: bool = False
    symbol: bool = False  # drawn in a font of pictures (document.SYMBOL_FONT): never removed


@dataclass
class _Font:
    two_byte: bool
    widths: dict[int, float]  # code -> width in 1/1000 em
    default: float
    # Vertical writing mode: ``widths``/``default`` are then the vertical advances (the
    # magnitude of W2's/DW2's w1y, 1/1000 em, downwards).
    vertical: bool = False
    symbol: bool = False  # a font of pictures (document.SYMBOL_FONT): check marks, boxes
    # Codes that draw a space: a run of them only is blank (nothing to collide with, and its
    # start says nothing of where text begins). An embedded subset numbers its glyphs its own
    # way (Identity-H: the space is often code 3), so its ToUnicode map says which they are.
    spaces: frozenset[int] = frozenset((0, 32))


def _cid_widths(array: Any, group: int) -> dict[int, float]:
    """A CIDFont's /W (``group`` 1) or /W2 (``group`` 3: w1y vx vy) array: code -> first
    value of its group."""
    items = list(array.get_object()) if array is not None else []
    widths: dict[int, float] = {}
    i = 0
    while i < len(items) - 1:
        first = int(items[i])
        nxt = items[i + 1]
        nxt = nxt.get_object() if hasattr(nxt, "get_object") else nxt
        if isinstance(nxt, list):
            values = [float(v) for v in nxt]
            for k in range(0, len(values) - group + 1, group):
                widths[first + k // group] = values[k]
            i += 2
        elif i + 1 + group < len(items):
            for code in range(first, int(nxt) + 1):
                widths[code] = float(items[i + 2])
            i += 2 + group
        else:
            break
    return widths


def _vertical(font: Any) -> bool:
    """A Type0 font in vertical writing mode: a vertical predefined CMap (``V``, the JIS
    X 0208 one, or a ``-V`` one: Identity-V, UniJIS-UCS2-V...) or an embedded CMap with
    /WMode 1."""
    encoding = font.get("/Encoding")
    if encoding is None:
        return False
    encoding = encoding.get_object()
    if isinstance(encoding, str):
        name = encoding.lstrip("/")
        return name == "V" or name.endswith("-V")
    try:
        return int(encoding.get("/WMode", 0)) == 1
    except (AttributeError, TypeError, ValueError):
        return False


def _font_widths(font: Any) -> _Font:
    """Advance widths of a font resource (simple fonts' /Widths, Type0 fonts' /W, or /W2 and
    /DW2 in vertical writing mode)."""
    try:
        font = font.get_object()
        out = _font_metrics(font)
        out.symbol = bool(SYMBOL_FONT.search(str(font.get("/BaseFont", ""))))
        out.spaces = _space_codes(font) or out.spaces
        return out
    except Exception:  # a broken font dictionary: estimate
        return _Font(False, {}, 500.0)


def _font_metrics(font: Any) -> _Font:
    if font.get("/Subtype") == "/Type0":
        desc = font["/DescendantFonts"][0].get_object()
        if _vertical(font):
            dw2 = desc.get("/DW2")
            default = -float(dw2[1]) if dw2 is not None and len(dw2) == 2 else 1000.0
            heights = {k: -v for k, v in _cid_widths(desc.get("/W2"), 3).items()}
            return _Font(True, heights, default, vertical=True)
        default = float(desc.get("/DW", 1000))
        return _Font(True, _cid_widths(desc.get("/W"), 1), default)
    first_char = int(font.get("/FirstChar", 0))
    widths = {first_char + k: float(w) for k, w in enumerate(font.get("/Widths", []) or [])}
    if not widths:
        widths = _standard_widths(str(font.get("/BaseFont", "")))
    missing = 500.0
    descriptor = font.get("/FontDescriptor")
    if descriptor is not None:
        missing = float(descriptor.get_object().get("/MissingWidth", 0)) or 500.0
    return _Font(False, widths, missing)


_HEX = r"<([0-9A-Fa-f]+)>"
_BFCHAR = re.compile(rf"{_HEX}\s*{_HEX}")
_BFRANGE = re.compile(rf"{_HEX}\s*{_HEX}\s*{_HEX}")
_ARRAY = re.compile(r"\[[^\]]*\]")
_SECTION = re.compile(rb"begin(bfchar|bfrange)(.*?)end\1", re.DOTALL)
#: What a ToUnicode map may give for a space: space, no-break space, the typographic spaces,
#: ideographic space.
_SPACE_CHARS = frozenset([0x20, 0xA0, 0x3000, *range(0x2000, 0x200C)])


def _space_codes(font: Any) -> frozenset[int]:
    """The codes the font's ToUnicode map turns into spaces (empty without a map)."""
    try:
        data = font["/ToUnicode"].get_object().get_data() if "/ToUnicode" in font else b""
    except Exception:  # an unreadable map: the default guess stands
        return frozenset()
    codes: set[int] = set()
    for kind, body in _SECTION.findall(data[:MAX_CMAP]):
        # A range mapped to an array of targets ("<03> <05> [<20> <21> <22>]") is left out.
        text = _ARRAY.sub("<>", body.decode("latin-1"))
        pairs: list[tuple[str, str, str]]
        if kind == b"bfchar":
            pairs = [(m.group(1), m.group(1), m.group(2)) for m in _BFCHAR.finditer(text)]
        else:
            pairs = [(m.group(1), m.group(2), m.group(3)) for m in _BFRANGE.finditer(text)]
        for low, high, target in pairs:
            if len(target) > 4:
                continue  # a ligature or a surrogate pair: not a space
            first, last, char = int(low, 16), int(high, 16), int(target, 16)
            if last - first > 0xFFFF:
                continue
            # The range maps code to char + (code - first): look up the spaces, not the codes.
            codes.update(
                first + space - char for space in _SPACE_CHARS if 0 <= space - char <= last - first
            )
    return frozenset(codes)


#: ToUnicode maps are read up to this many bytes (a full CJK map is about 200 KB).
MAX_CMAP = 1 << 20


@functools.lru_cache(maxsize=16)
def _standard_widths(base_font: str) -> dict[int, float]:
    """The advance widths of one of the 14 standard fonts, which a PDF may use without
    /Widths (reportlab's own output does: rst2pdf, many generated reports), from the metrics
    reportlab ships; {} for any other font.

    Why it matters: every run's box, and the move that replaces a removed run, is measured
    with these widths. Guessed at 500/1000 em, a line of Courier (600) or Helvetica came out
    short: runs after a removed one were judged outside their unit, stayed, and moved."""
    from reportlab.pdfbase import pdfmetrics

    name = base_font.lstrip("/")
    if name not in pdfmetrics.standardFonts:
        return {}
    return {code: float(w) for code, w in enumerate(pdfmetrics.getFont(name).widths) if w}


#: A ``TJ`` kerning gap this wide (em) or wider splits the operator into pieces.
PIECE_GAP = 0.8


@dataclass
class _Piece:
    """Consecutive strings of a show operator, drawn up to ``end`` (unscaled text space);
    ``lead``: where its first non-space glyph begins."""

    lead: float = 0.0
    end: float = 0.0
    blank: bool = True
    after: float = 0.0  # the operator's whole advance (set on its last piece)
    widths: dict[int, float] = field(default_factory=dict)  # string item -> its advance


@dataclass
class _State:
    ctm: Matrix = IDENTITY
    font: _Font | None = None
    size: float = 0.0
    char_space: float = 0.0
    word_space: float = 0.0
    scale: float = 1.0
    leading: float = 0.0
    rise: float = 0.0
    render: int = 0
    fill: tuple[float, float, float] | None = (0.0, 0.0, 0.0)  # None: a pattern, unknown

    def copy(self) -> _State:
        return _State(**self.__dict__)


@dataclass
class Scan:
    """What one walk over a page found."""

    runs: list[TextRun] = field(default_factory=list)
    rules: list[Rect] = field(default_factory=list)
    # Dark filled shapes (a redaction box, a square bullet, a header bar): text drawn over one
    # cannot be read, unless the shape is the ground the text was printed on.
    fills: list[Rect] = field(default_factory=list)
    # Where images are painted (XObjects and inline images): a translation drawn over a
    # picture spoils it, unless the picture is the ground its text was printed on.
    images: list[Rect] = field(default_factory=list)


class PageContent:
    """A page's content stream (and its forms), parsed once, scanned and then filtered."""

    def __init__(self, page: PageObject, reader: Any) -> None:
        self.page = page
        self.reader = reader
        mb = page.mediabox
        self.left, self.top = float(mb.left), float(mb.top)
        contents = page.get_contents()
        self.stream = ContentStream(contents, reader) if contents is not None else None
        self.changed = False
        self._forms: dict[int, tuple[Any, ContentStream]] = {}
        self._fonts: dict[int, _Font] = {}
        # While removing: which rules go with the removed text (its underlines).
        self._rule_gone: Callable[[Rect], bool] | None = None

    # -- scanning ---------------------------------------------------------------------------
    def scan(self) -> Scan:
        """Every text run and rule of the page."""
        out = Scan()
        if self.stream is not None:
            self._walk(self.stream, self.page.get("/Resources"), IDENTITY, 0, out, None)
        return out

    def remove(
        self, decide: Callable[[TextRun], bool], rule_gone: Callable[[Rect], bool] | None = None
    ) -> int:
        """Drop the text runs for which ``decide`` is true, and the painted subpaths all of
        whose rules ``rule_gone`` gives up (a removed word's underline); returns how many runs
        and subpaths were dropped."""
        if self.stream is None:
            return 0
        self._rule_gone = rule_gone
        try:
            removed = self._walk(
                self.stream, self.page.get("/Resources"), IDENTITY, 0, None, decide
            )
        finally:
            self._rule_gone = None
        self.changed = self.changed or bool(removed)
        return removed

    def save(self) -> None:
        """Write the edited content stream back into the page, compressed.

        The page gets bytes, not the parsed operator list: a long document's pages are all
        held by the writer until it writes, and parsed operators cost far more memory.
        """
        if self.changed and self.stream is not None:
            data = DecodedStreamObject()
            data.set_data(_serialized(self.stream))
            self.page.replace_contents(data.flate_encode())
        self.stream = None
        self._forms.clear()

    # -- the walk ---------------------------------------------------------------------------
    def _to_page(self, x: float, y: float) -> tuple[float, float]:
        return x - self.left, self.top - y

    def _font(self, resources: Any, name: Any) -> _Font | None:
        try:
            fonts = resources.get_object().get("/Font") if resources is not None else None
            ref = fonts.get_object().get(name) if fonts is not None else None
        except Exception:
            return None
        if ref is None:
            return None
        key = id(ref.get_object())
        if key not in self._fonts:
            self._fonts[key] = _font_widths(ref)
        return self._fonts[key]

    def _pieces(self, operands: Any, op: bytes, st: _State) -> list[_Piece]:
        """The pieces of one show operator, in unscaled text space (before the text matrix).

        A ``TJ`` is cut where its kerning opens a gap of :data:`PIECE_GAP` em or more: PDF
        producers draw a whole line in one ``TJ`` (a running header's fields, a table row's
        cells), and each piece may belong to a different unit, so each is removed or kept on
        its own. Every other operator is one piece.
        """
        font = st.font or _Font(False, {}, 500.0)
        items = operands[0] if op == b"TJ" and operands else operands[-1:] if operands else []
        items = list(items) if isinstance(items, list) else [items]
        # Along the writing direction: horizontal scaling applies only to horizontal writing,
        # and a TJ number moves a vertical run down (a horizontal one left).
        scale = 1.0 if font.vertical else st.scale
        sign = 1.0 if font.vertical else -1.0
        gap = PIECE_GAP * st.size * scale
        pieces: list[_Piece] = []
        total = 0.0
        current: _Piece | None = None
        for index, item in enumerate(items):
            if isinstance(item, int | float) or hasattr(item, "as_numeric"):
                try:
                    shift = sign * float(item) / 1000 * st.size * scale
                except (TypeError, ValueError):
                    continue
                total += shift
                if current is not None and op == b"TJ" and gap > 0 and shift >= gap:
                    current = None  # a gap: the next string starts a new piece
                continue
            if current is None:
                current = _Piece(lead=total, end=total)
                pieces.append(current)
            data = _bytes(item)
            step = 2 if font.two_byte else 1
            began = total
            for k in range(0, len(data) - step + 1, step):
                code = int.from_bytes(data[k : k + step], "big")
                if current.blank and code not in font.spaces:
                    current.blank, current.lead = False, total
                width = font.widths.get(code, font.default) / 1000 * st.size + st.char_space
                if step == 1 and code == 32:
                    width += st.word_space
                total += width * scale
            current.widths[index] = total - began
            current.end = total
        if not pieces:
            pieces.append(_Piece())
        for piece in pieces:
            if piece.blank:
                piece.lead = piece.end
        pieces[-1].after = total
        return pieces

    def _run(self, st: _State, tm: Matrix, advance: float, lead: float = 0.0) -> TextRun:
        """The run's box, from ``lead`` to ``advance`` along the text matrix ``tm``; its start
        point is where its first non-space glyph begins (runs often start with indenting
        spaces that lie outside their unit's box)."""
        full = mul(tm, st.ctm)
        if st.font is not None and st.font.vertical:
            return self._vertical_run(st, full, advance, lead)
        x0, y0 = point(full, lead, st.rise)
        x1, y1 = point(full, advance, st.rise)
        a, b, c, d = full[:4]
        up = math.hypot(c, d) * st.size or st.size
        ux, uy = (-b, a)
        norm = math.hypot(ux, uy) or 1.0
        ux, uy = ux / norm, uy / norm
        # Glyph box: from 0.2 em below the baseline to 0.8 em above it.
        xs, ys = [], []
        for px, py in ((x0, y0), (x1, y1)):
            for k in (-0.2, 0.8):
                xs.append(px + ux * up * k)
                ys.append(py + uy * up * k)
        left, top = self._to_page(min(xs), max(ys))
        right, bottom = self._to_page(max(xs), min(ys))
        sx, st_ = self._to_page(x0, y0)
        rotation = round(math.degrees(math.atan2(b, a)) / 90.0) % 4 * 90
        invisible = st.render in (3, 7)
        box = (left, top, right, bottom)
        symbol = st.font is not None and st.font.symbol
        return TextRun(sx, st_, box, up, rotation, invisible, color=st.fill, symbol=symbol)

    def _vertical_run(self, st: _State, full: Matrix, advance: float, lead: float) -> TextRun:
        """A run in vertical writing mode: the origin of each glyph is its top centre and the
        glyphs advance downwards (text space -y), so the run covers a column one em wide,
        from ``lead`` to ``advance`` below the origin."""
        half = st.size / 2
        corners = [
            point(full, dx, -dy) for dx in (-half, half) for dy in (lead, max(advance, lead))
        ]
        xs, ys = [p[0] for p in corners], [p[1] for p in corners]
        left, top = self._to_page(min(xs), max(ys))
        right, bottom = self._to_page(max(xs), min(ys))
        sx, st_ = self._to_page(*point(full, 0.0, -lead))
        a, b, c, d = full[:4]
        up = math.hypot(c, d) * st.size or st.size
        rotation = round(math.degrees(math.atan2(b, a)) / 90.0) % 4 * 90
        invisible = st.render in (3, 7)
        box = (left, top, right, bottom)
        return TextRun(sx, st_, box, up, rotation, invisible, color=st.fill, vertical=True)

    def _walk(
        self,
        stream: ContentStream,
        resources: Any,
        ctm: Matrix,
        depth: int,
        scan: Scan | None,
        decide: Callable[[TextRun], bool] | None,
    ) -> int:
        st = _State(ctm=ctm)
        stack: list[_State] = []
        tm: Matrix = IDENTITY
        tlm: Matrix = IDENTITY
        removed = 0
        kept_ops: list[tuple[Any, bytes]] = []
        path: list[list[tuple[float, float]]] = []
        # The indexes in ``kept_ops`` of the operators that build each subpath of ``path``.
        path_ops: list[list[int]] = []
        dropped_ops: set[int] = set()
        clipping = False  # a W since the path began
        # Glyphs shown in a clipping mode (Tr 4-7) in the current text object: removed, kept.
        clip_removed = clip_kept = False

        for operands, op in stream.operations:
            if op == b"q":
                stack.append(st.copy())
            elif op == b"Q":
                st = stack.pop() if stack else st
            elif op == b"cm" and len(operands) == 6:
                st.ctm = mul(tuple(float(v) for v in operands), st.ctm)  # type: ignore[arg-type]
            elif op == b"BT":
                tm = tlm = IDENTITY
                clip_removed = clip_kept = False
            elif op == b"ET" and clip_removed and not clip_kept:
                kept_ops += [(operands, op), *_EMPTY_CLIP]
                continue
            elif op in (b"Td", b"TD") and len(operands) == 2:
                tx, ty = float(operands[0]), float(operands[1])
                if op == b"TD":
                    st.leading = -ty
                tlm = mul((1, 0, 0, 1, tx, ty), tlm)
                tm = tlm
            elif op == b"Tm" and len(operands) == 6:
                tlm = tm = tuple(float(v) for v in operands)  # type: ignore[assignment]
            elif op == b"T*":
                tlm = mul((1, 0, 0, 1, 0, -st.leading), tlm)
                tm = tlm
            elif op == b"Tf" and len(operands) == 2:
                st.font = self._font(resources, operands[0])
                st.size = float(operands[1])
            elif op == b"TL" and operands:
                st.leading = float(operands[0])
            elif op == b"Tc" and operands:
                st.char_space = float(operands[0])
            elif op == b"Tw" and operands:
                st.word_space = float(operands[0])
            elif op == b"Tz" and operands:
                st.scale = float(operands[0]) / 100
            elif op in (b"g", b"rg", b"k", b"sc", b"scn"):
                st.fill = _fill(operands)
            elif op == b"Tr" and operands:
                with contextlib.suppress(TypeError, ValueError):
                    st.render = int(operands[0])
            elif op == b"Ts" and operands:
                st.rise = float(operands[0])
            elif op == b"Do" and operands and depth < 8:
                removed += self._form(operands[0], resources, st.ctm, depth, scan, decide)
            elif op == b"INLINE IMAGE" and scan is not None:
                scan.images.append(self._unit_square(st.ctm))
            elif op in _PAINT_OPS or op == b"n":
                if op in _PAINT_OPS and scan is not None:
                    _painted(path, op, st.fill, scan)
                if op in _PAINT_OPS and self._rule_gone is not None and not clipping:
                    gone_paths = [
                        k
                        for k, sub in enumerate(path)
                        if _underline_of(sub, op in _STROKE_OPS, self._rule_gone)
                    ]
                    for k in gone_paths:
                        dropped_ops.update(path_ops[k])
                    removed += len(gone_paths)
                    if gone_paths and len(gone_paths) == len(path):
                        kept_ops.append(([], b"n"))  # nothing left to paint
                        path.clear()
                        path_ops.clear()
                        continue
                path.clear()
                path_ops.clear()
                clipping = False
            elif op in (b"W", b"W*"):
                clipping = True  # the path clips too: it stays whole
            elif op in _PATH_OPS and (scan is not None or self._rule_gone is not None):
                _path(self._to_page, op, operands, st.ctm, path)
                if not path:
                    path_ops.clear()
                elif len(path) > len(path_ops):
                    path_ops.append([len(kept_ops)])
                else:
                    path_ops[-1].append(len(kept_ops))
            if op in _SHOW_OPS:
                if op in (b"'", b'"'):
                    if op == b'"' and len(operands) == 3:
                        st.word_space, st.char_space = float(operands[0]), float(operands[1])
                    tlm = mul((1, 0, 0, 1, 0, -st.leading), tlm)
                    tm = tlm
                pieces = self._pieces(operands, op, st)
                advance = pieces[-1].after
                gone: list[_Piece] = []
                for piece in pieces:
                    run = self._run(st, tm, piece.end, piece.lead)
                    run.blank = piece.blank
                    if scan is not None:
                        scan.runs.append(run)
                    if decide is not None and decide(run):
                        gone.append(piece)
                vertical = st.font is not None and st.font.vertical
                tm = mul((1, 0, 0, 1, 0, -advance) if vertical else (1, 0, 0, 1, advance, 0), tm)
                if st.render >= 4:
                    clip_removed = clip_removed or bool(gone)
                    dropped = {id(piece) for piece in gone}
                    clip_kept = clip_kept or any(
                        not piece.blank and id(piece) not in dropped for piece in pieces
                    )
                if gone:
                    removed += len(gone)
                    if len(gone) == len(pieces):
                        kept_ops.extend(_blank(operands, op, st, advance, tm))
                    else:
                        kept_ops.append(_without(operands[0], gone, st))
                    continue
            kept_ops.append((operands, op))
        if removed and decide is not None:
            stream.operations = [o for i, o in enumerate(kept_ops) if i not in dropped_ops]
        return removed

    def _unit_square(self, ctm: Matrix) -> Rect:
        """Where an image lands on the page: the unit square under ``ctm``."""
        corners = [self._to_page(*point(ctm, x, y)) for x in (0.0, 1.0) for y in (0.0, 1.0)]
        xs, ts = [c[0] for c in corners], [c[1] for c in corners]
        return (min(xs), min(ts), max(xs), max(ts))

    def _form(
        self,
        name: Any,
        resources: Any,
        ctm: Matrix,
        depth: int,
        scan: Scan | None,
        decide: Callable[[TextRun], bool] | None,
    ) -> int:
        """Walk a Form XObject (its /Matrix maps form space to the page); re-encoded when
        text is removed from it."""
        try:
            xobjects = resources.get_object().get("/XObject") if resources is not None else None
            if xobjects is None or name not in xobjects.get_object():
                return 0
            form = xobjects.get_object()[name].get_object()
        except Exception:
            return 0
        if form.get("/Subtype") == "/Image" and scan is not None:
            scan.images.append(self._unit_square(ctm))
        if form.get("/Subtype") != "/Form":
            return 0
        key = id(form)
        if key not in self._forms:
            self._forms[key] = (form, ContentStream(form, self.reader))
        sub = self._forms[key][1]
        matrix = tuple(float(v) for v in form.get("/Matrix", IDENTITY))
        inner = form.get("/Resources") or resources
        removed = self._walk(sub, inner, mul(matrix, ctm), depth + 1, scan, decide)  # type: ignore[arg-type]
        if removed and decide is not None:
            _replace_form_content(form, _serialized(sub))
        return removed


def _serialized(stream: ContentStream) -> bytes:
    """The edited stream's bytes, with a white-space before each inline image's ``EI``.

    pypdf writes an inline image as ``ID data EI`` with nothing between the data and ``EI``
    (it drops the white-space it read there). pdfium copes, but pdfminer (pdfplumber, and so
    the knowledge base, search and the layout judge) then takes the rest of the stream for
    image data: every text drawn after the first inline image disappears from the text
    layer. A trailing white-space is ignored by ASCII filters and is what writers put there."""
    ops = stream.operations
    fixed = False
    for operands, operator in ops:
        if operator == b"INLINE IMAGE" and operands["data"][-1:] not in b" \t\r\n\f\0":
            operands["data"] += b"\n"
            fixed = True
    if fixed:
        stream.operations = ops  # drops pypdf's cached bytes
    return bytes(stream.get_data())


def _replace_form_content(form: Any, data: bytes) -> None:
    """Put the edited content ``data`` into the Form XObject ``form`` in place (other pages
    may draw the same form). A stream read with a filter is re-encoded with Flate; one
    stored unfiltered (pypdf's decoded stream) keeps its bytes unfiltered: its dictionary
    must not claim a filter its bytes do not have, or readers other than pdfium lose the
    form's text and graphics."""
    form.pop(NameObject("/DecodeParms"), None)
    if not isinstance(form, EncodedStreamObject):
        form.pop(NameObject("/Filter"), None)
        form.set_data(data)
        return
    form[NameObject("/Filter")] = NameObject("/FlateDecode")
    decoded = DecodedStreamObject()  # set_data encodes from here: the old bytes are not read
    decoded.set_data(data)
    form.decoded_self = decoded
    form.set_data(data)


def _fill(operands: Any) -> tuple[float, float, float] | None:
    """RGB of a fill colour operator by its component count (gray, RGB, CMYK); None for a
    pattern or anything else (an approximation: calibrated and indexed spaces are read as
    their component counts say)."""
    try:
        values = [float(v) for v in operands]
    except (TypeError, ValueError):
        return None
    if len(values) == 1:
        return (values[0], values[0], values[0])
    if len(values) == 3:
        return (values[0], values[1], values[2])
    if len(values) == 4:
        c, m, y, k = values
        return ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))
    return None


#: A fill this dark (luminance, 0..1) hides black text drawn over it.
DARK_FILL = 0.35


def _dark(fill: tuple[float, float, float] | None) -> bool:
    if fill is None:
        return False
    r, g, b = fill
    return 0.299 * r + 0.587 * g + 0.114 * b < DARK_FILL


def _filled(path: list[list[tuple[float, float]]]) -> list[Rect]:
    """The boxes of a filled path's subpaths that are shapes, not rules (both sides at least
    :data:`RULE_THICKNESS`)."""
    out = []
    for sub in path:
        if len(sub) < 3:
            continue
        xs, ts = [p[0] for p in sub], [p[1] for p in sub]
        if min(max(xs) - min(xs), max(ts) - min(ts)) >= RULE_THICKNESS:
            out.append((min(xs), min(ts), max(xs), max(ts)))
    return out


def _path(
    to_page: Callable[[float, float], tuple[float, float]],
    op: bytes,
    operands: Any,
    ctm: Matrix,
    path: list[list[tuple[float, float]]],
) -> None:
    """Add one path-building operator to ``path`` (subpaths of page points)."""
    try:
        if op == b"m" and len(operands) == 2:
            path.append([to_page(*point(ctm, float(operands[0]), float(operands[1])))])
        elif op == b"l" and len(operands) == 2 and path:
            path[-1].append(to_page(*point(ctm, float(operands[0]), float(operands[1]))))
        elif op in (b"c", b"v", b"y") and len(operands) >= 2 and path:
            path[-1].append(to_page(*point(ctm, float(operands[-2]), float(operands[-1]))))
        elif op == b"re" and len(operands) == 4:
            x, y, w, h = (float(v) for v in operands)
            offsets = ((0, 0), (w, 0), (w, h), (0, h), (0, 0))  # closed
            corners = [point(ctm, x + dx, y + dy) for dx, dy in offsets]
            path.append([to_page(px, py) for px, py in corners])
        elif op == b"h" and path and path[-1]:
            path[-1].append(path[-1][0])
    except (TypeError, ValueError):
        path.clear()


def _painted(
    path: list[list[tuple[float, float]]],
    op: bytes,
    fill: tuple[float, float, float] | None,
    scan: Scan,
) -> None:
    """Record the rules and dark shapes a paint operator draws."""
    stroked = op in _STROKE_OPS
    for sub in path:
        if sub:
            scan.rules.extend(_rules(sub, stroked))
    if op not in (b"S", b"s") and _dark(fill):
        scan.fills.extend(_filled(path))


def _underline_of(
    sub: list[tuple[float, float]], stroked: bool, gone: Callable[[Rect], bool]
) -> bool:
    """The subpath draws only rules, and ``gone`` gives up every one of them."""
    rules = _rules(sub, stroked)
    if not rules:
        return False
    xs, ts = [p[0] for p in sub], [p[1] for p in sub]
    if stroked and min(max(xs) - min(xs), max(ts) - min(ts)) >= RULE_THICKNESS:
        return False  # a box drawn around something, not a line under it
    return all(gone(rule) for rule in rules)


def _rules(sub: list[tuple[float, float]], stroked: bool) -> list[Rect]:
    """The rules a painted subpath draws: a thin filled shape is one; a stroked path's
    straight segments are each one (a table's border drawn as one rectangle has four)."""
    xs = [p[0] for p in sub]
    ts = [p[1] for p in sub]
    w, h = max(xs) - min(xs), max(ts) - min(ts)
    if min(w, h) < RULE_THICKNESS:
        return [(min(xs), min(ts), max(xs), max(ts))] if max(w, h) > RULE_MIN else []
    if not stroked:
        return []
    out = []
    for (x0, t0), (x1, t1) in itertools.pairwise(sub):
        if (
            min(abs(x1 - x0), abs(t1 - t0)) < RULE_THICKNESS
            and max(abs(x1 - x0), abs(t1 - t0)) > RULE_MIN
        ):
            out.append((min(x0, x1), min(t0, t1), max(x0, x1), max(t0, t1)))
    return out


def _without(array: Any, gone: list[_Piece], st: _State) -> tuple[Any, bytes]:
    """A ``TJ`` with the strings of the ``gone`` pieces replaced by kerning of their own
    advance: the glyphs go, and everything after them stays exactly where it was."""
    widths = {index: width for piece in gone for index, width in piece.widths.items()}
    factor = _kerning(st)
    out = ArrayObject()
    for index, item in enumerate(array):
        if index in widths:
            item = FloatObject(round(widths[index] * factor, 4))
        out.append(item)
    return [out], b"TJ"


def _blank(
    operands: Any, op: bytes, st: _State, advance: float, tm: Matrix
) -> list[tuple[Any, bytes]]:
    """What replaces a removed show operator: the same line move and advance, no glyphs.

    A ``TJ`` holding only a number moves the text position without drawing, so the runs that
    follow in the same text object stay exactly where they were.
    """
    out: list[tuple[Any, bytes]] = []
    if op == b'"' and len(operands) == 3:
        out += [([operands[0]], b"Tw"), ([operands[1]], b"Tc")]
    if op in (b"'", b'"'):
        out.append(([], b"T*"))
    if st.size and st.scale:
        shift = advance * _kerning(st)
        out.append(([ArrayObject([FloatObject(round(shift, 4))])], b"TJ"))
    else:  # no font size: set the text matrix where the run ended
        out.append(([FloatObject(round(v, 6)) for v in tm], b"Tm"))
    return out


def _kerning(st: _State) -> float:
    """The ``TJ`` number per point of advance: a negative number moves a horizontal run
    right (scaled by Tz), a positive one moves a vertical run down (no scaling)."""
    if st.font is not None and st.font.vertical:
        return 1000 / st.size
    return -1000 / (st.size * st.scale)


def _bytes(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    raw = getattr(item, "_original_bytes", None)  # as in the stream (the public getter
    if isinstance(raw, bytes):  # re-encodes UTF-16 strings with a BOM in front)
        return raw
    for attr in ("get_original_bytes", "original_bytes"):
        value = getattr(item, attr, None)
        if callable(value):
            try:
                return bytes(value())
            except Exception:
                continue
        if isinstance(value, bytes):
            return value
    return str(item).encode("latin-1", "replace")


def draw_over(page: PageObject, overlay: PageObject, writer: Any, name: str = "/LlmappsTr") -> None:
    """Draw ``overlay`` (a page of the media box's size) over ``page``, as a Form XObject.

    Why not ``merge_page``: it parses the page's content stream again. Here the page's
    contents become ``[q] + its own streams + [Q q cm /Name Do Q]``: nothing is parsed, and
    whatever graphics state the page's own content leaves cannot move the overlay.
    """
    data = overlay.get_contents()
    if data is None:
        return
    form = DecodedStreamObject()
    form.set_data(data.get_data())
    form[NameObject("/Type")] = NameObject("/XObject")
    form[NameObject("/Subtype")] = NameObject("/Form")
    mb = overlay.mediabox
    form[NameObject("/BBox")] = ArrayObject(
        [FloatObject(float(v)) for v in (mb.left, mb.bottom, mb.right, mb.top)]
    )
    resources = overlay.get("/Resources")
    if resources is not None:
        form[NameObject("/Resources")] = resources.get_object().clone(writer)
    ref = writer._add_object(form.flate_encode())
    page_resources: Any = page.get("/Resources")
    if page_resources is None:
        page_resources = DictionaryObject()
        page[NameObject("/Resources")] = page_resources
    page_resources = page_resources.get_object()
    xobjects: Any = page_resources.get("/XObject")
    if xobjects is None:
        xobjects = DictionaryObject()
        page_resources[NameObject("/XObject")] = xobjects
    xobjects = xobjects.get_object()
    while name in xobjects:
        name += "X"
    xobjects[NameObject(name)] = ref
    target = page.mediabox
    head = DecodedStreamObject()
    head.set_data(b"q\n")
    tail = DecodedStreamObject()
    left, bottom = float(target.left), float(target.bottom)
    tail.set_data(f"\nQ q 1 0 0 1 {left:.4f} {bottom:.4f} cm {name} Do Q\n".encode())
    contents: Any = page.get("/Contents")
    own = []
    if contents is not None:
        contents = contents.get_object()
        own = list(contents) if isinstance(contents, ArrayObject) else [page["/Contents"]]
        # Streams must be indirect objects inside an array.
        own = [c if isinstance(c, IndirectObject) else writer._add_object(c) for c in own]
    page[NameObject("/Contents")] = ArrayObject(
        [writer._add_object(head), *own, writer._add_object(tail)]
    )
