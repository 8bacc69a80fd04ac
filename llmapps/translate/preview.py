"""Page previews: a PDF page rendered to PNG, so a user can look at a translation instead of
reading it.

One function serves the CLI's ``--preview DIR`` and the Translator tab's side-by-side view.
"""

from __future__ import annotations

import io
from pathlib import Path

#: Previews are for the eye, not for print: 110 dpi keeps an A4 page near 900 px tall.
PREVIEW_DPI = 110


def page_count(pdf: Path, password: str | None = None) -> int:
    """Number of pages in ``pdf``."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf), password=password)
    try:
        return len(doc)
    finally:
        doc.close()


def render_page_png(
    pdf: Path, page_index: int, dpi: int = PREVIEW_DPI, password: str | None = None
) -> bytes:
    """PNG bytes of page ``page_index`` (0-based) of ``pdf``, rendered with its /Rotate applied."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf), password=password)
    try:
        if not 0 <= page_index < len(doc):
            raise IndexError(f"page {page_index + 1} is outside 1-{len(doc)}")
        page = doc[page_index]
        try:
            image = page.render(scale=dpi / 72).to_pil()
        finally:
            page.close()
    finally:
        doc.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def write_previews(
    original: Path, translated: Path, out_dir: Path, pages: list[int] | None = None
) -> list[Path]:
    """Write ``NNN.original.png`` and ``NNN.translated.png`` for each page (1-based names).

    ``pages`` are 0-based indices of the translated file; the original's page of the same
    index is paired with it. Returns the written paths.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    count = page_count(translated)
    written: list[Path] = []
    for index in pages if pages is not None else range(count):
        for label, source in (("original", original), ("translated", translated)):
            target = out_dir / f"{index + 1:03d}.{label}.png"
            target.write_bytes(render_page_png(source, index))
            written.append(target)
    return written
