"""The document model every parser produces and every writer consumes.

Why one neutral model: PDF, Markdown and plain text all become pages of blocks, so batching,
caching and the translation chain never care where a block came from; writers read the same
blocks back (with ``translation`` filled in) and each keeps what its format can keep.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Block kinds. "keep" blocks are never sent to the model (formulas, code, URLs, numbers).
HEADING = "heading"
PARAGRAPH = "paragraph"
LIST_ITEM = "list_item"
TABLE_CELL = "table_cell"
CODE = "code"
KEEP = "keep"
# Units that follow the page's structure (layout analysis): each is translated and placed alone.
LINE = "line"  # a standalone line: list entry, form label, tally row; never merged with neighbours
HEADER = "header"  # running header, never merged with the body
FOOTER = "footer"  # running footer or page number
CAPTION = "caption"  # figure or table caption
FORMULA = "formula"  # equation: kept as drawn

BBox = tuple[float, float, float, float]  # x0, top, x1, bottom in points, origin top-left

#: Text set smaller than this many points is no text to translate: nobody can read it (a
#: form's "*Required Field" hidden for screen readers at 1 pt). It stays as printed, is no
#: part of a unit (it would set a unit's size), and translations may cover it.
MICRO_TEXT = 2.0
#: Fonts of pictures, not letters (a form's check marks and boxes): a glyph's code says
#: nothing about what it shows, so their glyphs are no text to translate and stay as drawn.
SYMBOL_FONT = re.compile(r"(dingbat|wingding|webding|marlett)", re.I)
#: Monospace fonts by name: Courier and its clones (PSNFSS "pcrr", Nimbus Mono), the code
#: faces (Consolas, Menlo, Monaco, Source Code, Fira Code), and TeX's typewriter faces
#: (cmtt, ectt, sftt, txtt; Latin Modern's "LMMono"). The parsers measure a line's monospace
#: share with it, and the keep rules judge a monospace unit's content as code or prose.
MONO_FONT = re.compile(
    r"(courier|mono|nimbusmon|consol|menlo|monaco|typewriter|fixed|code|cmtt|ectt|sftt|txtt|pcrr)",
    re.I,
)

# Coordinates (the one convention parsers and writers share): every PDF ``Block.bbox`` and
# ``Page.width``/``height`` are in the page's *unrotated* user space, in points, origin at the
# top-left of the unrotated page, y downwards -- pdfplumber's coordinates for the same page
# without its ``/Rotate``. Why unrotated: the content stream the writer edits and draws into
# lives there, so only the parser (which sees pages as displayed: pdfplumber and the rendered
# image both apply ``/Rotate``) converts, once, with :func:`user_box`. ``Block.rotation`` is
# the baseline direction in that same space, so upright text on a ``/Rotate 90`` page has
# rotation 90. :func:`display_box` maps back (rendered pages, previews, "near the top").


def overlap_area(a: BBox, b: BBox) -> float:
    """The area two boxes share (0 when apart)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, width) * max(0.0, height)


def user_box(box: BBox, rotate: int, width: float, height: float) -> BBox:
    """A box as displayed (``/Rotate`` applied; ``width``/``height`` the displayed page's)
    in unrotated user space."""
    x0, t0, x1, t1 = box
    if rotate == 90:  # displayed (x, t) = (H - t_user, x_user); H = displayed width
        mapped = [(t, width - x) for x, t in ((x0, t0), (x1, t1))]
    elif rotate == 180:
        mapped = [(width - x, height - t) for x, t in ((x0, t0), (x1, t1))]
    elif rotate == 270:  # displayed (x, t) = (t_user, W - x_user); W = displayed height
        mapped = [(height - t, x) for x, t in ((x0, t0), (x1, t1))]
    else:
        return box
    xs, ys = [p[0] for p in mapped], [p[1] for p in mapped]
    return (min(xs), min(ys), max(xs), max(ys))


def display_box(box: BBox, rotate: int, width: float, height: float) -> BBox:
    """A box in unrotated user space (``width``/``height`` the unrotated page's) as it lies
    on the page displayed with its ``/Rotate``."""
    x0, t0, x1, t1 = box
    if rotate == 90:
        mapped = [(height - t, x) for x, t in ((x0, t0), (x1, t1))]
    elif rotate == 180:
        mapped = [(width - x, height - t) for x, t in ((x0, t0), (x1, t1))]
    elif rotate == 270:
        mapped = [(t, width - x) for x, t in ((x0, t0), (x1, t1))]
    else:
        return box
    xs, ys = [p[0] for p in mapped], [p[1] for p in mapped]
    return (min(xs), min(ys), max(xs), max(ys))


@dataclass
class Block:
    """One unit of text translated as a whole (a paragraph, a heading, a table cell)."""

    text: str
    kind: str = PARAGRAPH
    page: int = 1  # 1-based page number
    bbox: BBox | None = None
    font: str = ""
    size: float = 0.0
    bold: bool = False
    keep: bool = False  # deliberately left as is (code, URL, numbers, formula, target script)
    keep_reason: str = ""
    # Direction of the text baseline in PDF user space, degrees counter-clockwise (0, 90, 180,
    # 270): writers draw the translation in the same orientation.
    rotation: int = 0
    # meta also carries, for OCR'd units: "ocr": True, "background": (r, g, b) and "color":
    # (r, g, b) in 0..1 sampled from the page image, so the writer can patch only the text,
    # and "ink": the printed lines' upright box (on a skewed scan taller than ``bbox``, which
    # is the lines' de-skewed band where the translation goes). A table cell's unit, whose
    # ``bbox`` is the whole ruled cell, keeps its text's own box in "text_box".
    meta: dict[str, Any] = field(default_factory=dict)  # level, list marker, table/row/col...
    translation: str | None = None

    @property
    def output(self) -> str:
        """What writers print: the translation, or the source when kept/untranslated."""
        if self.keep or not self.translation:
            return self.text
        return self.translation


@dataclass
class Page:
    number: int  # 1-based
    width: float = 0.0  # unrotated user space (see "Coordinates" above)
    height: float = 0.0
    blocks: list[Block] = field(default_factory=list)
    image_count: int = 0
    scanned: bool = False  # images but no text layer: cannot be translated without OCR
    rotate: int = 0  # the page's /Rotate, normalised to 0, 90, 180 or 270
    ocr: bool = False  # units of this page came from OCR of the page image
    layer_off: bool = False  # OCR'd because its text layer lies beside the printed words
    layout: str = "rules"  # what made the units: "model" (layout model) or "rules" (fallback)
    # The part viewers show (the CropBox) when it is smaller than the media box: translations
    # of what is shown stay inside it.
    crop: BBox | None = None

    def area(self, box: BBox | None) -> BBox:
        """Where the translation of a unit at ``box`` must stay: the crop box when the unit is
        shown, else (printer's marks outside it, translated all the same) the whole page."""
        full = (0.0, 0.0, self.width, self.height)
        if self.crop is None or box is None:
            return full
        c = self.crop
        shown = box[0] < c[2] and box[2] > c[0] and box[1] < c[3] and box[3] > c[1]
        return c if shown else full


@dataclass
class Document:
    path: Path
    kind: str  # "pdf" | "md" | "txt"
    pages: list[Page] = field(default_factory=list)
    title: str = ""
    page_count: int = 0  # pages in the file (before any page range)

    @property
    def blocks(self) -> list[Block]:
        return [b for p in self.pages for b in p.blocks]

    @property
    def scanned_pages(self) -> list[int]:
        return [p.number for p in self.pages if p.scanned]
