"""The whole flow on generated PDFs with a deterministic fake MODEL (see translate_fakes).

What is asserted is the product's behaviour: layout kept (pages, sizes, images, vector
graphics), source text removed and translations inside their boxes, fonts embedded, cache,
resume after an interruption, glossary, context, formats, page ranges, scanned pages.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from pypdf import PdfReader

from llmapps.config import get_settings
from llmapps.store.db import get_db
from llmapps.translate.errors import TranslateError
from llmapps.translate.jobs import JobStore
from llmapps.translate.service import TranslateOptions, TranslateResult, translate_file
from tests.translate.layout_pdfs import corpus_file
from tests.translate.translate_fakes import EchoTranslator

ALL = ["pdf", "bilingual", "md", "txt"]


def run(path: Path, model: Any, **kw: Any) -> TranslateResult:
    kw.setdefault("formats", ALL)
    kw.setdefault("output_dir", str(path.parent / "out"))
    return translate_file(path, TranslateOptions(target="zh", **kw), model=model)


def _fonts(page: Any) -> list[dict[str, Any]]:
    fonts = []
    res = page["/Resources"]
    stack = [res]
    while stack:
        node = stack.pop().get_object()
        for font in (node.get("/Font") or {}).values():
            fonts.append(font.get_object())
        for xobj in (node.get("/XObject") or {}).values():
            xobj = xobj.get_object()
            if "/Resources" in xobj:
                stack.append(xobj["/Resources"])
    return fonts


def _embedded(font: dict[str, Any]) -> bool:
    desc = font.get("/FontDescriptor")
    if desc is None and "/DescendantFonts" in font:
        desc = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
    desc = desc.get_object() if desc is not None else {}
    return any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def test_layout_pdf_keeps_layout_and_replaces_text(rich_pdf: Path) -> None:
    before = hashlib.sha256(rich_pdf.read_bytes()).hexdigest()
    model = EchoTranslator()
    result = run(rich_pdf, model)
    doc = result.document
    out = result.outputs["pdf"]
    assert out.parent == rich_pdf.parent / "out"
    assert hashlib.sha256(rich_pdf.read_bytes()).hexdigest() == before  # input untouched
    # Every block is translated or deliberately kept.
    for block in doc.blocks:
        assert block.keep or (block.translation or "").startswith("译"), block
    assert result.progress.blocks_done == result.progress.blocks_total == len(doc.blocks)
    kept = {b.keep_reason for b in doc.blocks if b.keep}
    assert {"url", "numbers", "target-language"} <= kept
    with pdfplumber.open(rich_pdf) as src, pdfplumber.open(out) as dst:
        assert len(dst.pages) == len(src.pages) == 2
        for sp, dp, page in zip(src.pages, dst.pages, doc.pages, strict=True):
            assert (dp.width, dp.height) == (sp.width, sp.height)
            assert len(dp.images) == len(sp.images)
            assert len(dp.rects) >= len(sp.rects)  # table rules and drawn boxes survive
            boxes = [b for b in page.blocks if b.bbox]
            for ch in dp.chars:
                cx = (ch["x0"] + ch["x1"]) / 2
                cy = (ch["top"] + ch["bottom"]) / 2
                assert ch["x0"] >= 0 and ch["x1"] <= dp.width
                assert ch["top"] >= 0 and ch["bottom"] <= dp.height
                owner = [
                    b
                    for b in boxes
                    if b.bbox[0] - 2 <= cx <= b.bbox[2] + 2 and b.bbox[1] - 2 <= cy <= b.bbox[3] + 2
                ]
                if "Helvetica" in ch["fontname"]:
                    # Source glyphs remain only where the block was deliberately kept.
                    assert owner and any(b.keep for b in owner), ch
                else:
                    # A translation stays in its own box or grows into space no block uses.
                    assert len(owner) <= 1, ch
            text = dp.extract_text()
            for block in page.blocks:
                if not block.keep:
                    assert block.translation[:12].replace(" ", "") in text.replace(" ", "")
    reader = PdfReader(out)
    for page in reader.pages:
        fonts = _fonts(page)
        ours = [f for f in fonts if "WenQuanYi" in str(f.get("/BaseFont"))]
        assert ours and all(_embedded(f) for f in ours)
        desc = ours[0]["/FontDescriptor"].get_object()
        assert "/FontFile2" in desc  # TrueType outlines embedded


def test_bilingual_side_and_alternate(rich_pdf: Path) -> None:
    side = run(rich_pdf, EchoTranslator(), formats=["bilingual"]).outputs["bilingual"]
    reader = PdfReader(side)
    assert len(reader.pages) == 2
    width = float(reader.pages[0].mediabox.width)
    assert abs(width - 2 * 595.2756) < 0.01
    text = reader.pages[0].extract_text()
    assert "A Study of Translation" in text and "译A Study of Translation" in text
    alt = run(
        rich_pdf,
        EchoTranslator(),
        formats=["bilingual"],
        bilingual_layout="alternate",
        output_dir=str(rich_pdf.parent / "alt"),
    ).outputs["bilingual"]
    assert len(PdfReader(alt).pages) == 4


def test_cache_second_run_makes_no_model_call(rich_pdf: Path) -> None:
    first = EchoTranslator()
    r1 = run(rich_pdf, first)
    assert first.calls >= 1 and r1.progress.cache_hits == 0
    second = EchoTranslator()
    r2 = run(rich_pdf, second)
    assert second.calls == 0
    translatable = sum(1 for b in r2.document.blocks if not b.keep)
    assert r2.progress.cache_hits == translatable and r2.progress.model_calls == 0
    # Another target language, or a style, is another cache key.
    third = EchoTranslator()
    run(rich_pdf, third, style="formal")
    assert third.calls >= 1


def test_interrupted_run_resumes(simple_pdf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMAPPS_TRANSLATE__BATCH_ITEMS", "2")
    monkeypatch.setenv("LLMAPPS_TRANSLATE__WORKERS", "1")
    full = EchoTranslator()
    reference = translate_file(
        simple_pdf, TranslateOptions(target="zh", formats=["md"], style="x"), model=full
    )
    total_calls = full.calls
    assert total_calls >= 4  # 9 blocks in batches of 2
    broken = EchoTranslator(fail_after=2)
    with pytest.raises(TranslateError, match="run it again to resume") as info:
        translate_file(simple_pdf, TranslateOptions(target="zh", formats=["md"]), model=broken)
    assert "\n" not in str(info.value)
    jobs = JobStore(get_db(get_settings()))
    unfinished = jobs.unfinished()
    assert len(unfinished) == 1 and unfinished[0].status == "interrupted"
    done_before = unfinished[0].progress["blocks_done"]
    assert 0 < done_before < reference.progress.blocks_total
    resumed = EchoTranslator()
    result = translate_file(
        simple_pdf, TranslateOptions(target="zh", formats=["md"]), model=resumed
    )
    assert resumed.calls == total_calls - 2  # only the batches that had not finished
    assert result.job_id == unfinished[0].id
    job = jobs.get(result.job_id)
    assert job is not None and job.status == "done" and "md" in job.outputs
    assert all(b.keep or b.translation for b in result.document.blocks)


def test_glossary_applied_and_checked(rich_pdf: Path, tmp_path: Path) -> None:
    glossary = tmp_path / "g.csv"
    glossary.write_text(
        "source,target\nlanguage models,语言模型\nMachine translation,机器翻译\nTransformer,\n",
        encoding="utf-8",
    )
    obeying = EchoTranslator()
    result = run(rich_pdf, obeying, glossary=str(glossary), formats=["md"])
    md = result.outputs["md"].read_text(encoding="utf-8")
    assert "语言模型" in md and "机器翻译" in md
    assert result.violations == []
    assert any("language models -> 语言模型" in p for p in obeying.prompts)
    # A model that ignores the glossary: violations are reported and the terms enforced.
    ignoring = EchoTranslator(obey_glossary=False, prefix="T:")
    result = run(
        rich_pdf,
        ignoring,
        glossary=str(glossary),
        formats=["md"],
        output_dir=str(tmp_path / "o2"),
        style="plain",
    )  # another cache key
    assert result.violations and result.progress.glossary_violations == len(result.violations)
    assert "should be '语言模型'" in " ".join(result.violations)
    md = result.outputs["md"].read_text(encoding="utf-8")
    assert "语言模型" in md and "language models" not in md


def test_context_title_and_previous_paragraph(
    rich_pdf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMAPPS_TRANSLATE__BATCH_ITEMS", "1")
    model = EchoTranslator()
    run(rich_pdf, model, formats=["md"])
    assert all("Document title: A Study of Translation" in p for p in model.prompts)
    method = next(p for p in model.prompts if "\nMethod" in p.split("---", 1)[1])
    assert "Previous paragraph (context only, do not translate it): Machine translation" in method


def test_batch_fallback_and_think_stripping(
    simple_pdf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMAPPS_TRANSLATE__WORKERS", "1")
    model = EchoTranslator(break_numbering=True, think=True)
    result = run(simple_pdf, model, formats=["txt"])
    n = sum(1 for b in result.document.blocks if not b.keep)
    assert result.progress.fallback_calls >= 1
    assert model.calls == result.progress.fallback_calls + n  # failed batches + one per block
    text = result.outputs["txt"].read_text(encoding="utf-8")
    assert "<think>" not in text and "Let me think" not in text
    assert all((b.translation or "").startswith("译") for b in result.document.blocks if not b.keep)


def test_page_range_and_scanned_report(rich_pdf: Path, scanned_pdf: Path) -> None:
    result = run(rich_pdf, EchoTranslator(), pages="2", formats=["pdf"])
    assert len(PdfReader(result.outputs["pdf"]).pages) == 1
    assert result.progress.pages == 1
    scan = run(scanned_pdf, EchoTranslator(), formats=["pdf", "md"], ocr="never")
    assert scan.scanned_pages == [2] and scan.progress.scanned_pages == [2]
    assert any("scanned" in n and "2" in n for n in scan.notes)
    assert "page 2: scanned" in scan.outputs["md"].read_text(encoding="utf-8")
    assert len(PdfReader(scan.outputs["pdf"]).pages) == 2


def test_japanese_kanji_heading_is_translated_into_chinese(tmp_path: Path) -> None:
    """A heading of kanji alone ("固有表現抽出") in a Japanese document is Japanese, not text
    already in Chinese: it is translated like the rest."""
    path = tmp_path / "ja.md"
    path.write_text("# 固有表現抽出\n\n研究の背景について説明します。\n", encoding="utf-8")
    for source in ("ja", None):
        result = run(path, EchoTranslator(), formats=["md"], source=source)
        md = result.outputs["md"].read_text(encoding="utf-8")
        assert md.startswith("# 译固有表現抽出\n") and "译研究の背景" in md


def test_markdown_in_markdown_out(sample_md: Path) -> None:
    result = run(sample_md, EchoTranslator(), formats=["md", "pdf"])
    assert "md" in result.outputs and "pdf" not in result.outputs
    assert any("needs a PDF input" in n for n in result.notes)
    md = result.outputs["md"].read_text(encoding="utf-8")
    assert md.startswith("# 译User Guide\n")
    assert "## 译Install" in md
    assert "- 译Download the package.\n- 译Run the installer." in md
    assert "| 译Option | 译Meaning |" in md and "| 42 | 3.14 |" in md
    assert '```python\nprint("do not translate")\n```' in md
    assert "\n| --- | --- |\n" in md


def test_workers_and_rate_limit(simple_pdf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("LLMAPPS_TRANSLATE__BATCH_ITEMS", "1")
    model = EchoTranslator()
    started = time.monotonic()
    result = run(simple_pdf, model, workers=4, requests_per_second=20, formats=["txt"])
    elapsed = time.monotonic() - started
    assert model.calls == result.progress.model_calls >= 6
    assert elapsed >= (model.calls - 1) / 20 * 0.9  # never faster than the rps limit


def test_errors_are_one_line(tmp_path: Path, rich_pdf: Path) -> None:
    with pytest.raises(TranslateError, match="unknown output format"):
        run(rich_pdf, EchoTranslator(), formats=["docx"])
    with pytest.raises(TranslateError, match="target language"):
        translate_file(rich_pdf, TranslateOptions(target=""), model=EchoTranslator())


def test_text_inside_form_xobject_is_replaced(tmp_path: Path) -> None:
    from tests.translate.translate_pdfs import make_form_pdf

    pdf = make_form_pdf(tmp_path / "form.pdf")
    result = run(pdf, EchoTranslator(), formats=["pdf"])
    with pdfplumber.open(result.outputs["pdf"]) as out:
        page = out.pages[0]
        helvetica = [c for c in page.chars if "Helvetica" in c["fontname"]]
        assert helvetica == []  # both the page's and the form's source text are gone
        text = page.extract_text().replace(" ", "")
    assert "译Quarterlyreport" in text and "译Salesgrew" in text


def _starts_inside(c: dict[str, Any], bbox: tuple[float, float, float, float]) -> bool:
    x0, top, x1, bottom = bbox
    return x0 - 2 <= c["x0"] <= x1 and top - 2 <= c["top"] <= bottom


def test_long_translation_is_shrunk_or_reported_never_drawn_over_others(rich_pdf: Path) -> None:
    wordy = EchoTranslator(prefix="这是一段比原文长得多的译文，" * 6)
    result = run(rich_pdf, wordy, formats=["pdf"])
    unfit = [b for b in result.document.blocks if b.meta.get("unfit")]
    assert unfit  # far too long for some boxes: reported, not squeezed or spilled
    assert result.progress.unfit_units == len(unfit)
    assert result.progress.unfit_pages == sorted({b.page for b in unfit})
    assert any("did not fit" in note for note in result.notes)
    with pdfplumber.open(result.outputs["pdf"]) as out:
        for dp, page in zip(out.pages, result.document.pages, strict=True):
            ours = [c for c in dp.chars if "WenQuanYi" in c["fontname"]]
            source = [c for c in dp.chars if "Helvetica" in c["fontname"]]
            assert all(c["bottom"] <= dp.height and c["x1"] <= dp.width for c in ours)
            for block in page.blocks:
                if block.keep or block.bbox is None:
                    continue
                x0, top, x1, bottom = block.bbox
                if block.meta.get("unfit"):
                    # The source text stays in place, untouched.
                    assert any(_starts_inside(c, block.bbox) for c in source), block.text
                    continue
                inside = [c for c in ours if _starts_inside(c, block.bbox)]
                assert inside, block.text
                # Shrunk: never larger than the source text.
                assert max(c["size"] for c in inside) <= block.size + 0.01
                for c in ours:
                    if c in inside:
                        continue
                    # No other translation's glyph lies on this block's box.
                    ox = min(c["x1"], x1) - max(c["x0"], x0)
                    oy = min(c["bottom"], bottom) - max(c["top"], top)
                    assert ox <= 1 or oy <= 1, (block.text, c["text"])


def test_retries_with_backoff_recover_from_flaky_calls(sample_md: Path) -> None:
    model = EchoTranslator(fail_first=2)
    result = run(sample_md, model, formats=["md"], workers=1)
    assert result.progress.model_calls == 2  # two batches (10 blocks, 8 per batch)
    assert model.calls == 4  # plus two failed attempts, retried
    assert all(b.keep or b.translation for b in result.document.blocks)


def test_batch_size_adapts_to_what_the_model_can_keep_numbered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.translate.translate_pdfs import make_simple_pdf

    monkeypatch.setenv("LLMAPPS_TRANSLATE__WORKERS", "1")
    pdf = make_simple_pdf(tmp_path / "six.pdf", pages=6, paragraphs=2)  # 18 blocks: 8, 8, 2
    model = EchoTranslator(max_numbered=4)
    result = run(pdf, model, formats=["txt"])
    # Batch 1 (8) fails: 1 call + 8 single calls; then chunks of 4, 4 and 2 parse.
    assert result.progress.fallback_calls == 1
    assert model.calls == 1 + 8 + 2 + 1
    assert all((b.translation or "").startswith("译") for b in result.document.blocks)


def test_a_list_items_bullet_never_goes_to_the_model_and_stays_in_front(tmp_path: Path) -> None:
    """A model may drop a list item's "•" or turn it into something else, and the item lost
    its bullet on the page. The bullet is split off before the text is sent (it is no word)
    and put back in front of the translation."""
    model = EchoTranslator()
    options = TranslateOptions(
        target="zh", formats=["md"], output_dir=str(tmp_path / "out"), pages="1"
    )
    result = translate_file(corpus_file("pdfminer.six/i1040nr.pdf"), options, model=model)
    items = [b for b in result.document.blocks if b.text.startswith("• ")]
    assert len(items) >= 5
    sent = "\n".join(model.prompts)
    for item in items:
        assert item.translation == "• 译" + item.text[2:], item.text
        assert item.text[2:] in sent and item.text not in sent
