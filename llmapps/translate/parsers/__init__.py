"""Parsers: a file in, a :class:`~llmapps.translate.document.Document` out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llmapps.translate.document import Document
from llmapps.translate.errors import UnsupportedFileError

if TYPE_CHECKING:
    from llmapps.translate.parsers.worker import ParseLimits

SUFFIXES = {".pdf": "pdf", ".md": "md", ".markdown": "md", ".txt": "txt", ".text": "txt"}


def detect_kind(path: Path) -> str:
    """The format of ``path`` from its first bytes, then its suffix."""
    with path.open("rb") as fh:
        head = fh.read(1024)
    if head.lstrip().startswith(b"%PDF"):
        return "pdf"
    kind = SUFFIXES.get(path.suffix.lower())
    if kind == "pdf":
        return "pdf"  # named .pdf but no header: the PDF parser reports it as corrupt
    if kind:
        return kind
    raise UnsupportedFileError(
        f"{path.name}: unsupported file type '{path.suffix or '(none)'}': "
        "give a PDF (.pdf), Markdown (.md) or plain text (.txt) file"
    )


def parse_document(
    path: Path,
    *,
    password: str | None = None,
    pages: str | None = None,
    ocr: str = "auto",
    layout_model: bool = True,
    limits: ParseLimits | None = None,
) -> Document:
    """Parse ``path`` (PDF, Markdown or text) into pages of blocks (``pages``: e.g. ``1-3``).

    PDFs: ``ocr`` is ``auto`` (pages without a text layer), ``always`` or ``never``; with
    ``limits`` the PDF is parsed in a child process under them (what jobs do), else here.
    """
    if not path.is_file():
        raise UnsupportedFileError(f"{path}: file not found: check the path")
    kind = detect_kind(path)
    if kind == "pdf":
        from llmapps.translate.parsers.pdf import OCR_MODES, ParseOptions, parse_pdf

        if ocr not in OCR_MODES:
            raise UnsupportedFileError(f"unknown OCR mode '{ocr}': use auto, always or never")
        if limits is not None:
            from llmapps.translate.parsers.worker import parse_pdf_isolated

            return parse_pdf_isolated(
                path,
                password=password,
                pages=pages,
                ocr=ocr,
                layout_model=layout_model,
                limits=limits,
            )
        options = ParseOptions(ocr=ocr, layout_model=layout_model)
        return parse_pdf(path, password=password, pages=pages, options=options)
    text = _read_text(path)
    if pages:
        from llmapps.translate.pages import parse_pages

        parse_pages(pages, 1)  # text formats are one page: reject ranges past it
    if kind == "md":
        from llmapps.translate.parsers.markdown import parse_markdown

        return parse_markdown(path, text)
    from llmapps.translate.parsers.text import parse_text

    return parse_text(path, text)


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise UnsupportedFileError(
            f"{path.name}: looks like a binary file, not text: give a PDF, Markdown or text file"
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnsupportedFileError(f"{path.name}: cannot decode the text: save it as UTF-8")
