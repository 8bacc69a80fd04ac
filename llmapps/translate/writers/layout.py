"""Fitting text into a box: wrap (words for Latin, characters for CJK) and shrink until it fits.

Why shrink rather than overflow: a translation is often longer than its source (English ->
German) or uses wider glyphs (-> Chinese); the box is the only place known to be free on the
page, so the text gets smaller, never bigger than the box, and never leaves the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmapps.translate.fonts import text_width

_TOKEN = re.compile(
    r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]|[^\s\u2e80-\u9fff]+|\s+"
)
MIN_SIZE = 4.0
LEADING = 1.2


@dataclass
class Fitted:
    lines: list[str]
    size: float
    leading: float

    def height(self) -> float:
        return self.size + (len(self.lines) - 1) * self.leading if self.lines else 0.0


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy line breaking; paragraphs inside ``text`` (newlines) start new lines."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _TOKEN.findall(paragraph):
            candidate = line + token
            if text_width(candidate.rstrip(), font, size) <= width or not line.strip():
                if not line.strip() and text_width(token, font, size) > width and token.strip():
                    # A single word wider than the box: break it by characters.
                    for ch in token:
                        if line and text_width(line + ch, font, size) > width:
                            lines.append(line)
                            line = ""
                        line += ch
                    continue
                line = candidate if line.strip() else token.lstrip()
            else:
                lines.append(line.rstrip())
                line = token.lstrip()
        lines.append(line.rstrip())
    return [ln for ln in lines if ln] or [""]


def fit(text: str, font: str, size: float, width: float, height: float) -> Fitted:
    """The largest size <= ``size`` (down to MIN_SIZE) at which ``text`` fits the box."""
    current = max(size, MIN_SIZE)
    while True:
        lines = wrap(text, font, current, width)
        fitted = Fitted(lines, current, current * LEADING)
        if fitted.height() <= height + 0.5 or current <= MIN_SIZE:
            return fitted
        current = max(MIN_SIZE, current - max(0.25, current * 0.05))
