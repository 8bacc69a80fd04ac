"""End to end on the real embedded model: a tiny generated PDF in, a translated PDF out."""

from __future__ import annotations

from pathlib import Path

import pdfplumber
import pytest
from pypdf import PdfReader

from llmapps.translate.service import TranslateOptions, translate_file
from tests.translate.translate_pdfs import make_simple_pdf


@pytest.mark.model
def test_pdf_with_embedded_model(tmp_path: Path) -> None:
    pdf = make_simple_pdf(tmp_path / "tiny.pdf", pages=1, paragraphs=1)
    result = translate_file(
        pdf, TranslateOptions(target="zh", formats=["pdf", "md"], max_tokens=48)
    )
    progress = result.progress
    assert progress.stage == "done" and progress.model_calls >= 1 and progress.tokens > 0
    assert all(b.keep or b.translation for b in result.document.blocks)
    out = result.outputs["pdf"]
    assert len(PdfReader(out).pages) == 1
    with pdfplumber.open(out) as doc:
        page = doc.pages[0]
        assert page.chars  # the model's text was drawn
        assert all(c["x0"] >= 0 and c["x1"] <= page.width for c in page.chars)
        assert all(c["top"] >= 0 and c["bottom"] <= page.height for c in page.chars)
    again = translate_file(pdf, TranslateOptions(target="zh", formats=["pdf", "md"], max_tokens=48))
    assert again.progress.model_calls == 0 and again.progress.cache_hits == progress.blocks_total
