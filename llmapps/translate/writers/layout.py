"""Line breaking and size fitting: a text in a box of a given width and height.

Why widths from a per-character table: fitting tries many sizes for every unit of a page, and
measuring each candidate line with the font again is quadratic in the line length; widths scale
linearly with the size, so each character is measured once per font (at 1 pt) and every size
after that is a multiplication.

Line breaking: Latin text breaks between words (a word wider than the line breaks between
characters); CJK text breaks between any two characters, except that closing punctuation never
starts a line and opening brackets never end one (kinsoku shori, the Chinese/Japanese rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from reportlab.pdfbase import pdfmetrics

from llmapps.translate import scripts
from llmapps.translate.scripts import FROM_SUPERSCRIPT, SUPERSCRIPT_DIGITS

# One CJK character, a run of non-space non-CJK characters, or a run of spaces.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+|\s+")
# Never at the start of a line (closing punctuation) / never at its end (opening brackets).
# A footnote mark stays with the word it follows.
NO_START = set(
    "，。、；：！？）」』】》〉’”…·%‰,.;:!?)]}ー々〜︶﹂﹄︼︾﹀︸︺︘" + SUPERSCRIPT_DIGITS
)
NO_END = set("（「『【《〈‘“([{︵﹁﹃︻︽︿︷︹︗")
# Vertical presentation forms (Unicode FE10-FE19, FE30-FE44): brackets and dashes turned for
# columns. Used only where the drawing font has the glyph.
VERTICAL_FORMS = {
    "，": "︐",
    "、": "︑",
    "。": "︒",
    "：": "︓",
    "；": "︔",
    "！": "︕",
    "？": "︖",
    "…": "︙",
    "—": "︱",
    "（": "︵",
    "）": "︶",
    "(": "︵",
    ")": "︶",
    "｛": "︷",
    "｝": "︸",
    "〔": "︹",
    "〕": "︺",
    "【": "︻",
    "】": "︼",
    "《": "︽",
    "》": "︾",
    "〈": "︿",
    "〉": "﹀",
    "「": "﹁",
    "」": "﹂",
    "『": "﹃",
    "』": "﹄",
    "“": "﹁",
    "”": "﹂",
    "‘": "﹃",
    "’": "﹄",
}
# Set sideways in a column (turned 90° clockwise, like Latin words): marks drawn along the
# line that have no vertical form in the font.
SIDEWAYS = set("ー〜～…‥—―–-_")
# Full-width comma and stop sit in the lower left of an upright cell; in a column they belong
# in the upper right.
CORNER_MARKS = set("、。，．")
MIN_SIZE = 4.0
LEADING = 1.2


@dataclass
class Metrics:
    """Vertical metrics of the drawing font, as fractions of the font size."""

    ascent: float
    descent: float  # negative: below the baseline

    @property
    def height(self) -> float:
        return self.ascent - self.descent


@lru_cache(maxsize=8)
def font_metrics(font: str) -> Metrics:
    face = getattr(pdfmetrics.getFont(font), "face", None)
    ascent = float(getattr(face, "ascent", 0) or 800) / 1000
    descent = float(getattr(face, "descent", 0) or -200) / 1000
    return Metrics(ascent, descent if descent < 0 else -descent)


class Widths:
    """Advance widths of one font at 1 pt, measured once per character."""

    _cache: ClassVar[dict[str, Widths]] = {}

    def __init__(self, font: str) -> None:
        self.font = font
        self._chars: dict[str, float] = {}

    @classmethod
    def of(cls, font: str) -> Widths:
        if font not in cls._cache:
            cls._cache[font] = cls(font)
        return cls._cache[font]

    def char(self, ch: str) -> float:
        width = self._chars.get(ch)
        if width is None:
            if ch in SUPERSCRIPT_DIGITS:  # drawn as its plain digit, smaller (pdf._draw)
                width = scripts.SCALE * self.char(ch.translate(FROM_SUPERSCRIPT))
            else:
                width = float(pdfmetrics.stringWidth(ch, self.font, 1000)) / 1000
            self._chars[ch] = width
        return width

    def text(self, text: str) -> float:
        """Width of ``text`` at 1 pt."""
        return sum(self.char(ch) for ch in text)


@dataclass
class Fitted:
    lines: list[str]
    size: float
    leading: float

    def height(self) -> float:
        return self.size + (len(self.lines) - 1) * self.leading if self.lines else 0.0


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy line breaking at ``size`` into ``width``; newlines in ``text`` start new lines."""
    return _wrap_units(text, Widths.of(font), width / size if size > 0 else 0.0)


def _wrap_units(text: str, widths: Widths, limit: float, first: float | None = None) -> list[str]:
    """Break ``text`` into lines no wider than ``limit`` (in units of the font size); the
    very first line no wider than ``first`` when given (a paragraph's indented first line)."""
    lines: list[str] = []

    def room() -> float:
        return limit if lines or first is None else first

    for paragraph in text.split("\n"):
        line = ""
        line_width = 0.0
        for token in _TOKEN.findall(paragraph):
            token_width = widths.text(token)
            if token.isspace():
                if line:
                    line += " "
                    line_width += widths.char(" ")
                continue
            if line_width + token_width <= room() + 1e-6 or not line:
                if not line and token_width > room() and len(token) > 1:
                    # A single word wider than the box: break it between characters.
                    for ch in token:
                        w = widths.char(ch)
                        if line and line_width + w > room() + 1e-6:
                            lines.append(line)
                            line, line_width = "", 0.0
                        line += ch
                        line_width += w
                    continue
                line += token
                line_width += token_width
                continue
            # Break before ``token``.
            done = line.rstrip()
            carry = ""
            if token[0] in NO_START and len(done) > 1:
                # Closing punctuation may not start a line: take the last character (or the
                # last word: "（DMCA）" breaks before "DMCA", not inside it) along.
                carry, done = _last_piece(done)
                while carry[0] in NO_START and len(done) > 1:  # "）。": both go along
                    piece, done = _last_piece(done)
                    carry = piece + carry
            while len(done) > 1 and done[-1] in NO_END:
                carry, done = done[-1] + carry, done[:-1].rstrip()
            lines.append(done)
            line = carry + token
            line_width = widths.text(line)
        lines.append(line.rstrip())
    return [ln for ln in lines if ln] or [""]


def _last_piece(line: str) -> tuple[str, str]:
    """(the last CJK character or word of ``line``, the rest, right-stripped); a line of one
    word gives up only its last character."""
    last = _TOKEN.findall(line)[-1]
    if len(last) >= len(line.rstrip()):
        last = line[-1]
    return last, line[: len(line) - len(last)].rstrip()


def upright(ch: str) -> bool:
    """``ch`` stands upright in a vertical column (CJK and full-width characters); anything
    else (Latin, digits, ASCII marks) is set sideways."""
    return bool(_UPRIGHT.match(ch)) and ch not in SIDEWAYS


_UPRIGHT = re.compile(rf"[{_CJK}\ufe10-\ufe4f]")


def has_glyph(font: str, ch: str) -> bool:
    face = getattr(pdfmetrics.getFont(font), "face", None)
    glyphs = getattr(face, "charToGlyph", None)
    return glyphs is None or ord(ch) in glyphs


def vertical_text(text: str, font: str) -> str:
    """``text`` with the punctuation that has a vertical form (in ``font``) replaced by it."""
    return "".join(
        VERTICAL_FORMS[ch] if ch in VERTICAL_FORMS and has_glyph(font, VERTICAL_FORMS[ch]) else ch
        for ch in text
    )


def column_pieces(text: str) -> list[tuple[str, bool]]:
    """A column's text as pieces drawn one way: (one upright character, True) or (a run of
    characters set sideways, False)."""
    pieces: list[tuple[str, bool]] = []
    for ch in text:
        if upright(ch):
            pieces.append((ch, True))
        elif pieces and not pieces[-1][1]:
            pieces[-1] = (pieces[-1][0] + ch, False)
        else:
            pieces.append((ch, False))
    return pieces


def cjk_share(text: str) -> float:
    """The share of ``text``'s non-space characters that are CJK."""
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return 0.0
    return sum(1 for ch in chars if _UPRIGHT.match(ch)) / len(chars)


def widest(lines: list[str], font: str) -> float:
    """Width of the widest line at 1 pt."""
    widths = Widths.of(font)
    return max((widths.text(line) for line in lines), default=0.0)


def fit_size(
    text: str,
    font: str,
    width: float,
    height: float,
    largest: float,
    smallest: float,
    leading: float = LEADING,
    indent: float = 0.0,
    hang: float = 0.0,
) -> Fitted | None:
    """The largest size in [``smallest``, ``largest``] at which ``text`` fits the box, or None.

    ``indent`` (points) narrows the first line, ``hang`` every other line, as a paragraph's
    indented first line or a reference's hanging lines were printed.

    Sizes are searched in steps of 2% (about a quarter point at 12 pt), largest first, by
    bisection: the number of lines only grows as the size grows.
    """
    widths = Widths.of(font)
    if width <= 0 or height <= 0 or largest <= 0:
        return None
    first, other = width - indent, width - hang

    def attempt(size: float) -> Fitted | None:
        lines = _wrap_units(text, widths, other / size, first / size)
        fitted = Fitted(lines, size, size * leading)
        too_wide = any(
            widths.text(line) * size > (first if i == 0 else other) + 0.01
            for i, line in enumerate(lines)
        )
        if fitted.height() <= height + 0.01 and not too_wide:
            return fitted
        return None

    best = attempt(largest)
    if best is not None:
        return best
    if smallest >= largest or attempt(smallest) is None:
        return None
    lo, hi = smallest, largest  # fits at lo, not at hi
    while hi - lo > max(0.05, lo * 0.02):
        mid = (lo + hi) / 2
        if attempt(mid) is not None:
            lo = mid
        else:
            hi = mid
    return attempt(lo)


def fit(text: str, font: str, size: float, width: float, height: float) -> Fitted:
    """The largest size <= ``size`` (down to MIN_SIZE) at which ``text`` fits; at MIN_SIZE
    the text may still be taller than the box (callers check ``height()``)."""
    largest = max(size, MIN_SIZE)
    fitted = fit_size(text, font, width, height, largest, MIN_SIZE)
    if fitted is not None:
        return fitted
    lines = wrap(text, font, MIN_SIZE, width)
    return Fitted(lines, MIN_SIZE, MIN_SIZE * LEADING)
