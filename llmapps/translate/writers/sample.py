"""Paper and ink colours of a text box, sampled from the rendered page.

Why: on a page whose visible text is part of an image (a scan with an invisible OCR text
layer, as ocrmypdf writes them), removing the text layer removes nothing a reader sees; the
translation must be drawn over a patch that hides the printed line. The patch takes the
paper's own colour and the translation the ink's, both read from the page as rendered.
Units that come from our own OCR carry these colours already (``meta["background"]`` and
``meta["color"]``); this fills them for the others.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llmapps.translate.document import BBox, display_box

RGB = tuple[float, float, float]
#: Render scale for sampling (points -> pixels); colours need no detail.
SCALE = 1.5


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


class PageImage:
    """A page rendered once, on first use, to tell whether an area is blank paper."""

    def __init__(self, pdf: Path, page_index: int, rotate: int, password: str | None) -> None:
        self.pdf, self.page_index, self.rotate, self.password = pdf, page_index, rotate, password
        self._image: np.ndarray | None = None
        self._size = (0.0, 0.0)

    def _load(self) -> np.ndarray:
        if self._image is None:
            import pypdfium2 as pdfium

            doc = pdfium.PdfDocument(str(self.pdf), password=self.password)
            try:
                page = doc[self.page_index]
                try:
                    bitmap = page.render(scale=SCALE).to_pil().convert("RGB")
                finally:
                    page.close()
            finally:
                doc.close()
            self._image = np.asarray(bitmap)
            shown_h, shown_w = self._image.shape[0] / SCALE, self._image.shape[1] / SCALE
            swap = self.rotate in (90, 270)
            self._size = (shown_h, shown_w) if swap else (shown_w, shown_h)
        return self._image

    def pixels(self, box: BBox) -> np.ndarray:
        """The area's RGB pixels (none when the page cannot be rendered)."""
        try:
            image = self._load()
        except Exception:  # a page pdfium cannot render: nothing is known of it
            return np.zeros((0, 0, 3), dtype=np.uint8)
        x0, y0, x1, y1 = display_box(box, self.rotate, *self._size)
        return image[
            max(0, int(y0 * SCALE)) : max(0, int(y1 * SCALE) + 1),
            max(0, int(x0 * SCALE)) : max(0, int(x1 * SCALE) + 1),
        ]

    def blank(self, box: BBox, paper: RGB, share: float = 0.98) -> bool:
        """True when at least ``share`` of the area's pixels are the paper's colour."""
        px = self.pixels(box).reshape(-1, 3).astype(np.int32)
        if px.size == 0:
            return False
        target = np.array([round(v * 255) for v in paper])
        close = np.abs(px - target).sum(axis=1) <= 60
        return bool(close.mean() >= share)
