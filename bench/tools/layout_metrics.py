"""Layout fidelity of a translated PDF against its source, measured with pdfplumber.

The definitions follow the issue's measurements (``../shared/tools/layout_metrics.py``), so
figures compare across the two:

- collisions: share of output characters whose box overlaps a character of another output line
  by more than 30% of the smaller box (text drawn over text), beyond the collisions the source
  page already had, worst page and whole document;
- numbers kept: share of the source's standalone numbers (a cell, a count; not a number inside
  a sentence) still found as a word within 6 pt of where they stood;
- untranslated: share of the source's alphabetic words (4+ letters) still in the output;
- outside: characters the output has off the page beyond those the source already had there.

One departure from the shared tool: source words wholly off the page (a page cut out of a
larger sheet keeps the sheet's other text there) count neither as numbers nor as words. No
viewer shows them, and the translator leaves them as they are instead of translating them
(so the output's words off the page are not looked at either).

Usage: python bench/tools/layout_metrics.py SOURCE.pdf OUTPUT.pdf [FIRST [LAST]] -> JSON line.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pdfplumber

NUM = re.compile(r"^[\$\(]?[-+]?\d[\d,.:/%]*\)?$")


@dataclass
class Figures:
    chars: int = 0
    collided: int = 0
    numbers: int = 0
    numbers_kept: int = 0
    words: int = 0
    words_left: int = 0
    outside: int = 0
    page_collisions: list[float] = field(default_factory=list)  # share per output page

    @property
    def collisions(self) -> float | None:
        return self.collided / self.chars if self.chars else None

    @property
    def worst_page(self) -> float | None:
        return max(self.page_collisions) if self.page_collisions else None

    @property
    def kept(self) -> float | None:
        return self.numbers_kept / self.numbers if self.numbers else None

    @property
    def untranslated(self) -> float | None:
        return self.words_left / self.words if self.words else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("page_collisions")
        data.update(
            collisions=self.collisions,
            worst_page=self.worst_page,
            numbers_kept_share=self.kept,
            untranslated=self.untranslated,
        )
        return data


def _words(page: Any) -> list[dict[str, Any]]:
    """The page's words, with the pieces of a word that pdfplumber split at a space laid over
    it joined again. A form's blank is a run of spaces drawn over its label ("1 3 . E x t e n
    s io n"): pdfplumber cuts at every space character, though the letters touch, so "13."
    read as three numbers that a correct translation ("13.") could never keep."""
    words = list(page.extract_words(keep_blank_chars=False, use_text_flow=False))
    joined: list[dict[str, Any]] = []
    for word in words:
        last = joined[-1] if joined else None
        if (
            last is not None
            and abs(word["top"] - last["top"]) < 1.0
            and abs(word["bottom"] - last["bottom"]) < 1.0
            and -0.5 <= word["x0"] - last["x1"] <= 0.5
        ):
            joined[-1] = {
                **last,
                "text": last["text"] + word["text"],
                "x1": word["x1"],
                "bottom": max(last["bottom"], word["bottom"]),
            }
        else:
            joined.append(word)
    return joined


def _shown(page: Any, box: dict[str, Any]) -> bool:
    """Whether any of ``box`` (a word or character) lies on the page."""
    return (
        box["x1"] > 0 and box["x0"] < page.width and box["bottom"] > 0 and box["top"] < page.height
    )


def _off_page(page: Any, chars: list[dict[str, Any]]) -> int:
    width, height = page.width, page.height
    return sum(
        1
        for c in chars
        if c["x1"] > width + 1 or c["x0"] < -1 or c["bottom"] > height + 1 or c["top"] < -1
    )


def _collided(chars: list[dict[str, Any]]) -> int:
    """Characters overlapping a character of another line by > 30% of the smaller box."""
    chars = sorted(chars, key=lambda c: c["x0"])
    count = 0
    for i, c in enumerate(chars):
        for d in chars[i + 1 :]:
            if d["x0"] >= c["x1"]:
                break
            if abs(d["top"] - c["top"]) < 1.0:
                continue  # same line
            ox = min(c["x1"], d["x1"]) - max(c["x0"], d["x0"])
            oy = min(c["bottom"], d["bottom"]) - max(c["top"], d["top"])
            if ox > 0 and oy > 0:
                small = min(
                    (c["x1"] - c["x0"]) * (c["bottom"] - c["top"]),
                    (d["x1"] - d["x0"]) * (d["bottom"] - d["top"]),
                )
                if ox * oy > 0.3 * (small or 1):
                    count += 1
                    break
    return count


def measure_page(src: Any, out: Any, figures: Figures) -> None:
    """Add one source page and its translated page to ``figures``."""
    wa = [w for w in _words(src) if _shown(src, w)]
    wb = [w for w in _words(out) if _shown(out, w)]
    out_numbers = [w for w in wb if NUM.match(w["text"])]
    alpha = [w for w in wa if re.search(r"[A-Za-z]{2}", w["text"])]
    for w in wa:
        if not NUM.match(w["text"]):
            continue
        inside_sentence = any(
            abs(x["top"] - w["top"]) < 2
            and (0 <= w["x0"] - x["x1"] < 8 or 0 <= x["x0"] - w["x1"] < 8)
            for x in alpha
        )
        if inside_sentence:
            continue
        figures.numbers += 1
        if any(
            o["text"] == w["text"] and abs(o["x0"] - w["x0"]) < 6 and abs(o["top"] - w["top"]) < 6
            for o in out_numbers
        ):
            figures.numbers_kept += 1
    out_text = {w["text"].lower() for w in wb}
    for w in wa:
        t = w["text"].strip(".,;:()\"'")
        if len(t) >= 4 and t.isalpha():
            figures.words += 1
            if t.lower() in out_text:
                figures.words_left += 1
    chars = [c for c in out.chars if c["text"].strip()]
    source_chars = [c for c in src.chars if c["text"].strip()]
    figures.chars += len(chars)
    figures.outside += max(0, _off_page(out, chars) - _off_page(src, source_chars))
    # Glyphs the source itself prints over each other (a form's stacked dots) are not the
    # translation's doing: like off-page characters, only the excess counts.
    collided = max(0, _collided(chars) - _collided(source_chars))
    figures.collided += collided
    figures.page_collisions.append(collided / len(chars) if chars else 0.0)


def measure(
    source: Path, output: Path, pages: list[int] | None = None, figures: Figures | None = None
) -> Figures:
    """Figures of ``output`` against ``source``; ``pages`` are the source's 1-based page
    numbers of the output's pages (all pages when None)."""
    from llmapps.translate.parsers.pdf import open_pdf  # repairs what viewers repair

    figures = figures or Figures()
    with open_pdf(source, None) as a, pdfplumber.open(output) as b:
        numbers = pages or list(range(1, len(a.pages) + 1))
        for number, out_page in zip(numbers, b.pages, strict=False):
            src_page = a.pages[number - 1]
            measure_page(src_page, out_page, figures)
            src_page.close()
            out_page.close()
    return figures


if __name__ == "__main__":
    args = sys.argv[1:]
    first = int(args[2]) if len(args) > 2 else 1
    last = int(args[3]) if len(args) > 3 else None
    with pdfplumber.open(args[0]) as pdf:
        last = last or len(pdf.pages)
    print(json.dumps(measure(Path(args[0]), Path(args[1]), list(range(first, last + 1))).as_dict()))
