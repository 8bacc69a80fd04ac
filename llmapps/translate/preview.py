"""Page previews: PDF pages rendered to PNG, so a user looks at a translation, not at a report.

One module serves the CLI's ``--preview DIR`` and the Translator tab's side-by-side view. A
translated PDF made with ``--pages`` holds only the selected pages, so its page ``i`` is the
original's page ``original_pages[i]``: the caller passes that list and the pairs match.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

#: Previews are for the eye, not for print: 110 dpi keeps an A4 page near 900 px tall.
PREVIEW_DPI = 110
#: The largest side of a preview, in pixels (a poster page would otherwise be huge).
MAX_PIXELS = 2400


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
            width, height = page.get_size()
            scale = min(dpi / 72, MAX_PIXELS / max(width, height, 1.0))
            image = page.render(scale=scale).to_pil()
        finally:
            page.close()
    finally:
        doc.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def write_previews(
    original: Path,
    translated: Path,
    out_dir: Path,
    original_pages: Sequence[int] | None = None,
    password: str | None = None,
    dpi: int = PREVIEW_DPI,
) -> list[Path]:
    """Write ``NNN.original.png`` and ``NNN.translated.png`` for each translated page.

    ``original_pages``: the original's 1-based page numbers of the translated file's pages, in
    order (``Document.pages``' numbers); ``None`` means the two files have the same pages. Files are
    named by the original's page number, so ``--pages 3,7`` gives ``003.*`` and ``007.*``.
    ``password`` opens an encrypted original. Returns the written paths.
    """
    count = page_count(translated)
    numbers = list(original_pages) if original_pages is not None else list(range(1, count + 1))
    if len(numbers) != count:
        raise ValueError(
            f"{translated.name} has {count} page(s) but {len(numbers)} page number(s) were given"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for index, number in enumerate(numbers):
        for label, source, at, secret in (
            ("original", original, number - 1, password),
            ("translated", translated, index, None),
        ):
            target = out_dir / f"{number:03d}.{label}.png"
            target.write_bytes(render_page_png(source, at, dpi, secret))
            written.append(target)
    return written
