"""The font translations are drawn with: one TrueType font with CJK and Latin glyphs.

Why WenQuanYi Micro Hei from the ``paperang-p2-fonts-cjk`` wheel: it is a TrueType (glyf)
collection that reportlab can subset and embed as ``FontFile2`` (reportlab cannot embed the
CFF outlines of Noto/Source Han ``.otf`` files), it covers Simplified and Traditional Chinese
plus Latin, Greek and Cyrillic in one 5 MB file, and it installs from PyPI with no system step.
``translate.font_path`` in the config points at another TTF/TTC when a user prefers one.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from llmapps.translate.errors import TranslateError

FONT_NAME = "LlmappsCJK"
_SYSTEM_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
_lock = threading.Lock()


def cjk_font_path(override: str | None = None) -> Path:
    """The font file to embed: the configured one, the packaged one, else a system one."""
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise TranslateError(f"font file {path} not found: fix translate.font_path")
        return path
    try:
        import paperang_p2_fonts_cjk

        packaged = Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc"
        if packaged.is_file():
            return packaged
    except ImportError:
        pass
    for candidate in _SYSTEM_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise TranslateError(
        "no CJK font found: run 'pip install paperang-p2-fonts-cjk' or set translate.font_path"
    )


@lru_cache(maxsize=4)
def register_font(override: str | None = None) -> str:
    """Register the font with reportlab once; return its name for ``canvas.setFont``."""
    path = cjk_font_path(override)
    name = FONT_NAME if not override else f"{FONT_NAME}-{abs(hash(override)) % 10_000}"
    with _lock:
        if name not in pdfmetrics.getRegisteredFontNames():
            kwargs = {"subfontIndex": 0} if path.suffix.lower() == ".ttc" else {}
            pdfmetrics.registerFont(TTFont(name, str(path), **kwargs))
    return name


def text_width(text: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, font, size))
