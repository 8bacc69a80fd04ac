"""OCR of page images with RapidOCR (PP-OCRv4 models shipped inside its wheel), offline.

Why a shared module: the translator turns scanned pages into units it can translate and redraw,
and the chat knowledge base indexes the same pages; both need the same lines, and applications
never import each other, so the OCR lives beside them (like ``llmapps.uploads``).

Why word boundaries are restored here: the bundled recognizer often drops the spaces of English
text ("TheLinnSequenceris astate-of-the-art"); a translator or a search index given glued words
sees unknown tokens. Letter runs are split with ``wordsegment`` (its unigram counts ship in the
wheel) only when every resulting word is a common English word, so other languages stay as read.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from llmapps.onnx_fusion import use_fused_graph

#: OCR reads pages rendered at this many pixels per point (about 150 dpi): enough for body
#: text, and it keeps the recognizer's work per page bounded.
OCR_SCALE = 2.0
#: The longest side of an image given to the recognizer (RapidOCR shrinks larger ones anyway).
MAX_SIDE = 2000
#: Lines recognised per onnxruntime call. One at a time: PP-OCRv4's recognizer costs 1.5-3x
#: more CPU per line in RapidOCR's default batches of 6 (a batch is padded to its widest line,
#: and batched inputs run slower per line on CPU); measured per page in the README.
REC_BATCH = 1
#: The narrowest recognizer input, in pixels (its height is 48). RapidOCR pads every line to
#: 320 (PaddleOCR's training width), so a form's "5" or "Yes" cost as much as a line of 40
#: characters. Unpadded, text-layer pages read by OCR match their text layer as well (words
#: found 82.2% against 82.0%, of which right 84.9% against 84.7%) for 12% less CPU.
REC_MIN_WIDTH = 48
#: onnxruntime threads per recognition call; see :data:`REC_BATCH`.
OCR_THREADS = 1
#: onnxruntime threads for a page's detection, one call per page: two (not spinning while
#: they wait) take 0.45 s wall on a letter page where one takes 0.76 s, for the same CPU.
DET_THREADS = 2
#: Python threads that recognise a page's lines side by side (each line on one onnxruntime
#: thread): both cores work on a page without onnxruntime's spinning thread pool.
REC_THREADS = 2
#: The models inside rapidocr-onnxruntime's wheel (its config.yaml), run through
#: :mod:`llmapps.onnx_fusion`.
DET_MODEL = "ch_PP-OCRv4_det_infer.onnx"
REC_MODEL = "ch_PP-OCRv4_rec_infer.onnx"

_LOCK = threading.Lock()


@dataclass
class OcrLine:
    """One recognised line; ``bbox`` in points (x0, top, x1, bottom) of the rendered page."""

    text: str
    bbox: tuple[float, float, float, float]
    score: float
    height: float  # text height in points (the line box's short side)
    angle: float = 0.0  # skew of the line in degrees (counter-clockwise)
    color: tuple[float, float, float] = (0.0, 0.0, 0.0)
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    meta: dict[str, Any] = field(default_factory=dict)
    # Set on a line read from a page scanned sideways (:func:`ocr_page`): its band, worked out
    # upright and turned back to the page.
    turned_band: tuple[float, float, float, float] | None = None

    @property
    def band(self) -> tuple[float, float, float, float]:
        """The line's own text band, de-skewed: the box's width, and the text height around
        its middle. On a skewed scan the upright box of a line is much taller than its text
        and overlaps the lines above and below; the band does not."""
        if self.turned_band is not None:
            return self.turned_band
        x0, top, x1, bottom = self.bbox
        middle = (top + bottom) / 2
        half = min(self.height, bottom - top) / 2
        return (x0, middle - half, x1, middle + half)


@lru_cache(maxsize=1)
def _engine() -> Any:
    import rapidocr_onnxruntime
    from rapidocr_onnxruntime import RapidOCR

    # No angle classifier: pages come rendered upright (pdfium applies /Rotate), and it costs
    # ~15%. Threads and batch: see OCR_THREADS and REC_BATCH.
    engine = RapidOCR(
        intra_op_num_threads=OCR_THREADS,
        inter_op_num_threads=1,
        print_verbose=False,
        use_cls=False,
        rec_batch_num=REC_BATCH,
    )
    channels, height, _ = engine.text_rec.rec_image_shape
    engine.text_rec.rec_image_shape = [channels, height, REC_MIN_WIDTH]
    models = Path(rapidocr_onnxruntime.__file__).parent / "models"
    use_fused_graph(engine.text_det.infer, models / DET_MODEL, DET_THREADS, arena=False)
    use_fused_graph(engine.text_rec.session, models / REC_MODEL, OCR_THREADS, arena=False)
    if REC_THREADS > 1:
        engine.text_rec = SplitRecognizer(engine.text_rec, REC_THREADS)
    engine.text_det.get_preprocess = _table_preprocess(engine.text_det.get_preprocess)
    return engine


def _table_preprocess(make: Any) -> Any:
    """RapidOCR's detection preprocessing with its pixel normalisation looked up in a table.

    Why: RapidOCR normalises a page in float64 (its mean and deviation are float64 arrays),
    about 85 ms a letter page on one core while the other waits. A pixel has 256 values per
    channel, so each channel's results are computed once, by RapidOCR's own ``normalize``, and
    looked up: the same float32 input, in a single pass that writes the model's channel-first
    layout directly."""

    def preprocess(max_side: int) -> Any:
        step = make(max_side)
        levels = np.repeat(np.arange(256, dtype=np.uint8), 3).reshape(256, 1, 3)
        table = np.ascontiguousarray(step.normalize(levels).astype(np.float32)[:, 0, :].T)

        def run(img: np.ndarray) -> np.ndarray | None:
            resized = step.resize(img)
            if resized is None:
                return None
            batch = np.empty((1, 3, *resized.shape[:2]), dtype=np.float32)
            for channel in range(3):
                np.take(table[channel], resized[:, :, channel], out=batch[0, channel])
            return batch

        # The step's settings stay readable, as on RapidOCR's own preprocessing object.
        run.limit_side_len = step.limit_side_len  # type: ignore[attr-defined]
        run.limit_type = step.limit_type  # type: ignore[attr-defined]
        return run

    return preprocess


class SplitRecognizer:
    """RapidOCR's line recognizer over ``threads`` threads: line i goes to thread i mod n
    (neighbours in reading order have similar widths, so the shares cost about the same), and
    the results come back in the lines' order. onnxruntime sessions may run concurrently."""

    def __init__(self, recognizer: Any, threads: int) -> None:
        self._recognizer = recognizer
        self._threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="ocr-rec")

    def __call__(self, images: Any, return_word_box: bool = False) -> tuple[list[Any], float]:
        if isinstance(images, np.ndarray) or len(images) < 2:
            result: tuple[list[Any], float] = self._recognizer(images, return_word_box)
            return result
        n = min(self._threads, len(images))
        shares = [
            self._pool.submit(self._recognizer, images[i::n], return_word_box) for i in range(n)
        ]
        merged: list[Any] = [None] * len(images)
        elapsed = 0.0
        for i, share in enumerate(shares):
            lines, seconds = share.result()
            merged[i::n] = lines
            elapsed = max(elapsed, seconds)
        return merged, elapsed


def ocr_pdf_page(path: str, index: int, password: str | None = None) -> tuple[list[OcrLine], int]:
    """OCR of page ``index`` (0-based) of a PDF, rendered with pypdfium2 as displayed: its
    lines and their direction (:func:`ocr_page`)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path, password=password)
    try:
        page = doc[index]
        try:
            width, height = page.get_size()
            scale = render_scale(width, height)
            bitmap = page.render(scale=scale, rev_byteorder=True, draw_annots=False)
            image = bitmap.to_numpy()[:, :, :3].copy()
        finally:
            page.close()
    finally:
        doc.close()
    return ocr_page(image, scale)


def lines_text(lines: list[OcrLine], angle: int = 0) -> str:
    """OCR'd lines as plain text in reading order: top to bottom, left to right, as read along
    the lines' direction ``angle`` (a page scanned sideways: :func:`ocr_page`)."""

    def key(line: OcrLine) -> tuple[int, float]:
        x0, top, x1, bottom = line.bbox
        across, along = {90: (x0, -bottom), 180: (-bottom, -x1), 270: (-x1, top)}.get(
            angle, (top, x0)
        )
        return round(across / max(line.height, 1.0)), along

    return "\n".join(line.text for line in sorted(lines, key=key))


def render_scale(width_pt: float, height_pt: float) -> float:
    """Pixels per point for OCR: :data:`OCR_SCALE`; small pages (a 3-inch clipping) get up to
    twice that so their text is as many pixels tall; never past :data:`MAX_SIDE`."""
    longest = max(width_pt, height_pt, 1.0)
    wanted = max(OCR_SCALE, min(2 * OCR_SCALE, 1600 / longest))
    return max(0.5, min(wanted, MAX_SIDE / longest))


def ocr_image(image: np.ndarray, scale: float, *, min_score: float = 0.5) -> list[OcrLine]:
    """Lines of text in ``image`` (RGB, rendered at ``scale`` pixels per point).

    Each line's text has its English word boundaries restored; ``color`` and ``background``
    are sampled from the image so a writer can cover exactly the text with the page's own
    background.
    """
    rgb = np.ascontiguousarray(image[:, :, :3])
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])  # the recognizer was trained on OpenCV's BGR
    with _LOCK:  # one recognizer per process; onnxruntime sessions are not re-entrant here
        result, _ = _engine()(bgr)
    lines: list[OcrLine] = []
    for quad, text, score in result or []:
        if float(score) < min_score or not str(text).strip():
            continue
        pts = np.asarray(quad, dtype=float)
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        dx, dy = pts[1] - pts[0]
        height = float(np.linalg.norm(pts[3] - pts[0])) / scale
        angle = float(np.degrees(np.arctan2(-dy, dx)))
        color, background = sample_colors(rgb, (int(x0), int(y0), int(x1) + 1, int(y1) + 1))
        lines.append(
            OcrLine(
                text=restore_spaces(latin_punctuation(str(text).strip())),
                bbox=(float(x0) / scale, float(y0) / scale, float(x1) / scale, float(y1) / scale),
                score=float(score),
                height=max(height, 1.0),
                angle=angle,
                color=color,
                background=background,
            )
        )
    return lines


#: Mean recognition score under which a page's reading is doubted (read upside down).
DOUBTFUL_SCORE = 0.8


def ocr_page(image: np.ndarray, scale: float) -> tuple[list[OcrLine], int]:
    """The lines of a scanned page and the direction its text runs as displayed (degrees
    counter-clockwise: 0; 90 / 270 for a page scanned sideways, 180 upside down), boxes on
    the page.

    A sideways page shows as lines taller than wide. The recognizer then reads half of them
    upside down (it turns tall crops one fixed way), so the page is read again turned a
    quarter each way, and the reading with the most confident text wins. A page upside down
    reads as a few low-confidence lines of garbage: one with no line, or whose lines average
    under :data:`DOUBTFUL_SCORE`, is read again turned half a turn."""
    lines = ocr_image(image, scale)
    tries: tuple[tuple[int, int], ...]
    if _sideways(lines):
        tries = (_quarter_turn(image, scale, lines),)
    elif not lines or sum(line.score for line in lines) / len(lines) < DOUBTFUL_SCORE:
        tries = ((2, 180),)
    else:
        return lines, 0
    best, angle, weight = lines, 0, _weight(lines)
    height, width = image.shape[0] / scale, image.shape[1] / scale
    for turns, direction in tries:
        found = ocr_image(np.ascontiguousarray(np.rot90(image, turns)), scale)
        if (found_weight := _weight(found)) > weight:
            best = [_turned_back(line, turns, width, height) for line in found]
            angle, weight = direction, found_weight
    return best, angle


#: How many of a sideways page's longest lines are read both ways to choose its turn.
PROBE_LINES = 8


def _quarter_turn(image: np.ndarray, scale: float, lines: list[OcrLine]) -> tuple[int, int]:
    """Which quarter turn sets a sideways page upright: (np.rot90 turns, the text's direction),
    (1, 270) a quarter counter-clockwise or (3, 90) clockwise.

    The page's longest lines are cut out and read turned each way; the page is then read again
    turned the way they read best, once, where reading it both ways cost two passes of
    detection and recognition."""
    tall = sorted(
        (line for line in lines if _tall(line)),
        key=lambda line: line.bbox[3] - line.bbox[1],
        reverse=True,
    )[:PROBE_LINES]
    bgr = image[:, :, 2::-1]
    crops = []
    for line in tall:
        x0, top, x1, bottom = (round(v * scale) for v in line.bbox)
        crops.append(np.ascontiguousarray(bgr[max(top, 0) : bottom, max(x0, 0) : x1]))
    crops = [crop for crop in crops if crop.size]
    if not crops:
        return 1, 270
    turned = [np.ascontiguousarray(np.rot90(crop, k)) for k in (1, 3) for crop in crops]
    with _LOCK:
        read, _ = _engine().text_rec(turned)
    weights = [float(score) * len(str(text).strip()) for text, score in read]
    counter, clockwise = sum(weights[: len(crops)]), sum(weights[len(crops) :])
    return (1, 270) if counter >= clockwise else (3, 90)


def _tall(line: OcrLine) -> bool:
    x0, top, x1, bottom = line.bbox
    return bottom - top > 1.5 * (x1 - x0)


def _sideways(lines: list[OcrLine]) -> bool:
    """Most lines of some length are taller than wide."""
    long = [line for line in lines if len(line.text.strip()) >= 4]
    tall = [line for line in long if _tall(line)]
    return len(tall) >= 3 and len(tall) >= 0.6 * len(long)


def _weight(lines: list[OcrLine]) -> float:
    return sum(line.score * len(line.text.strip()) for line in lines)


def _turned_back(line: OcrLine, turns: int, width: float, height: float) -> OcrLine:
    """``line`` read on the page image turned ``turns`` quarters counter-clockwise, with its
    boxes on the page as displayed (``width`` x ``height`` points)."""

    def back(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        x0, top, x1, bottom = box
        if turns == 1:  # turned (x', y') = (y, W - x)
            return (width - bottom, x0, width - top, x1)
        if turns == 2:  # turned (x', y') = (W - x, H - y)
            return (width - x1, height - bottom, width - x0, height - top)
        return (top, height - x1, bottom, height - x0)  # turned (x', y') = (H - y, x)

    line.turned_band = back(line.band)
    line.bbox = back(line.bbox)
    return line


def sample_colors(
    rgb: np.ndarray, box: tuple[int, int, int, int], margin: int = 3
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(text colour, background colour) in 0..1 around pixel box ``box``.

    The background is the median of a thin ring just outside the box (what a patch must match);
    the text colour is the median of the box's darkest (most unlike the background) pixels.
    """
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])
    if x1 <= x0 or y1 <= y0:
        return (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    ox0, oy0 = max(0, x0 - margin), max(0, y0 - margin)
    ox1, oy1 = min(w, x1 + margin), min(h, y1 + margin)
    outer = rgb[oy0:oy1, ox0:ox1].reshape(-1, 3).astype(float)
    mask = np.ones((oy1 - oy0, ox1 - ox0), dtype=bool)
    mask[y0 - oy0 : y1 - oy0, x0 - ox0 : x1 - ox0] = False
    ring = outer[mask.reshape(-1)]
    if ring.size == 0:
        ring = outer
    background = np.median(ring, axis=0)
    inner = rgb[y0:y1, x0:x1].reshape(-1, 3).astype(float)
    distance = np.abs(inner - background).sum(axis=1)
    cut = np.quantile(distance, 0.9)
    ink = (
        inner[distance >= cut]
        if cut > 30
        else inner[distance.argsort()[-max(1, len(inner) // 20) :]]
    )
    color = np.median(ink, axis=0)
    return _unit(color), _unit(background)


def _unit(values: np.ndarray) -> tuple[float, float, float]:
    r, g, b = (round(float(v) / 255.0, 3) for v in values[:3])
    return (r, g, b)


# --- punctuation ------------------------------------------------------------------------

#: Chinese, Japanese and Korean script: a line with any of it keeps its full-width marks.
_CJK_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
#: Full-width forms (U+FF01-FF5E) and the ideographic comma and full stop, as ASCII.
_HALF_WIDTH = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {
    "\u3001": ",",
    "\u3002": ".",
}
_TO_HALF_WIDTH = str.maketrans(_HALF_WIDTH)


def latin_punctuation(text: str) -> str:
    """A line without Chinese, Japanese or Korean script with its full-width punctuation in
    ASCII. The bundled recognizer reads Chinese and English with one alphabet and often takes
    a typewriter's "." for "。" and "(" for "（" ("b。", "fork（702067-501)"): a list item's
    "b." was then no label, and a translator or a search index saw foreign marks. A
    full-width parenthesis carries its own spacing, so a space is put where it touched a
    word ("sync（unless" -> "sync (unless").

    >>> latin_punctuation("Items not included in AK-120-2。")
    'Items not included in AK-120-2.'
    """
    if _CJK_SCRIPT.search(text) or not any(ch in _HALF_WIDTH for ch in text):
        return text
    text = re.sub(r"(?<=\w)\uff08", " (", text)
    text = re.sub(r"\uff09(?=\w)", ") ", text)
    text = text.translate(_TO_HALF_WIDTH)
    return re.sub(r"(?<=\S) {2,}(?=\S)", " ", text)


# --- word boundaries --------------------------------------------------------------------

_LETTERS = re.compile(r"[A-Za-z]{5,}")
_PUNCT_SPACE = re.compile(r"(?<=[A-Za-z])([,;:!?])(?=[A-Za-z])|(?<=[a-z])(\.)(?=[A-Z][a-z])")
#: A split is accepted only when every word is at least this common in wordsegment's counts
#: (Google's web corpus): rare words are how a wrong split of another language shows.
_MIN_COUNT = 100_000
_SHORT_WORDS = frozenset(
    [
        "a",
        "i",
        "an",
        "as",
        "at",
        "be",
        "by",
        "do",
        "go",
        "he",
        "if",
        "in",
        "is",
        "it",
        "me",
        "my",
        "no",
        "of",
        "on",
        "or",
        "so",
        "to",
        "up",
        "us",
        "we",
    ]
)


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    import wordsegment

    wordsegment.load()
    return wordsegment


def restore_spaces(text: str) -> str:
    """Put back the spaces a recognizer dropped in English text; leave anything else alone.

    >>> restore_spaces("TheLinnSequencer is astate-of-the-art tool")
    'The Linn Sequencer is a state-of-the-art tool'
    """
    text = _PUNCT_SPACE.sub(lambda m: (m.group(1) or m.group(2)) + " ", text)
    if not _LETTERS.search(text):
        return text
    return _LETTERS.sub(lambda m: _split_run(m.group(0)), text)


@lru_cache(maxsize=4096)
def _split_run(run: str) -> str:
    ws = _segmenter()
    lower = run.lower()
    if ws.UNIGRAMS.get(lower, 0) >= _MIN_COUNT:
        return run  # already a word
    words = ws.segment(lower)
    if len(words) < 2 or "".join(words) != lower:
        return run
    for word in words:
        if len(word) <= 2 and word not in _SHORT_WORDS:
            return run  # "ambigue" is not "am big ue"
        needed = _MIN_COUNT * 10 if len(word) <= 5 else _MIN_COUNT
        if ws.UNIGRAMS.get(word, 0) < needed:
            return run
    out: list[str] = []
    pos = 0
    for word in words:
        out.append(run[pos : pos + len(word)])
        pos += len(word)
    return " ".join(out)
