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

from llmapps.translate.document import BBox, display_box, user_box
from llmapps.translate.parsers.pdf import uncrop

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

    def __init__(
        self,
        pdf: Path,
        page_index: int,
        rotate: int,
        password: str | None,
        media: tuple[float, ...] | None = None,
    ) -> None:
        self.pdf, self.page_index, self.rotate, self.password = pdf, page_index, rotate, password
        self.media = media  # the page's MediaBox (PDF user space): boxes count from it
        self._image: np.ndarray | None = None
        self._size = (0.0, 0.0)

    def _load(self) -> np.ndarray:
        if self._image is None:
            import pypdfium2 as pdfium

            doc = pdfium.PdfDocument(str(self.pdf), password=self.password)
            try:
                page = doc[self.page_index]
                try:
                    # Boxes count from the media box; pdfium renders the CropBox by default.
                    uncrop(page, self.media)
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

    def ink_box(
        self, box: BBox, paper: RGB, along_x: bool = True, others: Sequence[BBox] = ()
    ) -> BBox | None:
        """The printed text a box of an invisible text layer stands for: ``box`` (user space)
        moved onto the ink around it, or None when the render shows no ink there.

        Why: an OCR layer's glyph boxes are the OCR engine's estimate; they are often taller
        than the printed line and a little shorter along it, so a patch over the box alone
        leaves the ends of the printed word showing and a translation sized from it is too
        big. Ink cut by the box's ends is followed along the baseline over gaps no wider than
        a letter gap (never across a word gap, so a neighbouring word is not taken in); across
        the line, the box shrinks or grows to the ink rows inside a window of its own height.
        ``along_x``: the text runs along the displayed page's x axis.

        ``others``: the boxes of the page's other text. A layer set in a font wider or narrower
        than the print can fall short of its word by more than a letter gap (a typewritten
        title's last letter); ink past such a gap is still taken when it lies nearer to this
        box than to any other text's box on the line (:func:`_claim`).
        """
        try:
            image = self._load()
        except Exception:
            return None
        shown_w, shown_h = image.shape[1] / SCALE, image.shape[0] / SCALE
        # Work as if the text ran along x: transpose the image and the boxes.
        x0, y0, x1, y1 = _turned(display_box(box, self.rotate, *self._size), along_x)
        if not along_x:
            image = image.transpose(1, 0, 2)
        height = y1 - y0
        if height <= 0 or x1 <= x0:
            return None
        # Window: a line height to either end, a quarter of it above and below (points).
        wx0, wx1 = max(0.0, x0 - height), min(image.shape[1] / SCALE, x1 + height)
        wy0 = max(0.0, y0 - 0.25 * height)
        wy1 = min(image.shape[0] / SCALE, y1 + 0.25 * height)
        px = lambda v: round(v * SCALE)  # noqa: E731
        area = image[px(wy0) : px(wy1), px(wx0) : px(wx1)].astype(np.int32)
        if area.size == 0:
            return None
        target = np.array([round(v * 255) for v in paper])
        ink = np.abs(area - target).sum(axis=2) > 120
        rows = slice(px(y0) - px(wy0), px(y1) - px(wy0))
        cols = ink[rows].any(axis=0)
        inside = np.arange(cols.size)
        core = (inside >= px(x0) - px(wx0)) & (inside < px(x1) - px(wx0))
        if not (cols & core).any():
            return None
        line_rows = ink[:, core].any(axis=1)
        ink_height = max(1, int(line_rows.sum()))
        gap = max(1, int(0.12 * ink_height))  # letter gaps pass, word gaps stop
        left, right = _span(cols, core, gap)
        rivals = [
            (px(ox0) - px(wx0), px(ox1) - px(wx0))
            for ox0, oy0, ox1, oy1 in (
                _turned(display_box(o, self.rotate, *self._size), along_x) for o in others
            )
            if min(oy1, y1) - max(oy0, y0) > 0.5 * min(oy1 - oy0, height) and ox1 > ox0
        ]
        own = (px(x0) - px(wx0), px(x1) - px(wx0))
        left, right = _claim(cols, (left, right), own, rivals, gap, 0.35 * ink_height)
        if ink[:, left : right + 1].mean() > 0.5:  # a photo or a dark fill, not print on paper
            return None
        rows_any = ink[:, left : right + 1].any(axis=1)
        box_rows = np.zeros(rows_any.size, dtype=bool)
        box_rows[rows] = True
        if right - left > 2 * ink_height:
            # Past the box, ascenders and descenders ink a few columns of a word's width; a
            # row inked across half of it is a rule (an underline), where the text ends.
            rows_any &= box_rows | (ink[:, left : right + 1].mean(axis=1) < 0.5)
        top, bottom = _span(rows_any, box_rows, 1)
        out = (
            wx0 + left / SCALE,
            wy0 + top / SCALE,
            wx0 + (right + 1) / SCALE,
            wy0 + (bottom + 1) / SCALE,
        )
        if not along_x:
            out = (out[1], out[0], out[3], out[2])
        return user_box(out, self.rotate, shown_w, shown_h) if self.rotate else out


def _runs(filled: np.ndarray, gap: int) -> list[list[int]]:
    """[first, last] index of each run of ``filled``, runs joined over gaps up to ``gap``."""
    runs: list[list[int]] = []
    for i in np.flatnonzero(filled):
        if runs and i - runs[-1][1] - 1 <= gap:
            runs[-1][1] = int(i)
        else:
            runs.append([int(i), int(i)])
    return runs


def _turned(box: BBox, along_x: bool) -> BBox:
    """``box`` with its axes swapped when the text runs along y (the image is transposed)."""
    x0, y0, x1, y1 = box
    return (x0, y0, x1, y1) if along_x else (y0, x0, y1, x1)


def _claim(
    filled: np.ndarray,
    span: tuple[int, int],
    own: tuple[int, int],
    rivals: Sequence[tuple[int, int]],
    gap: int,
    far: float,
) -> tuple[int, int]:
    """``span`` grown over the ink runs beyond it that belong to this box: each run, taken in
    order outwards, is reached over a gap up to ``far``, starts within a tenth of the box's
    length of the box's end, and lies nearer to the box (``own``) than to any rival box."""
    runs = _runs(filled, gap)
    reach = 0.1 * (own[1] - own[0]) + gap

    def distance(a: int, b: int, box: tuple[int, int]) -> float:
        return max(0, box[0] - b, a - box[1])

    def ours(a: int, b: int, edge: int, outward: int) -> bool:
        rival = min((distance(a, b, r) for r in rivals), default=float("inf"))
        return edge * outward <= reach and distance(a, b, own) < rival

    left, right = span
    for a, b in runs:
        if a <= right:
            continue
        if a - right - 1 > far or not ours(a, b, a - own[1], 1):
            break
        right = b
    for a, b in reversed(runs):
        if b >= left:
            continue
        if left - b - 1 > far or not ours(a, b, b - own[0], -1):
            break
        left = a
    return left, right


def _span(filled: np.ndarray, seed: np.ndarray, gap: int) -> tuple[int, int]:
    """First and last index of the runs of ``filled`` (runs joined over gaps up to ``gap``)
    that meet ``seed``."""
    runs = _runs(filled, gap)
    met = [r for r in runs if seed[r[0] : r[1] + 1].any()] or runs
    if not met:
        inside = np.flatnonzero(seed)
        return int(inside[0]), int(inside[-1])
    return min(r[0] for r in met), max(r[1] for r in met)
