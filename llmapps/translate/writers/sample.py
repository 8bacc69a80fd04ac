"""Paper and ink colours of a text box, sampled from the rendered page.

Why: on a page whose visible text is part of an image (a scan with an invisible OCR text
layer, as ocrmypdf writes them), removing the text layer removes nothing a reader sees; the
translation must be drawn over a patch that hides the printed line. The patch takes the
paper's own colour and the translation the ink's, both read from the page as rendered.
Units that come from our own OCR carry these colours already (``meta["background"]`` and
``meta["color"]``); this fills them for the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from llmapps.translate.document import BBox

RGB = tuple[float, float, float]
#: Render scale for sampling (points -> pixels); colours need no detail.
SCALE = 1.5


def _display_box(box: BBox, rotate: int, width: float, height: float) -> BBox:
    """A box in unrotated top-left coordinates as it lies on the page rendered with /Rotate."""
    x0, t0, x1, t1 = box
    corners = [(x0, t0), (x1, t1)]
    if rotate == 90:
        mapped = [(height - t, x) for x, t in corners]
    elif rotate == 180:
        mapped = [(width - x, height - t) for x, t in corners]
    elif rotate == 270:
        mapped = [(t, width - x) for x, t in corners]
    else:
        mapped = corners
    xs, ys = [p[0] for p in mapped], [p[1] for p in mapped]
    return (min(xs), min(ys), max(xs), max(ys))


def colours(pixels: np.ndarray) -> tuple[RGB, RGB]:
    """(paper, ink) of an RGB pixel block: the most common colour, and the typical colour of
    the pixels that differ clearly from it (black or white when none do)."""
    flat = pixels.reshape(-1, 3).astype(np.int32)
    if flat.size == 0:
        return (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)
    bins = (flat // 16) @ np.array([256, 16, 1])
    common = np.bincount(bins).argmax()
    paper = flat[bins == common].mean(axis=0)
    distance = np.abs(flat - paper).sum(axis=1)
    far = flat[distance > 120]
    if len(far) >= max(4, len(flat) // 200):
        ink = np.median(far, axis=0)
    else:
        ink = np.zeros(3) if paper.mean() > 127 else np.full(3, 255.0)
    return _rgb(paper), _rgb(ink)


def _rgb(values: np.ndarray) -> RGB:
    r, g, b = (float(min(255.0, max(0.0, v))) / 255 for v in values)
    return (r, g, b)


def sample_page(
    pdf: Path,
    page_index: int,
    boxes: Sequence[BBox],
    rotate: int = 0,
    password: str | None = None,
) -> list[tuple[RGB, RGB]]:
    """(paper, ink) for each box (unrotated top-left coordinates) of page ``page_index``."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf), password=password)
    try:
        page = doc[page_index]
        try:
            image = np.asarray(page.render(scale=SCALE).to_pil().convert("RGB"))
        finally:
            page.close()
    finally:
        doc.close()
    # The page as rendered (with /Rotate applied: for 90 and 270 the sides swap).
    shown_h, shown_w = image.shape[0] / SCALE, image.shape[1] / SCALE
    width, height = (shown_h, shown_w) if rotate in (90, 270) else (shown_w, shown_h)
    out = []
    for box in boxes:
        x0, y0, x1, y1 = _display_box(box, rotate, width, height)
        px = image[
            max(0, int(y0 * SCALE)) : max(0, int(y1 * SCALE) + 1),
            max(0, int(x0 * SCALE)) : max(0, int(x1 * SCALE) + 1),
        ]
        out.append(colours(px))
    return out
