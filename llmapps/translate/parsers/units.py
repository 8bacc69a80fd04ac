"""Glyphs + layout regions -> translation units that follow the page's structure.

Why this shape: a PDF holds positioned glyphs, no paragraphs. Regions (from the layout model,
or the whole page when it is not available) decide where units start and end; inside a region
the glyphs give lines, and vertical strips no line crosses (gutters) give columns. Only then
are lines joined, and only where they flow: in one region, one column, each line reaching the
column's right edge. Lists, forms and tallies keep one unit per line (numbers and codes stay
where they were), tables one unit per cell, headers and footers apart from the body.

Rotated text is handled in its own frame: each glyph's box is turned so its baseline runs left
to right, grouped like upright text, and turned back, so a unit's box hugs its text and its
``rotation`` tells the writer which way to draw. Boxes here are as displayed; ``pdf.py`` turns
them into unrotated user space (the document model's convention) once a page is done.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmapps.translate.document import (
    CAPTION,
    CODE,
    FOOTER,
    FORMULA,
    HEADER,
    HEADING,
    KEEP,
    LINE,
    LIST_ITEM,
    MONO_FONT,
    PARAGRAPH,
    SYMBOL_FONT,
    TABLE_CELL,
    BBox,
    Block,
    overlap_area,
)
from llmapps.translate.layout_model import Region
from llmapps.translate.paragraphs import (
    LIST_LABEL,
    NUMBERED_OPTION,
    join_lines,
    looks_like_code,
)
from llmapps.translate.scripts import TO_SUPERSCRIPT

#: A line that starts a list item or an option starts a unit.
BULLET = LIST_LABEL
# A new speaker or question/answer in a transcript starts a new unit.
_SPEAKER = re.compile(r"^\s*(?:[QA]\.|[A-Z][A-Z.' ]{1,30}:)\s")
#: A short "Label: value" line of a letterhead, an address block or a form ("Téléphone :
#: +01-819-564-4857", "URL : www.example.org"): an entry of its own, never part of a paragraph.
_FIELD = re.compile(r"^[A-Z\u00c0-\u00de][\w.'\u2019 -]{0,30}?\s?:\s+\S")
FIELD_WORDS = 6
_MATH = re.compile(r"(cmmi|cmsy|cmex|cmbsy|msam|msbm|math|stixmath|rsfs|esint|eufm)", re.I)
_BOLD = re.compile(r"(bold|black|heavy|semibold|demi)", re.I)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")

# Region kinds, by precedence when regions overlap (a table inside a text box wins).
_PRIORITY = {
    "table": 6,
    "equation": 5,
    "figure_caption": 4,
    "table_caption": 4,
    "title": 3,
    "header": 3,
    "footer": 3,
    "text": 2,
    "reference": 2,
    "figure": 1,
}


# --- frames: text direction -------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """Coordinates in which text of one direction reads left to right, lines downwards.

    ``angle`` is the baseline direction as displayed, degrees counter-clockwise. ``u`` runs
    along the baseline, ``v`` across it (towards the next line).
    """

    angle: int

    @property
    def axes(self) -> tuple[tuple[float, float], tuple[float, float]]:
        rad = math.radians(self.angle)
        d = (round(math.cos(rad), 9), round(-math.sin(rad), 9))  # y grows downwards
        n = (-d[1], d[0])
        return d, n

    def to_local(self, box: BBox) -> BBox:
        (dx, dy), (nx, ny) = self.axes
        us, vs = [], []
        for x in (box[0], box[2]):
            for y in (box[1], box[3]):
                us.append(x * dx + y * dy)
                vs.append(x * nx + y * ny)
        return (min(us), min(vs), max(us), max(vs))

    def to_display(self, box: BBox) -> BBox:
        (dx, dy), (nx, ny) = self.axes
        xs, ys = [], []
        for u in (box[0], box[2]):
            for v in (box[1], box[3]):
                xs.append(u * dx + v * nx)
                ys.append(u * dy + v * ny)
        return (min(xs), min(ys), max(xs), max(ys))


def char_angle(char: dict[str, Any]) -> int:
    """Displayed baseline direction of a pdfplumber char, rounded to a quarter turn."""
    matrix = char.get("matrix")
    if not matrix:
        return 0 if char.get("upright", True) else 90
    a, b = float(matrix[0]), float(matrix[1])
    if a == 0 and b == 0:
        return 0
    return round(math.degrees(math.atan2(b, a)) / 90.0) % 4 * 90


# --- glyphs, words, lines, segments ---------------------------------------------------------


@dataclass
class Glyph:
    """A character in a frame's local coordinates (x along the baseline)."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    font: str = ""
    color: Any = None

    @property
    def space(self) -> bool:
        return not self.text.strip()


@dataclass
class Word:
    glyphs: list[Glyph]
    text: str = ""
    x0: float = 0.0
    x1: float = 0.0
    top: float = 0.0
    bottom: float = 0.0

    def finish(self) -> Word:
        self.text = "".join(g.text for g in self.glyphs)
        self.x0 = min(g.x0 for g in self.glyphs)
        self.x1 = max(g.x1 for g in self.glyphs)
        self.top = min(g.top for g in self.glyphs)
        self.bottom = max(g.bottom for g in self.glyphs)
        return self


@dataclass
class Seg:
    """A run of words on one visual line inside one column: the smallest unit."""

    words: list[Word]
    line: int = 0  # index of its visual line in the region
    text: str = ""
    x0: float = 0.0
    x1: float = 0.0
    top: float = 0.0
    bottom: float = 0.0
    size: float = 10.0
    font: str = ""
    bold: bool = False
    bold_share: float = 0.0  # share of bold glyphs
    run_in: bool = False  # starts with a bold lead-in ("Note. The ..."): a paragraph's start
    mono: float = 0.0  # share of monospace glyphs
    math: float = 0.0  # share of formula-font glyphs
    meta: dict[str, Any] = field(default_factory=dict)

    def finish(self) -> Seg:
        glyphs = [g for w in self.words for g in w.glyphs]
        self.text = logical_order(join_words(untracked(self.words)))
        self.x0 = min(w.x0 for w in self.words)
        self.x1 = max(w.x1 for w in self.words)
        self.top = min(w.top for w in self.words)
        self.bottom = max(w.bottom for w in self.words)
        if glyphs:
            self.size = float(statistics.median(g.size for g in glyphs)) or 10.0
            fonts = Counter(g.font for g in glyphs)
            self.font = fonts.most_common(1)[0][0]
            self.bold = bool(_BOLD.search(self.font))
            self.bold_share = sum(n for f, n in fonts.items() if _BOLD.search(f)) / len(glyphs)
            self.run_in = _run_in(self.words)
            self.mono = _font_share(fonts, MONO_FONT)
            self.math = _font_share(fonts, _MATH)
        return self

    @property
    def word_count(self) -> int:
        return len(self.text.split()) + len(_CJK.findall(self.text)) // 2


def _font_share(fonts: Counter[str], pattern: re.Pattern[str]) -> float:
    """The share of glyphs (``fonts``: glyphs per font name) set in a font ``pattern`` names."""
    total = sum(fonts.values())
    return sum(n for f, n in fonts.items() if pattern.search(f)) / total if total else 0.0


def _bold_word(word: Word) -> bool:
    return sum(1 for g in word.glyphs if _BOLD.search(g.font)) * 2 > len(word.glyphs)


#: The end of a run-in heading's bold lead-in: "Standard mileage rates." "Note:" "Exception --"
_LEAD_IN_END = re.compile(r"[.:;!?\u2014\u2013-]$")


def _run_in(words: list[Word]) -> bool:
    """The line starts with a bold lead-in that ends like a heading (a period, a colon) and
    plain text follows on the same line: the first line of a paragraph with a run-in heading,
    whose text flows on over the following lines."""
    count = 0
    while count < len(words) and _bold_word(words[count]):
        count += 1
    if count == 0 or count == len(words):
        return False
    return bool(_LEAD_IN_END.search(words[count - 1].text))


#: Letters in a row that read as one letter-spaced word ("O W N E R"), at least.
TRACKED_LETTERS = 4


def untracked(words: list[Word]) -> list[str]:
    """The texts of a line's words, with letter-spaced runs read as the words they spell.

    Headings and side labels set with wide tracking ("O W N E R", "T R A F F I C") come out
    one letter per word: a model read letters, not the word, and a search found nothing. A
    run of :data:`TRACKED_LETTERS` or more single letters, evenly spaced by less than half an
    em, is one word; a gap half as wide again as the run's usual one starts the next
    ("S O L V E D  B Y" -> "SOLVED BY")."""
    out: list[str] = []
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and len(words[j].text) == 1 and words[j].text.isalpha():
            j += 1
        run = words[i:j]
        if len(run) < TRACKED_LETTERS:
            out.append(words[i].text)
            i += 1
            continue
        gaps = [b.x0 - a.x1 for a, b in itertools.pairwise(run)]
        usual = statistics.median(gaps)
        em = max(g.size for w in run for g in w.glyphs)
        if usual > 0.5 * em:
            out.extend(w.text for w in run)
        else:
            piece = run[0].text
            for gap, word in zip(gaps, run[1:], strict=True):
                if gap > 1.5 * usual + 0.1 * em:
                    out.append(piece)
                    piece = ""
                piece += word.text
            out.append(piece)
        i = j
    return out


def join_words(words: list[str]) -> str:
    """Words of one line: spaces between them, none between CJK characters."""
    out = ""
    for word in words:
        if out and not (_CJK.search(out[-1]) and _CJK.search(word[0])):
            out += " "
        out += word
    return out


_MIRRORED = str.maketrans("()[]{}<>", ")(][}{><")
#: A run read left to right inside right-to-left text: Latin words (with the spaces and marks
#: between them) and numbers ("2,000", "12.5").
_LTR_RUN = re.compile(
    r"[A-Za-z0-9\u00c0-\u024f](?:[A-Za-z0-9\u00c0-\u024f .,:/%+-]*[A-Za-z0-9\u00c0-\u024f%])?"
)


def logical_order(text: str) -> str:
    """A line of Arabic or Hebrew in reading order.

    Lines are built from glyph positions, left to right: right-to-left text comes out
    reversed ("ملاعلاب ابحرم" for "مرحبا بالعالم"), and a model translates the reversal into
    nonsense. A line whose letters are mostly right-to-left is reversed, with the Latin words
    and numbers inside it kept reading left to right and brackets turned back; Arabic
    presentation forms become the letters they show (NFKC)."""
    rtl = ltr = 0
    for char in text:
        kind = unicodedata.bidirectional(char)
        rtl += kind in ("R", "AL")
        ltr += kind == "L"
    if rtl <= ltr:
        return text
    reversed_text = text[::-1].translate(_MIRRORED)
    logical = _LTR_RUN.sub(lambda m: m.group(0)[::-1].translate(_MIRRORED), reversed_text)
    return unicodedata.normalize("NFKC", logical)


def _symbol(char: dict[str, Any]) -> bool:
    text = str(char.get("text", ""))
    if text.startswith("(cid:") or SYMBOL_FONT.search(str(char.get("fontname", ""))):
        return True
    return any(0xE000 <= ord(ch) <= 0xF8FF for ch in text)  # Unicode's private use area


def glyphs_from_chars(chars: Iterable[dict[str, Any]], frame: Frame) -> list[Glyph]:
    out: list[Glyph] = []
    for c in chars:
        if _symbol(c):
            # A glyph the font maps to no character, a dingbat or a private-use symbol (a
            # brace spanning several form lines, an arrow, a form's check mark or box): no
            # text to translate; it stays as drawn. Joined to a line, it would be redrawn as
            # whatever letter its code reads as (ZapfDingbats' check mark reads "4"), and
            # would stretch that line's box over its neighbours.
            continue
        box = frame.to_local((c["x0"], c["top"], c["x1"], c["bottom"]))
        size = float(c.get("size") or 0) or max(box[3] - box[1], 1.0)
        raw = str(c.get("text", ""))
        out.append(
            Glyph(
                text=raw.strip() or raw,  # some fonts map a glyph to " ." (space + dot)
                x0=box[0],
                top=box[1],
                x1=box[2],
                bottom=box[3],
                size=size,
                font=str(c.get("fontname", "")),
                color=c.get("non_stroking_color"),
            )
        )
    return out


#: A glyph under this share of its line's size is a sub- or superscript (a footnote mark, a
#: fraction's digit): reportlab's ``<super>`` sets 80%, LaTeX about 70%, Word two thirds.
SCRIPT_SIZE = 0.85
#: A sub- or superscript is a run of fewer glyphs than this.
SCRIPT_RUN = 12


@dataclass
class _Row:
    """A visual line being collected: its first glyph's centre, its largest size, its band."""

    centre: float
    size: float
    top: float
    bottom: float
    members: list[Glyph]

    def takes(self, g: Glyph, centre: float) -> bool:
        if abs(centre - self.centre) <= 0.35 * max(self.size, g.size):
            return True
        return self.bands_script(g, centre)

    def bands_script(self, g: Glyph, centre: float) -> bool:
        """``g`` is clearly smaller than this line's text and its centre lies in the band."""
        return g.size < SCRIPT_SIZE * self.size and self.top <= centre <= self.bottom

    def add(self, g: Glyph) -> None:
        self.members.append(g)
        if g.size >= SCRIPT_SIZE * self.size:  # sub- and superscripts do not widen the band
            self.top, self.bottom = min(self.top, g.top), max(self.bottom, g.bottom)
        self.size = max(self.size, g.size)


def build_lines(glyphs: list[Glyph]) -> list[list[Word]]:
    """Glyphs -> visual lines of words, top to bottom.

    A glyph joins a line whose centre is near its own, or, when it is clearly smaller than the
    line's text (a sub- or superscript: the "1" and "2" of a fraction set as "1/2"), a line
    whose band holds its centre: set off from the baseline, it must not become a line of its
    own in the middle of a sentence."""
    rows: list[_Row] = []
    for g in sorted(glyphs, key=lambda g: ((g.top + g.bottom) / 2, g.x0)):
        centre = (g.top + g.bottom) / 2
        for row in reversed(rows[-3:]):
            if row.takes(g, centre):
                row.add(g)
                break
        else:
            rows.append(_Row(centre, g.size, g.top, g.bottom, [g]))
    lines: list[list[Word]] = []
    for row in sorted(_attach_scripts(rows), key=lambda r: r.centre):
        _raise_marks(row)
        words = _words(sorted(row.members, key=lambda g: g.x0))
        if words:
            lines.append(words)
    return lines


#: A script glyph whose foot is this share of its neighbour's size above the neighbour's foot
#: is raised (a superscript); one merely smaller sits up by its smaller descent only (0.1).
RAISED = 0.25
#: A script's neighbour is a glyph this close (a share of the neighbour's size; a word
#: space is about a quarter of it).
NEAR = 0.6
_FRACTION_BARS = ("/", "\u2044")


def _raise_marks(row: _Row) -> None:
    """Runs of small digits set raised against the glyphs beside them become superscript
    digits (:mod:`llmapps.translate.scripts`): footnote marks ("(DMCA)¹", "¹Pub. L. No.
    105-304", "Stolen property ¹") and powers ("E = mc²").

    Measured against the glyphs next to the run, not the line: a visual line may hold text of
    other sizes far off (a form's title beside its "OMB No. 1545-0074"). A run next to a small
    letter is part of a raised label ("CIT2002") and one next to a fraction bar is a built-up
    fraction ("48 1/2"), and one written over a form's blank is a filled-in value: all stay
    plain."""
    ordered = sorted((g for g in row.members if not g.space), key=lambda g: g.x0)
    i = 0
    while i < len(ordered):
        first = ordered[i]
        if first.text not in _DIGITS:
            i += 1
            continue
        j = i
        while (
            j + 1 < len(ordered)
            and ordered[j + 1].text in _DIGITS
            and abs(ordered[j + 1].size - first.size) <= 0.1 * first.size
            and ordered[j + 1].x0 - ordered[j].x1 <= NEAR * first.size
        ):
            j += 1
        run = ordered[i : j + 1]
        beside = []  # (glyph, gap to the run)
        if i:
            beside.append((ordered[i - 1], first.x0 - ordered[i - 1].x1))
        if j + 1 < len(ordered):
            beside.append((ordered[j + 1], ordered[j + 1].x0 - run[-1].x1))
        beside = [(n, gap) for n, gap in beside if gap <= NEAR * n.size]
        foot = max(g.bottom for g in run)
        if beside and all(
            n.text not in _FRACTION_BARS
            and gap > -TOUCH * n.size  # not written over a form's blank ("10/22/2019")
            and first.size < SCRIPT_SIZE * n.size
            and n.bottom - foot > RAISED * n.size
            for n, gap in beside
        ):
            for g in run:
                g.text = g.text.translate(TO_SUPERSCRIPT)
        i = j + 1


_DIGITS = frozenset("0123456789")


def _fraction_after_number(prev: Glyph, g: Glyph, following: list[Glyph]) -> bool:
    """A built-up fraction set right after a number ("48" then a small raised "1", a slash and
    a small "2"): a word of its own, so the text reads "48 1/2", not "481/2"."""
    if not (prev.text.isdigit() and g.text.isdigit() and g.size < SCRIPT_SIZE * prev.size):
        return False
    rest = "".join(f.text for f in following)
    return rest[:1] in _FRACTION_BARS or (rest[:1].isdigit() and rest[1:2] in _FRACTION_BARS)


def _attach_scripts(rows: list[_Row]) -> list[_Row]:
    """Sub- and superscripts join the line they are set in.

    ``build_lines`` meets glyphs in order of height across the whole page, so a raised "1"
    can start a row of its own before its line's glyphs arrive, or join another column's row
    whose centre lies nearer. Either way it would become a unit of its own: a lone "1" kept
    in place while its sentence ("only 1/2 of") moves. A glyph clearly smaller than a line
    whose band holds it and that has full-size text beside it moves to that line, unless its
    own row has text of that size beside it too."""
    if len(rows) < 2:
        return rows
    order = sorted(rows, key=lambda r: r.centre)
    centres = [r.centre for r in order]
    largest = max(r.size for r in rows)
    body = statistics.median(g.size for r in rows for g in r.members)
    moves: list[tuple[list[Glyph], _Row, _Row]] = []
    for row in order:
        for run in _runs(row):
            if len(run) >= SCRIPT_RUN or any(
                g.size >= SCRIPT_SIZE * max(row.size, body) for g in run
            ):
                continue
            host = _host(run, row, order, centres, largest)
            if host is not None and not any(_beside(g, row, SCRIPT_SIZE * host.size) for g in run):
                moves.append((run, row, host))
    for run, row, host in moves:
        for g in run:
            row.members.remove(g)
        host.members.extend(run)
    return [row for row in rows if row.members]


def _runs(row: _Row) -> list[list[Glyph]]:
    """A row's glyphs in runs chained by gaps under their size: a script is one short run (a
    fraction's digits, a footnote mark, a citation label such as "CIT2002" or "1, 2"); a line
    of small text beside a large glyph (the body lines next to a drop capital) is a long one."""
    runs: list[list[Glyph]] = []
    for g in sorted(row.members, key=lambda m: m.x0):
        if runs and g.x0 - runs[-1][-1].x1 <= min(g.size, runs[-1][-1].size):
            runs[-1].append(g)
        else:
            runs.append([g])
    return runs


def _host(
    run: list[Glyph], row: _Row, order: list[_Row], centres: list[float], largest: float
) -> _Row | None:
    """The line a script ``run`` is set in: one whose band holds a glyph of the run and that
    has full-size text beside it."""
    for g in run:
        centre = (g.top + g.bottom) / 2
        lo = bisect.bisect_left(centres, centre - largest)
        hi = bisect.bisect_right(centres, centre + largest)
        for host in order[lo:hi]:
            if host is not row and _holds(host, g, centre):
                return host
    return None


def _holds(row: _Row, g: Glyph, centre: float) -> bool:
    return row.bands_script(g, centre) and _beside(g, row, SCRIPT_SIZE * row.size)


def _beside(g: Glyph, row: _Row, size: float) -> bool:
    """A glyph of at least ``size`` lies within one row size of ``g`` along the line."""
    reach = row.size
    return any(
        m.size >= size and m.x0 - reach <= g.x1 and g.x0 <= m.x1 + reach
        for m in row.members
        if m is not g
    )


_DOTS = (".", "·", "…")


def _split_leaders(word: Word) -> list[Word]:
    """Cut dot leaders ("Heading.........12") and a form's blank ("Name:______") glued to a
    word into words of their own, which :func:`_drop_leaders` leaves as drawn."""
    glyphs = word.glyphs
    text = word.text.replace("·", ".").replace("…", "....")
    if len(glyphs) < 5 or ("...." not in text and "____" not in text):
        return [word]
    out: list[Word] = []
    current: list[Glyph] = []
    run: list[Glyph] = []
    for g in glyphs:
        if g.text == "_" and (not run or run[-1].text == "_"):
            run.append(g)
            continue
        if g.text in _DOTS and (not run or run[-1].text in _DOTS):
            run.append(g)
            continue
        if len(run) >= 4:
            if current:
                out.append(Word(current).finish())
            out.append(Word(run).finish())
            current = []
        else:
            current.extend(run)
        run = []
        if g.text == "_" or g.text in _DOTS:
            run.append(g)  # a run of the other kind begins
        else:
            current.append(g)
    if len(run) >= 4:
        if current:
            out.append(Word(current).finish())
        out.append(Word(run).finish())
    elif current or run:
        out.append(Word(current + run).finish())
    return out


def _without_filled_blanks(glyphs: list[Glyph]) -> list[Glyph]:
    """A form's blank (a run of underscores) with a value typed over it in another font reads
    "_H_-_3_0_0" letter by letter: the underscores under the value's letters are the blank's
    rule, not text, and go."""
    if not any(g.text == "_" for g in glyphs):
        return glyphs
    ink = [g for g in glyphs if not g.space and g.text != "_"]

    def under(blank: Glyph) -> bool:
        least = 0.1 * max(blank.x1 - blank.x0, 0.1)
        return any(
            g.font != blank.font and min(blank.x1, g.x1) - max(blank.x0, g.x0) > least for g in ink
        )

    return [g for g in glyphs if g.text != "_" or not under(g)]


def _words(glyphs: list[Glyph]) -> list[Word]:
    return [part for word in _raw_words(glyphs) for part in _split_leaders(word)]


#: How many glyphs past a space :func:`_space_over_ink` looks for the next letter (a form's
#: blank lays a space every 2.5 pt, so up to three lie between two letters of a label).
SPACE_RUN = 6
#: Letters whose boxes are this close (a share of the text size; kerning may overlap them a
#: little) touch: no reader sees a space between them. The narrowest real word space is
#: about 0.15 em, so one this tight is no space.
TOUCH = 0.08


def _space_over_ink(space: Glyph, current: list[Glyph], following: list[Glyph]) -> bool:
    """A space glyph lying on letters: no gap between words.

    Forms print a label's trailing spaces under the value filled in after it, in another font
    ("1 0/22/2019"), and some lay a field's blank of spaces over the label itself, in the
    label's own font ("1 3 . E x t e n s io n"). A space in another font counts as ink when it
    lies three quarters on a letter; one in the same font only when the letters on either
    side of it touch, so a word space set tight stays a space, and only when it is as narrow
    as a space: a font whose every glyph is as wide as its size overlaps its letters too."""
    most = 0.75 * max(space.x1 - space.x0, 0.1)
    if current and current[-1].x1 - space.x0 > most and current[-1].font != space.font:
        return True
    if (
        following
        and not following[0].space
        and space.x1 - following[0].x0 > most
        and following[0].font != space.font
    ):
        return True
    ink = next((g for g in following if not g.space), None)
    if not current or ink is None:
        return False
    prev = current[-1]
    size = max(ink.size, prev.size, 1.0)
    if space.x1 - space.x0 > 0.5 * size:
        return False  # no real space is this wide: the font's widths are broken (cmyk.pdf)
    if not -2 * TOUCH * size <= ink.x0 - prev.x1 <= TOUCH * size:
        return False
    return min(space.x1, ink.x1) - max(space.x0, prev.x0) > most


def _raw_words(glyphs: list[Glyph]) -> list[Word]:
    glyphs = _without_filled_blanks(glyphs)
    words: list[Word] = []
    current: list[Glyph] = []
    for i, g in enumerate(glyphs):
        if g.space:
            if _space_over_ink(g, current, glyphs[i + 1 : i + 2 + SPACE_RUN]):
                continue
            if current:
                words.append(Word(current).finish())
            current = []
            continue
        if current:
            prev = current[-1]
            # The same glyph printed twice (fake bold) is offset by a fraction of a point. A
            # font with broken widths (every glyph 10 pt wide) makes a real "ll" overlap as
            # much, so the offset must be small against the text size too.
            overprint = min(0.3 * (prev.x1 - prev.x0 + 0.1), 0.15 * max(prev.size, 1.0))
            if g.text == prev.text and abs(g.x0 - prev.x0) < overprint:
                continue
            if g.x0 - prev.x1 > 0.2 * max(g.size, prev.size) or _fraction_after_number(
                prev, g, glyphs[i + 1 : i + 4]
            ):
                words.append(Word(current).finish())
                current = []
        current.append(g)
    if current:
        words.append(Word(current).finish())
    return words


def find_gutters(lines: list[list[Word]], min_width: float) -> list[tuple[float, float]]:
    """Vertical strips that (almost) no word of these lines covers, with text on both sides.

    Column gutters of multi-column pages and the gaps between table or form columns; a few
    lines that cross the strip (a full-width title) are tolerated.
    """
    words = [w for line in lines for w in line]
    if len(lines) < 2 or not words:
        return []
    left = min(w.x0 for w in words)
    right = max(w.x1 for w in words)
    width = math.ceil(right - left) + 1
    if width < 3:
        return []
    coverage = np.zeros(width, dtype=np.int32)
    for line in lines:
        covered = np.zeros(width, dtype=bool)
        for w in line:
            covered[int(w.x0 - left) : math.ceil(w.x1 - left)] = True
        coverage += covered
    allowed = len(lines) // 10
    return [
        (left + a, left + b)
        for a, b in free_runs(coverage <= allowed, min_width)
        if a > 0 and b < width  # text on both sides
    ]


def free_runs(free: np.ndarray, min_width: float) -> list[tuple[int, int]]:
    """Runs of True in ``free`` at least ``min_width`` long, as (start, end) indexes."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], free.astype(np.int8), [0]))))
    return [
        (int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= min_width
    ]


_LEADER = re.compile(r"^[.·…_]+$")


def _drop_leaders(line: list[Word]) -> list[list[Word]]:
    """Split a line at dot leaders ("Total . . . . . 12"), which are left as drawn."""
    parts: list[list[Word]] = [[]]
    run: list[Word] = []
    for word in line:
        if _LEADER.match(word.text):
            run.append(word)
            continue
        if len(run) >= 3 or sum(len(w.text) for w in run) >= 4:
            parts.append([])
        else:
            parts[-1].extend(run)
        run = []
        parts[-1].append(word)
    if run and not (len(run) >= 3 or sum(len(w.text) for w in run) >= 4):
        parts[-1].extend(run)
    return [p for p in parts if p]


def split_segments(
    lines: list[list[Word]],
    gutters: list[tuple[float, float]],
    big_gap: float = 1.8,
    marks: Sequence[BBox] = (),
    walls: Sequence[BBox] = (),
) -> list[Seg]:
    """Cut each line at gutters it leaves open, at very wide gaps, at dot leaders and at
    rules standing across it.

    ``marks``: check boxes and dingbats (in the lines' frame); a segment right after one is an
    item of its own (:func:`_after_mark`). ``walls``: rules and box sides across the lines,
    in the frame, sorted by x (:meth:`PageContext.local_walls`)."""
    segs: list[Seg] = []
    for index, full_line in enumerate(lines):
        for leaders_cut in _drop_leaders(full_line):
            for line, tick in _cut_at_ticks(leaders_cut, marks):
                for seg in _split_line(line, index, gutters, big_gap, walls):
                    if tick:
                        seg.meta["tick"] = True  # kept as typed (paragraphs.mark_keep)
                    segs.append(seg)
    if marks:
        for seg in segs:
            if _after_mark(seg, marks):
                seg.meta["item"] = True
    return segs


def _cut_at_ticks(line: list[Word], marks: Sequence[BBox]) -> list[tuple[list[Word], bool]]:
    """``line`` cut around the words typed into a check box (an "X" ticking "POLICE AGENCY"):
    each such word is a part of its own (True: a tick), which stays where it was typed."""
    if not marks:
        return [(line, False)]
    parts: list[tuple[list[Word], bool]] = [([], False)]
    for word in line:
        if len(word.text) <= 2 and _in_box(word, marks):
            parts.extend([([word], True), ([], False)])
        else:
            parts[-1][0].append(word)
    return [part for part in parts if part[0]]


def _in_box(word: Word, marks: Sequence[BBox]) -> bool:
    x, y = (word.x0 + word.x1) / 2, (word.top + word.bottom) / 2
    return any(
        m[0] <= x <= m[2] and m[1] <= y <= m[3] and m[2] - m[0] > word.x1 - word.x0 for m in marks
    )


def _after_mark(seg: Seg, marks: Sequence[BBox]) -> bool:
    """A check box or a dingbat ends just left of ``seg``, on its line: ``seg`` is an option
    of a form ("[ ] Association - Sole Employer") or an item of a list, never the rest of the
    line above, however well the lines would wrap into each other."""
    height = seg.bottom - seg.top
    for _, top, x1, bottom in marks:
        if not (x1 <= seg.x0 + 0.5 and seg.x0 - x1 <= 1.5 * seg.size):
            continue
        if min(bottom, seg.bottom) - max(top, seg.top) >= 0.5 * min(height, bottom - top):
            return True
    return False


#: A line's leading label: a form's line number ("8", "9a", "10b"; digits may come
#: letter-spaced as several words) or a section number ("2", "2.1").
_LABEL = re.compile(r"^\d{1,3}[a-z]?$|^\d{1,2}(\.\d{1,2})+$")
#: A label stands apart when the gap after it is wider than this share of the font size (a
#: word space is about a quarter of it).
LABEL_GAP = 0.6


def _label_words(line: list[Word]) -> int:
    """How many leading words of ``line`` form a label set apart from the text after it (0:
    none), so that numbers stay where they were printed while the text is translated."""
    for count in range(1, min(4, len(line))):
        text = "".join(w.text for w in line[:count])
        if not _LABEL.match(text):
            return 0
        last, following = line[count - 1], line[count]
        size = max(g.size for g in last.glyphs + following.glyphs)
        # The text must start like an entry ("8 Wages", "1 Background"), not go on with a
        # sentence that wrapped before a number ("... the total was / 12 percent higher").
        starts = following.text[:1]
        entry = any(c.isalpha() for c in following.text) and not starts.islower()
        if following.x0 - last.x1 >= LABEL_GAP * size and entry:
            return count
    return 0


#: A tab stop or a field separator: a gap at least this wide (x the font size) ...
TAB_GAP = 0.8
#: ... and this many times the line's own word space. Justified prose stretches all the
#: spaces of a line alike (TeX's wider sentence spaces stay under 3x), so its lines are never
#: cut; fields set apart on one line ("Page 1 of 48    Instructions for Form 1040NR") are.
TAB_RATIO = 3.0
#: Old books set an em quad after a sentence and then justify, so a sentence space reaches
#: 1.1-1.3 em (3-4 word spaces; a narrow column's few words stretch more): a gap after a
#: sentence's end, before a capital, in a line of three words or more is a tab stop only
#: when wider than this (x the font size).
SENTENCE_GAP = 1.5
_LATIN_SENTENCE_END = re.compile("[.!?][\"'\u201d\u2019)]?$")


def _tab_stops(line: list[Word]) -> set[int]:
    """Indexes ``i`` of the gaps (between ``line[i]`` and ``line[i + 1]``) that separate
    fields: much wider than the line's other word spaces. Not the space after a list marker
    ("1.", a bullet) nor after a run-in heading in another font ("Note.  The ..."), which
    belong to their text."""
    gaps = [b.x0 - a.x1 for a, b in itertools.pairwise(line)]
    stops: set[int] = set()
    if len(gaps) < 2:
        return stops
    for i, gap in enumerate(gaps):
        prev, word = line[i], line[i + 1]
        size = max(g.size for g in prev.glyphs + word.glyphs)
        if gap < TAB_GAP * size:
            continue
        word_space = statistics.median_low(gaps[:i] + gaps[i + 1 :])
        if gap < TAB_RATIO * max(word_space, 0.1 * size):
            continue
        sentence = _LATIN_SENTENCE_END.search(prev.text) and word.text[:1].isupper()
        if sentence and len(line) >= 3 and gap < SENTENCE_GAP * size:
            continue
        if i == 0 and BULLET.match(prev.text + " x"):
            continue
        fonts_differ = (
            Counter(g.font for g in prev.glyphs).most_common(1)[0][0]
            != (Counter(g.font for g in word.glyphs).most_common(1)[0][0])
        )
        if fonts_differ and _LEAD_IN_END.search(prev.text):
            continue
        stops.add(i)
    return stops


def _split_line(
    line: list[Word],
    index: int,
    gutters: list[tuple[float, float]],
    big_gap: float,
    walls: Sequence[BBox] = (),
) -> list[Seg]:
    segs: list[Seg] = []
    label = _label_words(line)
    if label:
        segs.append(Seg(line[:label], line=index).finish())
        line = line[label:]
    stops = _tab_stops(line)
    current = [line[0]]
    for i, word in enumerate(line[1:]):
        prev = current[-1]
        gap = word.x0 - prev.x1
        size = max(g.size for g in prev.glyphs + word.glyphs)
        cut = (
            gap > big_gap * size
            or i in stops
            or any(prev.x1 <= (g0 + g1) / 2 <= word.x0 and gap >= 0.5 * size for g0, g1 in gutters)
            or _filled_in(prev, word)
            or _typed_number(prev, word, line[i + 2 :])
            or (
                (
                    gap >= 0.8 * size
                    or _bold_word(prev) != _bold_word(word)
                    or _OPTION.match(" ".join(w.text for w in current[:3])) is not None
                )
                and _OPTION.match(" ".join(w.text for w in line[i + 1 : i + 4])) is not None
            )
            or _walled(prev, word, walls)
        )
        if cut:
            segs.append(Seg(current, line=index).finish())
            current = [word]
        else:
            current.append(word)
    segs.append(Seg(current, line=index).finish())
    return segs


def _walled(prev: Word, word: Word, walls: Sequence[BBox]) -> bool:
    """A rule stands between ``prev`` and ``word``, across their line and well beyond it (a
    cell's side, the edge between two dark bars of white labels): they are in two boxes. A
    box only a little taller than its word (a keyboard key's outline in a sentence) does not
    cut."""
    if not walls:
        return False
    top = min(prev.top, word.top)
    bottom = max(prev.bottom, word.bottom)
    height = bottom - top
    lo = bisect.bisect_left(walls, (prev.x1 - 0.5,))
    for wall in walls[lo:]:
        if wall[0] > word.x0 + 0.5:
            break
        beyond = min(top - wall[1], wall[3] - bottom)  # past the line on its shorter side
        if beyond >= 0.15 * height and wall[3] - wall[1] >= 1.5 * height:
            return True
    return False


#: A form's numbered option, "4 - REAR-TO-REAR": one starting after a wide gap on a line is
#: the next column of options, or after a label in another weight ("PREFIX 1 - NORTH") or
#: after another option ("1 - NOT COLLISION 4 - REAR-TO-REAR", a word space apart), not the
#: rest of what comes before.
_OPTION = re.compile(rf"^{NUMBERED_OPTION}")


def _typed_number(prev: Word, word: Word, rest: list[Word]) -> bool:
    """A number typed large into a form's answer box, beside the small print of the option
    list it answers ("1" at 10 pt, then "2 - MILE POST" at 6 pt): no part of the option. A
    number a third or more larger than the numbered item set apart after it."""
    a, b = prev.glyphs[-1], word.glyphs[0]
    if b.size > 0.75 * a.size or word.x0 - prev.x1 < 0.3 * a.size or not prev.text.isdigit():
        return False
    return BULLET.match(" ".join(w.text for w in [word, *rest])) is not None


def _filled_in(prev: Word, word: Word) -> bool:
    """``word`` is a value typed into a form right after its label ``prev`` ("Begin Date *"
    then "10/22/2019"): another font at another size, on a baseline of its own. Sub- and
    superscripts are smaller than that (:data:`SCRIPT_SIZE`) and stay in their sentence."""
    a, b = prev.glyphs[-1], word.glyphs[0]
    large = max(a.size, b.size)
    return (
        _another_face(a.font, a.size, b.font, b.size)
        and min(a.size, b.size) >= SCRIPT_SIZE * large
        and abs(a.bottom - b.bottom) >= 0.25 * large
    )


#: Two fonts at sizes under this share of each other are set apart (5% or more).
FACE_SIZE = 0.95


def _another_face(font_a: str, size_a: float, font_b: str, size_b: float) -> bool:
    """Text in ``font_b`` at ``size_b`` is set in another face than ``font_a`` at ``size_a``:
    another font (subset tags aside: "QEVLBI+Arial") at a size :data:`FACE_SIZE` or less of
    the other. A form's typed-in value against its label, body text against its heading;
    one paragraph's lines share their size."""
    if font_a.split("+", 1)[-1] == font_b.split("+", 1)[-1]:
        return False
    return min(size_a, size_b) <= FACE_SIZE * max(size_a, size_b)


def chunks(
    lines: list[list[Word]], gap: float = 0.8, regions: list[Region] | None = None
) -> list[list[Glyph]]:
    """Runs of words closer than ``gap`` x size: the pieces assigned to layout regions whole,
    so a region box drawn a little short never cuts a word or phrase in two.

    With ``regions``, a run is also cut where it crosses from one region into another beside
    it: an OCR layer often runs a narrow gutter's two columns together as one line ("balls
    packed brave it out."), and the whole line would go to one column."""
    out: list[list[Glyph]] = []
    for line in lines:
        owners = _word_regions(line, regions) if regions else [-1] * len(line)
        current: list[Glyph] = list(line[0].glyphs)
        for (prev, word), (a, b) in zip(
            itertools.pairwise(line), itertools.pairwise(owners), strict=True
        ):
            size = max(g.size for g in prev.glyphs + word.glyphs)
            beside = regions and _side_by_side(regions, a, b, prev, word)
            if word.x0 - prev.x1 > gap * size or beside:
                out.append(current)
                current = []
            current.extend(word.glyphs)
        out.append(current)
    return out


def _word_regions(line: list[Word], regions: list[Region]) -> list[int]:
    centres = [((w.x0 + w.x1) / 2, (w.top + w.bottom) / 2) for w in line]
    return assign_regions(centres, regions)


def _side_by_side(regions: list[Region], a: int, b: int, left: Word, right: Word) -> bool:
    """Words ``left`` and ``right`` (neighbours on a line) lie in two regions set side by side,
    the gap between the words at the edge where one region ends and the other begins."""
    if a < 0 or b < 0 or a == b:
        return False
    ra, rb = regions[a].bbox, regions[b].bbox
    size = max(right.bottom - right.top, 1.0)
    return ra[2] <= rb[0] + size and left.x1 <= ra[2] + size and right.x0 >= rb[0] - size


# --- grouping -------------------------------------------------------------------------------


def _columns(segs: list[Seg], gutters: list[tuple[float, float]]) -> dict[int, list[Seg]]:
    cuts = sorted((g0 + g1) / 2 for g0, g1 in gutters)
    columns: dict[int, list[Seg]] = {}
    for s in segs:
        centre = (s.x0 + s.x1) / 2
        index = sum(1 for c in cuts if centre > c)
        columns.setdefault(index, []).append(s)
    return columns


def flow_groups(
    segs: list[Seg],
    gutters: list[tuple[float, float]],
    region_right: float | None = None,
    *,
    cell: bool = False,
) -> list[tuple[list[Seg], bool]]:
    """Segments -> (group, list_like) where a group is one unit: lines joined only where the
    text flows (same column; the previous line wrapped; no bullet, indent or size change).

    ``region_right``: the right edge of the layout region the lines are in. Text set around a
    picture is a narrow region whose first lines can run on across the page above the picture;
    the narrow lines wrap at the region's edge, not at those lines' end.

    ``cell``: the lines are one ruled cell's, which may hold several rows' entries (a form's
    line items whose row rules the table finder missed): see :func:`_runs_on`."""
    out: list[tuple[list[Seg], bool]] = []
    for col in _columns(segs, gutters).values():
        col.sort(key=lambda s: (s.top, s.x0))
        size = statistics.median(s.size for s in col)
        right = _right_margin([s.x1 for s in col], region_right, size)
        left = min(s.x0 for s in col)
        width = right - left
        pairs = list(itertools.pairwise(col))
        wrapped = sum(1 for a, b in pairs if _wrapped(a, b, right))
        list_like = width < 10 * size or (len(pairs) >= 2 and wrapped < 0.4 * len(pairs))
        # Line pitch of the column: double-spaced text (transcripts) still flows.
        pitches = [b.top - a.top for a, b in pairs if 0 < b.top - a.top < 3 * size]
        leading = statistics.median(pitches) - size if pitches else 0.0
        max_gap = min(2.5 * size, max(0.9 * size, 1.2 * leading))
        groups: list[list[Seg]] = []
        for i, s in enumerate(col):
            g = groups[-1] if groups else None
            after = col[i + 1] if i + 1 < len(col) else None
            flows = g is not None and (not list_like or _runs_on(g[-1], s, right, cell))
            if g is not None and flows and _joins(g, s, right, max_gap, after):
                g.append(s)
            else:
                groups.append([s])
        out.extend((g, list_like) for g in groups)
    return out


def _runs_on(last: Seg, s: Seg, right: float, cell: bool = False) -> bool:
    """``last`` breaks off mid-sentence and ``s`` goes on with it: a line of prose words
    ending without a stop, the next starting in lower case, or with a capital where ``last``
    ran to the margin (a name: "... sufficient to allow this" / "Court to maintain ...").
    In a column that reads as a list (most lines end short: one-line paragraphs, a listing's
    lines, a pleading's numbered items) such a pair is still one paragraph wrapped.

    In a ``cell``, a capital after prose starts the next entry: a form's line items
    ("... Attach Form 5329 if required" / "Transportation tax (see page 22)") share one cell
    when the table finder missed their row rules."""
    if last.word_count < 6 or max(last.mono, s.mono) > 0.5:
        return False  # a listing's lines are lines, whatever they end with
    end = last.text[-1:]
    if not (end.isalpha() or end in ",-"):
        return False
    if _opens_lower(s.text):
        return True
    first = s.text[:1]
    # A capital after a line that ran to the margin: prose (words in lower case) or text set
    # in capitals throughout, not a line of names in title case ("... Company Limited" / "No.
    # 700 Dong Da Ming Road"), and not an entry's end ("enter -0-" / "Tax (see page 18)").
    prose = sum(1 for word in last.text.split() if word[:1].islower()) >= 2
    capitals = not any(ch.islower() for ch in last.text + s.text)
    return (
        first.isupper()
        and (end.isalpha() or end == ",")
        and ((prose and not cell) or capitals)
        and _wrapped(last, s, right)
    )


def _opens_lower(text: str) -> bool:
    """``text`` starts in lower case, also after an opening bracket or quote ("(even drop
    frame!)"): a sentence going on."""
    return text.lstrip("([{\"'\u201c\u2018")[:1].islower()


def _right_margin(ends: list[float], region_right: float | None, size: float) -> float:
    """Where a column's lines wrap: its longest line's end, or the region's right edge when
    most lines end inside it (a few lines running past it are not the measure)."""
    if region_right is not None:
        inside = [x for x in ends if x <= region_right + size]
        if len(inside) >= 0.5 * len(ends):
            return max(inside)
    return max(ends)


def _wrapped(last: Seg, s: Seg, right: float) -> bool:
    """``last`` ended because ``s``'s first word did not fit on it: the text flows on."""
    if not s.words:
        return False
    first = s.words[0]
    space = 0.25 * last.size
    width = first.x1 - first.x0
    slack = 0.5 * last.size
    head = first.text.split(maxsplit=1)
    if head and len(head[0]) < len(first.text):
        # An OCR'd line is one word of many: its first word's share of the line's width,
        # a rough measure (and the line's ends wander), so the margin is looser.
        width *= len(head[0]) / len(first.text)
        slack = last.size
    return last.x1 + space + width >= right - slack


def _weight(s: Seg) -> bool:
    """Bold as a line's weight: a heading set in bold all through. A run-in heading ("Note.
    The rest ...") or a few bold words leave the line's text plain: it flows on into the next
    line like any paragraph's (the weight of its majority would make the line a heading of its
    own and cut the paragraph after its first line)."""
    return s.bold and not s.run_in


def _bold_runs_on(last: Seg, s: Seg) -> bool:
    """Bold words inside a sentence, not a heading's weight: one of the two lines mixes bold
    and plain words, and the weight is the same on both sides of the line break ("the
    "WIPO Copyright and / Treaties Act," implements the WIPO / treaties."). Each line's
    majority alone cut such a list item, or a paragraph whose last sentence is bold, in two."""
    if not last.words or not s.words:
        return False
    mixed = any(0.05 < line.bold_share < 0.95 for line in (last, s))
    return mixed and _bold_word(last.words[-1]) == _bold_word(s.words[0])


#: A line starting this much (x the font size) right of the line above starts a paragraph.
INDENT = 0.6


def _field(s: Seg) -> bool:
    """A short "Label: value" line (:data:`_FIELD`)."""
    return bool(_FIELD.match(s.text)) and s.word_count <= FIELD_WORDS


def _joins(
    group: list[Seg], s: Seg, right: float, max_gap: float, after: Seg | None = None
) -> bool:
    last = group[-1]
    size = max(s.size, last.size)
    gap = s.top - last.bottom
    # OCR line boxes are padded around the ink, so consecutive lines overlap a little.
    overlap_ok = 0.8 if s.meta.get("ocr") else 0.3
    if gap < -overlap_ok * size or gap > max_gap:
        return False
    if min(s.x1, last.x1) - max(s.x0, last.x0) <= 0:
        return False
    # A run-in lead-in too long for one line goes on from bold lines into ``s``, where the
    # paragraph's plain text starts ("Domestic production activities / deduction. The ...").
    lead_in = s.run_in and all(_weight(g) for g in group)
    if abs(s.size - last.size) > _size_sway(last, s) * size + 0.3 or _another_face(
        last.font, last.size, s.font, s.size
    ):
        return False
    if _weight(s) != _weight(last) and not lead_in and not _bold_runs_on(last, s):
        return False
    if s.run_in and not lead_in:  # a new paragraph that starts with a run-in heading
        return False
    if abs(s.mono - last.mono) > 0.5 or BULLET.match(s.text) or _SPEAKER.match(s.text):
        return False
    if s.meta.get("item") or s.meta.get("tick") or last.meta.get("tick"):
        return False  # an option after its check box; a tick typed in the box
    if _field(last) or _field(s):
        return False
    if last.word_count < 3 or not (_wrapped(last, s, right) or _mid_sentence(last, s)):
        return False
    hanging = BULLET.match(group[0].text) is not None or _hangs(group, s, after, size)
    # A first-line indent: books indent by 0.6-1 em; our own OCR's line starts wander more,
    # and a second line may hang a little under its first (a list item whose bullet the
    # OCR read as "0").
    indent = (1.2 if s.meta.get("ocr") or len(group) == 1 else INDENT) * size
    return not (s.x0 > last.x0 + indent and not hanging)


#: How much two lines' sizes may differ (a share of the larger) and still flow as one unit.
SIZE_SWAY = 0.15
#: The same for two OCR'd lines of prose: their sizes are read from the recognizer's line
#: boxes, which vary by a quarter on a low-resolution scan (jbig2_baddevicen.pdf).
OCR_SIZE_SWAY = 0.3


def _size_sway(last: Seg, s: Seg) -> float:
    """The size difference :func:`_joins` allows between ``last`` and ``s``: more between two
    OCR'd lines of prose, six words or more each (a heading is shorter), or the last line of
    a sentence that ``last`` leaves open ("... holds over 110,000 notes" / "per disk!", whose
    boxes the OCR read 11 and 9 points tall)."""
    if not (last.meta.get("ocr") and s.meta.get("ocr")):
        return SIZE_SWAY
    prose = min(last.word_count, s.word_count) >= 6 or _mid_sentence(last, s)
    return OCR_SIZE_SWAY if prose else SIZE_SWAY


def _mid_sentence(last: Seg, s: Seg) -> bool:
    """``last`` stops mid-sentence and ``s`` goes on with it, though ``last`` ended short of
    the margin: ragged-right text (a typewritten page, a letter set flush left, an OCR layer
    whose lines end where the scan's ink does) breaks its lines anywhere. A line of six prose
    words or more ending without a stop, the next starting in lower case (after an opening
    bracket or quote too; not with a form's sub-line letter: "... check here" / "b Routing
    number"); never a listing's lines."""
    if last.word_count < 6 or max(last.mono, s.mono) > 0.5 or not _opens_lower(s.text):
        return False
    first = s.text.split()[0]
    if len(first) == 1 and first not in ("a", "i"):
        return False
    end = last.text[-1:]
    return end.isalpha() or end == ","


def _hangs(group: list[Seg], s: Seg, after: Seg | None, size: float) -> bool:
    """``s`` is the second line of a paragraph set with a hanging indent (a poem's stanza, a
    caption, a reference list): indented up to 3 em under a first line (past the 1.2 em any
    second line may hang), with the line after it indented alike, or none close below it (a
    two-line paragraph). After a first-line indent the next line returns to the margin."""
    indent = s.x0 - group[0].x0
    if len(group) != 1 or not 0 < indent <= 3 * size:
        return False
    pitch = s.top - group[0].top
    if after is None or after.top - s.top > 1.2 * pitch:  # a paragraph's gap follows ``s``
        # A two-line paragraph's last line ends short; lines ending together are set flush
        # right ("Table of Contents" over "Discussion": two links, not a paragraph).
        return s.x1 < group[0].x1 - size
    return after.top > s.top and abs(after.x0 - s.x0) <= 0.3 * size


# --- units ----------------------------------------------------------------------------------


@dataclass
class PageContext:
    number: int
    width: float
    height: float
    rotate: int  # the page's /Rotate
    images: list[BBox] = field(default_factory=list)
    curves: list[BBox] = field(default_factory=list)
    # Check boxes (small squares drawn) and dingbats: each starts an item (_after_mark).
    marks: list[BBox] = field(default_factory=list)
    # Rules and box sides (thin boxes): a line of text is cut where one crosses it.
    walls: list[BBox] = field(default_factory=list)
    table_counter: int = 0
    # :meth:`local_walls` per frame angle: every region of the page asks for the same ones.
    _walls_by_angle: dict[int, list[BBox]] = field(default_factory=dict, repr=False)

    def local_marks(self, frame: Frame) -> list[BBox]:
        return [frame.to_local(m) for m in self.marks]

    def local_walls(self, frame: Frame) -> list[BBox]:
        """The rules that stand across the frame's lines (a vertical rule for upright text),
        in the frame, sorted by where they stand."""
        if frame.angle not in self._walls_by_angle:
            local = [frame.to_local(w) for w in self.walls]
            self._walls_by_angle[frame.angle] = sorted(
                (w for w in local if w[2] - w[0] <= 1.5), key=lambda w: w[0]
            )
        return self._walls_by_angle[frame.angle]

    @property
    def scan(self) -> bool:
        """One image covers (nearly) the whole page: a scan, whose text layer -- if any -- is
        the OCR of that image (an invisible layer as ocrmypdf writes it), so a "figure" on it
        is the scanned page itself, not a picture to leave alone."""
        page = max(1.0, self.width * self.height)
        return any(_area(_clip(i, self)) >= 0.85 * page for i in self.images)


def make_block(segs: list[Seg], kind: str, frame: Frame, ctx: PageContext, **meta: Any) -> Block:
    local = (
        min(s.x0 for s in segs),
        min(s.top for s in segs),
        max(s.x1 for s in segs),
        max(s.bottom for s in segs),
    )
    x0, top, x1, bottom = frame.to_display(local)
    first = segs[0]
    block_meta: dict[str, Any] = {"lines": len(segs), **meta}
    for s in segs:
        for key, value in s.meta.items():
            block_meta.setdefault(key, value)
    indent, hang, align = _line_shape(segs)
    if indent:
        block_meta["indent"] = indent
    if hang:
        block_meta["hang"] = hang
    if align != "left":
        block_meta["align"] = align
    inks = [s.meta["ink"] for s in segs if s.meta.get("ink")]
    if inks:  # OCR: the printed lines' upright boxes (what a patch must cover)
        x0i, t0i = min(b[0] for b in inks), min(b[1] for b in inks)
        x1i, t1i = max(b[2] for b in inks), max(b[3] for b in inks)
        block_meta["ink"] = (round(x0i, 2), round(t0i, 2), round(x1i, 2), round(t1i, 2))
    if any(s.meta.get("ocr") for s in segs):
        block_meta["ocr"] = True
        block_meta["background"] = _mean_color(s.meta.get("background") for s in segs)
        block_meta["color"] = _mean_color(s.meta.get("color") for s in segs)
    text = join_lines([s.text for s in segs])
    return Block(
        text,
        kind=kind,
        page=ctx.number,
        bbox=(round(x0, 2), round(top, 2), round(x1, 2), round(bottom, 2)),
        font=first.font,
        size=round(first.size, 2),
        bold=_block_bold(segs),
        rotation=(frame.angle + ctx.rotate) % 360,
        meta=block_meta,
    )


def _line_shape(segs: list[Seg]) -> tuple[float, float, str]:
    """How a unit's lines were set, so that its translation is set the same way:
    (indent, hang, align).

    - ``indent``: how far (points) the first line starts right of the other lines (a
      paragraph's indent); ``hang``: the other lines right of the first (a reference's or a
      list item's hanging lines). Only when the other lines share one left edge, and by half
      an em or more (not a justified line's jitter).
    - ``align``: "centre" when the lines share their middle and not their start (a title
      over two lines), "right" when they share their end and start at several places (a
      letterhead's address, a footer set flush right), else "left"."""
    if len(segs) < 2:
        return 0.0, 0.0, "left"
    first, rest = segs[0], segs[1:]
    em = max(first.size, 1.0)
    lefts = [s.x0 for s in segs]
    ragged = max(lefts) - min(lefts) >= 0.5 * em
    rest_ragged = max(s.x0 for s in rest) - min(s.x0 for s in rest) > 1.0
    middles = [(s.x0 + s.x1) / 2 for s in segs]
    ends = [s.x1 for s in segs]
    if ragged and max(middles) - min(middles) < 0.2 * em:
        return 0.0, 0.0, "centre"
    if max(ends) - min(ends) < 0.2 * em:
        # Lines ending together may be justified: a scan's lines start a few points apart,
        # two lines one indented or hanging by a label ("42 Lorem ipsum ..."). Flush right
        # when they start far apart.
        spread = max(lefts) - min(lefts)
        right = spread > (3 if len(segs) == 2 else 2) * em and (len(segs) == 2 or rest_ragged)
        return 0.0, 0.0, "right" if right else "left"
    if rest_ragged:
        return 0.0, 0.0, "left"
    step = first.x0 - min(s.x0 for s in rest)
    if step >= 0.5 * em:
        return round(step, 2), 0.0, "left"
    if -step >= 0.5 * em:
        return 0.0, round(-step, 2), "left"
    return 0.0, 0.0, "left"


def _block_bold(segs: list[Seg]) -> bool:
    """A unit is drawn bold when most of its text is: a paragraph that opens with a run-in
    heading is plain text (its lead-in's weight cannot be kept inside one drawn unit)."""
    if any(s.run_in for s in segs):
        return False
    if len(segs) == 1:
        return _weight(segs[0])
    chars = [max(1, len(s.text)) for s in segs]
    bold = sum(s.bold_share * n for s, n in zip(segs, chars, strict=True))
    return bold >= 0.5 * sum(chars)


def _mean_color(colors: Iterable[Any]) -> tuple[float, float, float]:
    values = [c for c in colors if c]
    if not values:
        return (1.0, 1.0, 1.0)
    r, g, b = (round(float(statistics.median(v[i] for v in values)), 3) for i in range(3))
    return (r, g, b)


def text_units(
    segs: list[Seg],
    gutters: list[tuple[float, float]],
    frame: Frame,
    ctx: PageContext,
    region: str = "text",
    region_right: float | None = None,
) -> list[Block]:
    blocks: list[Block] = []
    for group, list_like in flow_groups(segs, gutters, region_right):
        first = group[0]
        if first.math >= 0.5 and len(group) == 1:
            blocks.append(_formula([first], frame, ctx, region))
            continue
        if BULLET.match(first.text):
            marker, group = _split_marker(group)
            item = make_block(group, LIST_ITEM, frame, ctx, region=region)
            if marker is not None:
                blocks.append(make_block([marker], LINE, frame, ctx, list_marker=True))
                item.meta["marker"] = marker.text
            blocks.append(item)
            continue
        if len(group) > 1:
            kind = PARAGRAPH
        elif list_like or first.word_count < 6:
            kind = LINE
        else:
            kind = PARAGRAPH
        blocks.append(make_block(group, kind, frame, ctx, region=region))
    return blocks


#: A list item's marker printed as a word of its own: "1.", "b)", "(3)", "(c)", a bullet.
MARKER = re.compile(r"^(?:\d{1,3}[.)]|[a-z][.)]|\(\d{1,3}\)|\([a-z]\)|[-*–•◦▪‣·●■□➢►])$")


def _split_marker(group: list[Seg]) -> tuple[Seg | None, list[Seg]]:
    """A list item's marker as a unit of its own, so that it stays where it was printed (and
    the translation reads only the item's words), when the item's other lines hang to the
    right of it: a translation then never needs the marker's space. Not on OCR'd lines,
    whose patch covers the whole printed line."""
    first = group[0]
    if len(first.words) < 2 or first.meta.get("ocr") or not MARKER.match(first.words[0].text):
        return None, group
    marker = first.words[0]
    if any(s.x0 < marker.x1 + 0.5 for s in group[1:]):
        return None, group  # wrapped lines run under the marker
    head = Seg([marker], line=first.line, meta=dict(first.meta)).finish()
    rest = Seg(first.words[1:], line=first.line, meta=dict(first.meta)).finish()
    return head, [rest, *group[1:]]


def _formula(segs: list[Seg], frame: Frame, ctx: PageContext, region: str) -> Block:
    block = make_block(segs, FORMULA, frame, ctx, region=region)
    block.keep, block.keep_reason = True, "formula"
    return block


def table_units(
    segs: list[Seg],
    gutters: list[tuple[float, float]],
    frame: Frame,
    ctx: PageContext,
    region: str = "table",
) -> list[Block]:
    """One unit per cell: columns from the gutters, rows from the visual lines."""
    ctx.table_counter += 1
    table = f"{ctx.number}.{ctx.table_counter}"
    cuts = sorted((g0 + g1) / 2 for g0, g1 in gutters)
    rows = sorted({s.line for s in segs})
    row_of = {line: i for i, line in enumerate(rows)}
    blocks = []
    for s in sorted(segs, key=lambda s: (s.line, s.x0)):
        col = sum(1 for c in cuts if (s.x0 + s.x1) / 2 > c)
        meta: dict[str, Any] = {"table": table, "row": row_of[s.line], "col": col, "region": region}
        if row_of[s.line] == 0 and len(rows) > 1:
            meta["header"] = True
        blocks.append(make_block([s], TABLE_CELL, frame, ctx, **meta))
    return blocks


def region_units(
    kind: str, glyphs: list[Glyph], frame: Frame, ctx: PageContext, region_box: BBox | None
) -> list[Block]:
    """Units of the glyphs inside one region of ``kind``.

    A program listing inside a region of other text is taken apart from it first: mixed in,
    its many short lines made the whole column read as a list, so the paragraph above it was
    cut into one unit per printed line, and its tokens' gaps were taken for table columns."""
    lines = build_lines(glyphs)
    if not lines:
        return []
    size = statistics.median(g.size for g in glyphs if not g.space) if glyphs else 10.0
    blocks: list[Block] = []
    for part, listing in _listing_runs(lines):
        blocks.extend(_lines_units(kind, part, listing, size, frame, ctx, region_box))
    return blocks


def _lines_units(
    kind: str,
    lines: list[list[Word]],
    listing: bool,
    size: float,
    frame: Frame,
    ctx: PageContext,
    region_box: BBox | None,
) -> list[Block]:
    gutters = [] if listing else find_gutters(lines, min_width=0.8 * size)
    segs = split_segments(
        lines, gutters, marks=ctx.local_marks(frame), walls=ctx.local_walls(frame)
    )
    if not listing:
        return units_from_segments(kind, segs, gutters, frame, ctx, region_box)
    # Each line of a listing is code, whatever it reads like alone ("echo Building..."), and a
    # line of its own (a long declaration's next line is not the rest of a sentence); the
    # prose around it (headings, a caption) keeps its own kind.
    code = [s for s in segs if s.mono >= 0.5 and s.math < 0.5]
    rest = [s for s in segs if not (s.mono >= 0.5 and s.math < 0.5)]
    blocks = units_from_segments(kind, rest, gutters, frame, ctx, region_box)
    for seg in code:
        blocks.append(make_block([seg], CODE, frame, ctx, region=kind, listing=True))
    return blocks


def _listing_runs(lines: list[list[Word]]) -> list[tuple[list[list[Word]], bool]]:
    """``lines`` cut into the program listings among them (runs of monospace lines, each
    :data:`LISTING_MONO` monospace, that read as code: :func:`_is_listing`) and the other
    lines, each part with whether it is a listing; all of them in one part when they are all
    monospace (a transcript), when they are a listing as a whole (with a label or two in
    another font) or when no listing is there."""

    def mono(line: list[Word]) -> bool:
        fonts = Counter(g.font for w in line for g in w.glyphs if not g.space)
        return _font_share(fonts, MONO_FONT) >= LISTING_MONO

    flags = [mono(line) for line in lines]
    whole = _is_listing(lines)
    if all(flags) or sum(flags) < 2 or whole:
        return [(lines, whole)]
    # The region's monospace lines read as code together: each run of them is a listing (a
    # shell script's "echo" lines beside a Python one), as when the region is all listing.
    code = _is_listing([line for line, flag in zip(lines, flags, strict=True) if flag])
    runs: list[tuple[bool, list[list[Word]]]] = []
    for line, flag in zip(lines, flags, strict=True):
        if runs and runs[-1][0] == flag:
            runs[-1][1].append(line)
        else:
            runs.append((flag, [line]))
    # A lone monospace line (a command quoted in the text) stays with the prose around it, and
    # so does preformatted text that is not code (a console's output, a poem set in Courier):
    # only a listing is taken apart.
    merged: list[tuple[bool, list[list[Word]]]] = []
    for flag, run in runs:
        flag = flag and len(run) >= 2 and (code or _is_listing(run))
        if merged and not merged[-1][0] and not flag:
            merged[-1][1].extend(run)
        else:
            merged.append((flag, run))
    if len(merged) == 1:
        return [(lines, whole)]
    prose = [line for flag, run in merged if not flag for line in run]
    return [(run, True) for flag, run in merged if flag] + (
        [(prose, _is_listing(prose))] if prose else []
    )


#: Share of monospace glyphs from which lines are judged as a possible program listing.
LISTING_MONO = 0.8


def _is_listing(lines: list[list[Word]]) -> bool:
    """The lines are a program listing: set in a monospace font and reading as code.

    Why no gutters there: a listing's tokens line up on the monospace grid (and syntax
    highlighting draws each token apart), so the white strips between them look like table
    columns, and every token would become a cell translated on its own ("import", "os").
    Judged by content (:func:`looks_like_code`), so a transcript or a table set in a
    typewriter font keeps its columns."""
    glyphs = [g for line in lines for w in line for g in w.glyphs if not g.space]
    if len(lines) < 2 or not glyphs:
        return False
    if _font_share(Counter(g.font for g in glyphs), MONO_FONT) < LISTING_MONO:
        return False
    return looks_like_code("\n".join(" ".join(w.text for w in line) for line in lines))


def units_from_segments(
    kind: str,
    segs: list[Seg],
    gutters: list[tuple[float, float]],
    frame: Frame,
    ctx: PageContext,
    region_box: BBox | None,
) -> list[Block]:
    if not segs:
        return []
    if kind == "figure":
        if (
            region_box is not None
            and not ctx.scan
            and not _prose(segs)
            and _real_figure(region_box, ctx)
        ):
            return _figure_units(segs, frame, ctx, region_box)
        kind = "table" if gutters else "text"  # the model calls text-only grids "figures"
    if kind == "table":
        long_lines = statistics.median(s.word_count for s in segs) >= 6
        if gutters and not long_lines:
            return table_units(segs, gutters, frame, ctx)
        kind = "text"
    if kind == "equation":
        return [_formula(sorted(segs, key=lambda s: (s.top, s.x0)), frame, ctx, kind)]
    if kind in ("header", "footer"):
        label = HEADER if kind == "header" else FOOTER
        return [make_block([s], label, frame, ctx, region=kind) for s in segs]
    if kind == "title":
        blocks = []
        for group in _stacks(segs):
            blocks.append(make_block(group, HEADING, frame, ctx, region=kind, level=1))
        return blocks
    right = region_box[2] if region_box is not None else None
    blocks = text_units(segs, gutters, frame, ctx, region=kind, region_right=right)
    if kind in ("figure_caption", "table_caption"):
        for b in blocks:
            if b.kind not in (FORMULA,):
                b.kind = CAPTION
    return blocks


#: The first words of a caption: "Figure 1:", "Fig. 2.", "Table 3", "图 4", "表5", or a
#: sub-figure's "(a) Brown bear" (a letter in brackets and two words or more).
_CAPTION_START = re.compile(
    r"^(?:(?:Figure|Fig\.|Table|Chart|Plate|Exhibit|Abbildung|Tabelle|Tableau|图|表)\s*\d+[.:]?"
    r"(?:\s|$)|\([a-z]\)\s+\S+\s+\S)",
    re.IGNORECASE,
)


#: Lines stacked in a figure (or one line) that hold at least this many words are a text box
#: (a framed note, a callout) or a sentence to translate, not a picture's labels.
FIGURE_TEXT_WORDS = 8


def _figure_units(segs: list[Seg], frame: Frame, ctx: PageContext, region_box: BBox) -> list[Block]:
    """A picture's labels are kept as drawn. Translated: a caption set inside the picture's
    region (the layout model often takes "Figure 1: ..." between two diagrams into the
    figure), with the lines stacked under its first one; a framed text of
    :data:`FIGURE_TEXT_WORDS` words, which the model also calls a figure, or a sentence of
    that many on one line (under a vector drawing, whose labels are short); and lines wholly
    above or below the region's images (:func:`_off_picture`)."""
    blocks: list[Block] = []
    pictures = [i for i in ctx.images if overlap_area(i, region_box) > 0.5 * _area(i)]
    for group in _stacks(segs):
        start = next((i for i, s in enumerate(group) if _CAPTION_START.match(s.text)), None)
        words = sum(s.word_count for s in group)
        text = words >= FIGURE_TEXT_WORDS and (len(group) >= 2 or start is None)
        if text or (start is None and _off_picture(group, frame, pictures)):
            blocks.extend(text_units(group, [], frame, ctx, region="figure"))
            continue
        labels = group if start is None else group[:start]
        blocks.extend(figure_label(s, frame, ctx) for s in labels)
        if start is not None:
            blocks.append(make_block(group[start:], CAPTION, frame, ctx, region="figure"))
    return blocks


def _off_picture(group: list[Seg], frame: Frame, pictures: list[BBox]) -> bool:
    """Lines clear of the images of a figure region: wholly above or below them (a paragraph
    the layout model's box took in with the picture, "Paragraph 1" printed over an image; a
    title or a note under it), or, of two words or more, touching none of them (a form's
    title beside its logo: "TRAFFIC CRASH REPORT"). A label on an image, or a word beside
    it, stays. Regions drawn only in vector curves are not judged: a chart's tick labels lie
    outside its plotted curves."""
    if not pictures:
        return False
    boxes = [frame.to_display((s.x0, s.top, s.x1, s.bottom)) for s in group]
    gap = 0.2 * max(s.size for s in group)
    top, bottom = min(p[1] for p in pictures), max(p[3] for p in pictures)
    if all(b[3] <= top + gap for b in boxes) or all(b[1] >= bottom - gap for b in boxes):
        return True
    if sum(s.word_count for s in group) < 2:
        return False
    return not any(overlap_area(_grown(b, gap), p) > 0 for b in boxes for p in pictures)


def _grown(box: BBox, by: float) -> BBox:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def figure_label(seg: Seg, frame: Frame, ctx: PageContext) -> Block:
    """A word or line inside a picture: kept as drawn (translating it would draw over the
    picture)."""
    block = make_block([seg], KEEP, frame, ctx, region="figure")
    block.keep, block.keep_reason = True, "figure"
    return block


def _stacks(segs: list[Seg]) -> list[list[Seg]]:
    """Lines directly above each other with the same size (a title over two lines)."""
    groups: list[list[Seg]] = []
    for s in sorted(segs, key=lambda s: (s.top, s.x0)):
        g = groups[-1] if groups else None
        if (
            g is not None
            and not BULLET.match(s.text)  # a list item is never the rest of a title
            and not (_field(g[-1]) or _field(s))  # nor is a letterhead's "Fax: ..." line
            and 0 - 0.3 * s.size <= s.top - g[-1].bottom <= 0.9 * s.size
            and abs(s.size - g[-1].size) <= 0.15 * s.size + 0.3
            and min(s.x1, g[-1].x1) - max(s.x0, g[-1].x0) > 0
        ):
            g.append(s)
        else:
            groups.append([s])
    return groups


def _prose(segs: list[Seg]) -> bool:
    """Text that reads as sentences, not as a picture's labels: at least three lines of five
    or more words, holding half of the words. The layout model calls printed forms (text
    between drawn boxes and check boxes) "figures"; a chart's or a diagram's labels are short."""
    long = [s.word_count for s in segs if s.word_count >= 5]
    return len(long) >= 3 and sum(long) >= 0.5 * sum(s.word_count for s in segs)


def _real_figure(box: BBox, ctx: PageContext) -> bool:
    """A figure region holds a picture (image or many drawn curves), not just a text grid."""
    area = max(1.0, (box[2] - box[0]) * (box[3] - box[1]))
    for img in ctx.images:
        if overlap_area(img, box) >= 0.3 * min(area, _area(img)):
            return True
    inside = sum(1 for c in ctx.curves if overlap_area(c, box) > 0.5 * _area(c))
    return inside >= 6


def _clip(b: BBox, ctx: PageContext) -> BBox:
    return (max(0.0, b[0]), max(0.0, b[1]), min(ctx.width, b[2]), min(ctx.height, b[3]))


def _area(b: BBox) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def assign_regions(
    centres: list[tuple[float, float]], regions: list[Region], pad: float = 2.0
) -> list[int]:
    """Index of the region each point belongs to (-1: none): the highest-precedence region
    containing it, the smallest one on ties."""
    order = sorted(
        range(len(regions)),
        key=lambda i: (-_PRIORITY.get(regions[i].kind, 0), regions[i].area),
    )
    out = []
    for x, y in centres:
        found = -1
        for i in order:
            x0, top, x1, bottom = regions[i].bbox
            if x0 - pad <= x <= x1 + pad and top - pad <= y <= bottom + pad:
                found = i
                break
        out.append(found)
    return out


def reading_order(blocks: list[Block]) -> list[Block]:
    """Top to bottom by bands; inside a band, column by column (left to right). Vertical
    units (:func:`vertical_units`) go tier by tier, right to left, among the others by
    their tier's top."""
    if len(blocks) < 2:
        return blocks
    if any(b.meta.get("vertical") for b in blocks):
        rest = reading_order([b for b in blocks if not b.meta.get("vertical")])
        return _merge_tiers(rest, _vertical_tiers([b for b in blocks if b.meta.get("vertical")]))
    boxes = [b.bbox or (0.0, 0.0, 0.0, 0.0) for b in blocks]
    left = min(b[0] for b in boxes)
    right = max(b[2] for b in boxes)
    span = max(1.0, right - left)
    ordered: list[Block] = []
    band: list[Block] = []

    def flush() -> None:
        columns: list[tuple[float, float, list[Block]]] = []
        for b in sorted(band, key=lambda b: b.bbox[0] if b.bbox else 0.0):
            x0, _, x1, _ = b.bbox or (0.0, 0.0, 0.0, 0.0)
            for i, (c0, c1, members) in enumerate(columns):
                if min(x1, c1) - max(x0, c0) > 0.5 * max(1.0, min(x1 - x0, c1 - c0)):
                    members.append(b)
                    columns[i] = (min(c0, x0), max(c1, x1), members)
                    break
            else:
                columns.append((x0, x1, [b]))
        later: list[Block] = []
        ranked = sorted(columns, key=lambda c: c[0])
        for i, (_, _, members) in enumerate(ranked):
            others = [b.bbox[3] for j, c in enumerate(ranked) if j != i for b in c[2] if b.bbox]
            floor = max(others, default=float("inf"))
            for b in sorted(members, key=lambda b: b.bbox[1] if b.bbox else 0.0):
                # Below every other column (a footnote under a two-column band): after them.
                (later if b.bbox and b.bbox[1] >= floor else ordered).append(b)
        ordered.extend(sorted(later, key=lambda b: b.bbox[1] if b.bbox else 0.0))
        band.clear()

    tables: dict[str, list[Block]] = {}
    for b in sorted(blocks, key=lambda b: (b.bbox[1], b.bbox[0]) if b.bbox else (0.0, 0.0)):
        table = b.meta.get("table")
        if table is not None:
            if table not in tables:
                tables[table] = []
                band.append(b)  # the table's first cell stands for the table
            tables[table].append(b)
            continue
        x0, _, x1, _ = b.bbox or (0.0, 0.0, 0.0, 0.0)
        if x1 - x0 > 0.6 * span:
            flush()
            ordered.append(b)
        else:
            band.append(b)
    flush()
    out: list[Block] = []
    for b in ordered:
        table = b.meta.get("table")
        if table is not None and table in tables:
            out.extend(sorted(tables.pop(table), key=lambda c: (c.meta["row"], c.meta["col"])))
        elif table is None:
            out.append(b)
    return out


_CJK_CHAR = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
# Where a sentence ends: a column that ends here and is followed by an indented one closes its
# paragraph even when it is full.
_SENTENCE_END = re.compile(r"[。．！？」』）]$")


def _chars_box(chars: Iterable[dict[str, Any]]) -> BBox:
    """The box around pdfplumber chars."""
    chars = list(chars)
    return (
        min(float(c["x0"]) for c in chars),
        min(float(c["top"]) for c in chars),
        max(float(c["x1"]) for c in chars),
        max(float(c["bottom"]) for c in chars),
    )


def _chars_size(chars: Iterable[dict[str, Any]]) -> float:
    """The median font size of pdfplumber chars (10 where one has none)."""
    return float(statistics.median(float(c.get("size") or 0) or 10.0 for c in chars))


@dataclass
class _Column:
    """One vertical line of text (a column), its glyphs top to bottom."""

    chars: list[dict[str, Any]]
    marker: bool = False  # opens with a short label set apart by a gap (一　, 第二条　)

    @property
    def x0(self) -> float:
        return _chars_box(self.chars)[0]

    @property
    def x1(self) -> float:
        return _chars_box(self.chars)[2]

    @property
    def top(self) -> float:
        return _chars_box(self.chars)[1]

    @property
    def bottom(self) -> float:
        return _chars_box(self.chars)[3]

    @property
    def size(self) -> float:
        return _chars_size(self.chars)

    @property
    def text(self) -> str:
        """The glyphs top to bottom; an ideographic space where a gap sets a label apart."""
        out: list[str] = []
        bottom = None
        size = self.size
        for c in sorted(self.chars, key=lambda c: float(c["top"])):
            if bottom is not None and float(c["top"]) - bottom > 0.7 * size:
                out.append("\u3000")
            out.append(str(c["text"]))
            bottom = float(c["bottom"])
        return "".join(out)


def vertical_units(
    chars: list[dict[str, Any]], ctx: PageContext
) -> tuple[list[dict[str, Any]], list[Block]]:
    """Vertical units of every glyph direction (a ``/Rotate`` page, a turned text matrix):
    each direction's glyphs are seen in their own frame, where they stand upright, and the
    units' boxes are turned back (see :func:`vertical_units_upright`)."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for c in chars:
        groups.setdefault(char_angle(c), []).append(c)
    taken: set[int] = set()
    blocks: list[Block] = []
    for angle, group in groups.items():
        frame = Frame(angle)
        local: list[dict[str, Any]] = []
        source: dict[int, dict[str, Any]] = {}
        for c in group:
            box = (float(c["x0"]), float(c["top"]), float(c["x1"]), float(c["bottom"]))
            x0, top, x1, bottom = frame.to_local(box)
            moved = {**c, "x0": x0, "top": top, "x1": x1, "bottom": bottom}
            source[id(moved)] = c
            local.append(moved)
        rest, found = vertical_units_upright(local, ctx, angle)
        if not found:
            continue
        left = {id(c) for c in rest}
        taken.update(id(source[id(c)]) for c in local if id(c) not in left)
        for block in found:
            assert block.bbox is not None
            block.bbox = tuple(round(v, 2) for v in frame.to_display(block.bbox))  # type: ignore[assignment]
        blocks.extend(found)
    if not blocks:
        return chars, []
    return [c for c in chars if id(c) not in taken], blocks


def vertical_units_upright(
    chars: list[dict[str, Any]], ctx: PageContext, angle: int = 0
) -> tuple[list[dict[str, Any]], list[Block]]:
    """CJK text set vertically (upright glyphs stacked top to bottom, columns right to left,
    as Japanese newspapers, gazettes and books print): units made of whole columns, and the
    other chars.

    Columns of one paragraph are joined in reading order (right to left) as horizontal lines
    are: the column before reaches the bottom of the column block (it is aligned with its
    neighbours' bottoms, so a poem's longest line is not taken for a full one), the next one
    is adjacent, starts at the block's top (or under a hanging label) and opens with no label
    of its own. Each unit is translated; its ``rotation`` is the direction its columns run
    (down the page) and ``meta["vertical"]`` tells the writer to set CJK translations in
    columns again."""
    chains: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    for c in chars:  # content-stream order: a vertical column is written top to bottom
        if current and _stacked(current[-1], c):
            current.append(c)
            continue
        if current:
            chains.append(current)
        current = [c]
    if current:
        chains.append(current)
    vertical = [
        chain
        for chain in chains
        if len(chain) >= 3 and sum(1 for c in chain if _CJK_CHAR.match(str(c["text"]))) >= 2
    ]
    if not vertical:
        return chars, []
    vertical.extend(_short_chains(chains, vertical))
    # Glyphs written apart from their column's run (another font, a mark placed later) but
    # printed inside it belong to it: a column's box, half a glyph wider and a glyph taller.
    boxes = []
    for chain in vertical:
        pad = _chars_size(chain)
        x0, top, x1, bottom = _chars_box(chain)
        boxes.append((x0 - 0.25 * pad, top - pad, x1 + 0.25 * pad, bottom + pad))
    taken = {id(c) for chain in vertical for c in chain}
    for c in chars:
        if id(c) in taken or not str(c.get("text", "")).strip():
            continue
        cx = (float(c["x0"]) + float(c["x1"])) / 2
        cy = (float(c["top"]) + float(c["bottom"])) / 2
        for chain, (x0, t0, x1, t1) in zip(vertical, boxes, strict=True):
            if x0 <= cx <= x1 and t0 <= cy <= t1:
                chain.append(c)
                taken.add(id(c))
                break
    columns = _vertical_columns(vertical)
    blocks = [_vertical_block(group, ctx, angle) for group in _vertical_paragraphs(columns)]
    return [c for c in chars if id(c) not in taken], blocks


def _vertical_tiers(blocks: list[Block]) -> list[list[Block]]:
    """Vertical units in tiers (units whose top-to-bottom spans overlap), top tier first,
    each right to left: the order a reader of vertical text follows."""

    def local(b: Block) -> BBox:  # the box in the frame where its glyphs stand upright
        return Frame(int(b.meta.get("angle", 0))).to_local(b.bbox or (0.0, 0.0, 0.0, 0.0))

    tiers: list[tuple[float, float, list[Block]]] = []
    for b in sorted(blocks, key=lambda b: (int(b.meta.get("angle", 0)), local(b)[1])):
        _, top, _, bottom = local(b)
        same = tiers and tiers[-1][2][0].meta.get("angle", 0) == b.meta.get("angle", 0)
        if same and top < tiers[-1][1]:
            t0, t1, members = tiers[-1]
            members.append(b)
            tiers[-1] = (t0, max(t1, bottom), members)
        else:
            tiers.append((top, bottom, [b]))
    return [sorted(m, key=lambda b: -local(b)[2]) for _, _, m in tiers]


def _merge_tiers(ordered: list[Block], tiers: list[list[Block]]) -> list[Block]:
    """``ordered`` (horizontal units in reading order) with each tier of vertical units put
    before the first unit that starts below the tier's top."""
    out: list[Block] = []
    pending = list(tiers)
    for b in ordered:
        top = b.bbox[1] if b.bbox else 0.0
        while pending and min(v.bbox[1] if v.bbox else 0.0 for v in pending[0]) <= top:
            out.extend(pending.pop(0))
        out.append(b)
    for tier in pending:
        out.extend(tier)
    return out


def _short_chains(
    chains: list[list[dict[str, Any]]], vertical: list[list[dict[str, Any]]]
) -> list[list[dict[str, Any]]]:
    """Chains too short to be told from horizontal text by themselves that belong to the
    vertical text around them (no glyph abuts them on a line): two stacked CJK glyphs beside
    a column (the end of a paragraph, "と。"), one glyph just above a column in it (an item
    number, "一"), or a lone glyph of the columns' size (a one-glyph title, "序")."""
    found = []
    known = {id(chain) for chain in vertical}
    spans = [(*_chars_box(chain), _chars_size(chain)) for chain in vertical]
    short = [
        chain
        for chain in chains
        if id(chain) not in known
        and len(chain) < 3
        and all(_CJK_CHAR.match(str(c["text"])) for c in chain)
    ]
    rows: dict[int, list[dict[str, Any]]] = {}
    for chain in chains:
        for c in chain:
            rows.setdefault(round(float(c["top"])), []).append(c)

    def in_a_row(g: dict[str, Any]) -> bool:
        """``g`` abuts a glyph beside it on its line: horizontal text, not a column's."""
        size = float(g.get("size") or 0) or 10.0
        top = round(float(g["top"]))
        for c in (c for k in (top - 1, top, top + 1) for c in rows.get(k, ())):
            if c is g:
                continue
            gap = max(float(c["x0"]) - float(g["x1"]), float(g["x0"]) - float(c["x1"]))
            if -0.1 * size <= gap <= 0.15 * size:
                return True
        return False

    body = statistics.median(span[4] for span in spans)
    for chain in _stack(short):
        if len(chain) > 2 or any(in_a_row(c) for c in chain):
            continue
        if len(chain) == 1 and abs(float(chain[0].get("size") or 0) - body) <= 0.15 * body:
            found.append(chain)  # a lone glyph of the body's size among columns: a column
            continue
        x0, top, _, bottom = _chars_box(chain)
        own = _chars_size(chain)
        for vx0, vtop, vx1, vbottom, size in spans:
            if abs(own - size) > 0.15 * size:
                continue
            if len(chain) == 2:
                beside = abs((vx0 + vx1) / 2 - x0 - size / 2) <= 2.5 * size
                if beside and vtop - 1.5 * size <= top and bottom <= vbottom + 1.5 * size:
                    found.append(chain)
                    break
            elif abs(vx0 - x0) <= 0.6 * size and 0 <= vtop - bottom <= 1.6 * size:
                found.append(chain)
                break
    return found


def _stack(chains: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Short chains that stand one under the other (glyphs of one column written apart in
    the content stream) joined; each chain is kept as a list, so joined ones are extended."""
    out: list[list[dict[str, Any]]] = []
    ends: dict[int, list[list[dict[str, Any]]]] = {}  # by x0 (whole points): open stacks
    for chain in sorted(chains, key=lambda ch: _chars_box(ch)[1]):
        first = chain[0]
        x = int(float(first["x0"]))
        size = float(first.get("size") or 0) or 10.0
        reach = int(0.6 * size) + 1
        for prev in (p for k in range(x - reach, x + reach + 1) for p in ends.get(k, ())):
            if _stacked(prev[-1], first):
                prev.extend(chain)
                break
        else:
            out.append(chain)
            ends.setdefault(x, []).append(chain)
    return out


def _vertical_columns(chains: list[list[dict[str, Any]]]) -> list[_Column]:
    """Chains of one column joined: across a glyph placed off the run (punctuation set by
    another font), and across the gap after a short label ("一　歩行者は", "第二条　法").
    A long run and what follows a gap under it (a table cell, another unit) stay apart."""
    out: list[_Column] = []
    for col in sorted((_Column(chain) for chain in chains), key=lambda col: col.top):
        size, x0, top = col.size, col.x0, col.top
        for prev in out:
            if abs(prev.x0 - x0) > 0.6 * size:
                continue
            gap = top - prev.bottom
            if abs(prev.size - size) > 0.15 * size:
                continue
            label = len(prev.chars) <= 8 and not prev.marker
            if gap <= 0.7 * size or (label and gap <= 1.6 * size):
                prev.marker = prev.marker or gap > 0.7 * size
                prev.chars.extend(col.chars)
                break
        else:
            out.append(col)
    return out


def _vertical_paragraphs(columns: list[_Column]) -> list[list[_Column]]:
    """Columns grouped into paragraphs, right to left (see :func:`vertical_units`)."""
    order = sorted(columns, key=lambda col: -col.x1)
    nxt: dict[int, _Column] = {}
    prv: dict[int, _Column] = {}
    for i, col in enumerate(order):
        size = col.size
        for other in order[i + 1 :]:
            if col.x0 - other.x1 > 1.6 * size:
                break
            if other.x1 > col.x0 + 0.3 * size or id(other) in prv:
                continue
            overlap = min(col.bottom, other.bottom) - max(col.top, other.top)
            if overlap >= 0.5 * min(col.bottom - col.top, other.bottom - other.top):
                nxt[id(col)], prv[id(other)] = other, col
                break
    groups: list[list[_Column]] = []
    done: set[int] = set()
    for col in order:
        if id(col) in done:
            continue
        group = [col]
        done.add(id(col))
        while True:
            b = nxt.get(id(group[-1]))
            if b is None or id(b) in done or not _column_continues(group, b, prv, nxt):
                break
            group.append(b)
            done.add(id(b))
        groups.append(group)
    return groups


def _block_bottom(col: _Column, prv: dict[int, _Column], nxt: dict[int, _Column]) -> float:
    """The bottom of the block of columns around ``col`` (five neighbours each side)."""
    bottom = col.bottom
    for links in (prv, nxt):
        other = col
        for _ in range(5):
            found = links.get(id(other))
            if found is None:
                break
            other = found
            bottom = max(bottom, other.bottom)
    return bottom


def _column_continues(
    group: list[_Column], b: _Column, prv: dict[int, _Column], nxt: dict[int, _Column]
) -> bool:
    """Column ``b`` (left of the ``group``'s last column) goes on with its paragraph."""
    a = group[-1]
    size = max(a.size, b.size)
    if abs(a.size - b.size) > 0.15 * size or b.marker:
        return False
    if a.bottom < _block_bottom(a, prv, nxt) - 0.7 * size:  # ``a`` ends short of the bottom
        return False
    if len(group) > 1:  # the paragraph's columns after the first all start at one height
        return abs(b.top - group[1].top) <= 0.5 * size
    # The second column of a paragraph starts a glyph higher (the first was indented) or a
    # glyph lower (under a hanging label); columns that all start at one height are lines
    # of their own (a poem's, a list's), even when two happen to be as long as each other.
    if not 0.5 * size <= abs(b.top - a.top) <= 1.4 * size:
        return False
    # A full column that ends a sentence, then one that does not start higher (a paragraph's
    # indent, not the outdent of its next line): a new paragraph.
    return not _SENTENCE_END.search(a.text)


def _vertical_block(group: list[_Column], ctx: PageContext, angle: int = 0) -> Block:
    """The unit of a paragraph's columns (boxes in the glyphs' upright frame; ``angle``: the
    glyphs' baseline as displayed, so the columns run at ``angle`` + 270)."""
    chars = [c for col in group for c in col.chars]
    box = _chars_box(chars)
    size = _chars_size(chars)
    return Block(
        "".join(col.text for col in group).strip(),
        kind=PARAGRAPH if len(group) > 1 else LINE,
        page=ctx.number,
        bbox=tuple(round(v, 2) for v in box),  # type: ignore[arg-type]
        font=str(chars[0].get("fontname", "")),
        size=round(size, 2),
        rotation=(angle + 270 + ctx.rotate) % 360,
        meta={"lines": len(group), "vertical": True, **({"angle": angle} if angle else {})},
    )


def _stacked(prev: dict[str, Any], c: dict[str, Any]) -> bool:
    """``c`` is the next glyph below ``prev`` in a vertical column."""
    size = float(prev.get("size") or 0) or float(prev["bottom"]) - float(prev["top"])
    if size <= 0 or not str(c.get("text", "")).strip():
        return False
    same_column = abs(float(c["x0"]) - float(prev["x0"])) <= 0.6 * size
    step = float(c["top"]) - float(prev["top"])
    return same_column and 0.3 * size <= step <= 1.6 * size
