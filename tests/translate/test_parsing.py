"""Parsing: PDFs (columns, headings, tables, kept content, scanned, encrypted, corrupt),
Markdown, text, page ranges, language detection, paragraph rebuilding."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest

from llmapps.translate.document import HEADING, LIST_ITEM, TABLE_CELL
from llmapps.translate.errors import (
    CorruptFileError,
    EncryptedPdfError,
    TranslateError,
    UnsupportedFileError,
)
from llmapps.translate.language import detect_language, in_target_script
from llmapps.translate.pages import parse_pages
from llmapps.translate.paragraphs import join_lines, keep_reason, mark_keep
from llmapps.translate.parsers import parse_document
from llmapps.translate.parsers.units import logical_order
from tests.translate.layout_pdfs import corpus_file


def test_rich_pdf_blocks(rich_pdf: Path) -> None:
    doc = parse_document(rich_pdf)
    mark_keep(doc.blocks, "zh")
    assert doc.page_count == 2 and [p.number for p in doc.pages] == [1, 2]
    assert doc.title == "A Study of Translation"
    assert doc.pages[0].image_count == 1
    p1 = doc.pages[0].blocks
    texts = [b.text for b in p1]
    headings = [b.text for b in doc.blocks if b.kind == HEADING]
    assert "A Study of Translation" in headings and "Method" in headings
    # Two columns become two paragraphs, left before right, lines joined into one block.
    left = next(i for i, t in enumerate(texts) if t.startswith("The left column"))
    right = next(i for i, t in enumerate(texts) if t.startswith("The right column"))
    assert left < right
    assert texts[left].endswith("original author.")
    assert "\n" not in texts[left]
    # The footnote comes after both columns; the URL is kept as is.
    footnote = next(i for i, t in enumerate(texts) if "footnote" in t)
    assert footnote > right
    url = next(b for b in p1 if b.text == "https://example.org/data")
    assert url.keep and url.keep_reason == "url"
    # The table is split cell by cell with its position; numbers are kept.
    cells = [b for b in doc.pages[1].blocks if b.kind == TABLE_CELL]
    assert [c.text for c in cells] == [
        "Model",
        "Score",
        "Small model",
        "71.5",
        "Large model",
        "88.2",
    ]
    assert {(c.meta["row"], c.meta["col"]) for c in cells} == {
        (r, c) for r in range(3) for c in range(2)
    }
    assert [c.keep_reason for c in cells if c.keep] == ["numbers", "numbers"]
    # Chinese text is already in the target language: deliberately kept.
    cjk = next(b for b in doc.pages[1].blocks if "中文" in b.text)
    assert cjk.keep and cjk.keep_reason == "target-language"
    for block in doc.blocks:
        x0, top, x1, bottom = block.bbox or (0, 0, 0, 0)
        assert 0 <= x0 < x1 <= doc.pages[0].width and 0 <= top < bottom <= doc.pages[0].height


def test_page_range_parses_only_selected_pages(rich_pdf: Path) -> None:
    doc = parse_document(rich_pdf, pages="2")
    assert [p.number for p in doc.pages] == [2] and doc.page_count == 2
    with pytest.raises(TranslateError, match="past the end"):
        parse_document(rich_pdf, pages="5-")


def test_parse_pages() -> None:
    assert parse_pages("1-3,7,10-", 12) == [1, 2, 3, 7, 10, 11, 12]
    assert parse_pages(None, 3) == [1, 2, 3]
    assert parse_pages("-2", 5) == [1, 2]
    assert parse_pages("2-9", 4) == [2, 3, 4]
    for bad in ("x", "3-1", "0"):
        with pytest.raises(TranslateError):
            parse_pages(bad, 5)


def test_scanned_page_detected(scanned_pdf: Path) -> None:
    doc = parse_document(scanned_pdf, ocr="never")
    assert doc.scanned_pages == [2]
    assert doc.pages[0].blocks and not doc.pages[1].blocks
    # With OCR (the default, auto) the image-only page is read instead of skipped.
    doc = parse_document(scanned_pdf)
    assert doc.scanned_pages == [] and doc.pages[1].ocr and not doc.pages[0].ocr


def test_encrypted_pdf(simple_pdf: Path, tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=str(simple_pdf))
    writer.encrypt("s3cret")
    locked = tmp_path / "locked.pdf"
    writer.write(locked)
    with pytest.raises(EncryptedPdfError, match="--password"):
        parse_document(locked)
    with pytest.raises(EncryptedPdfError, match="wrong password"):
        parse_document(locked, password="nope")
    doc = parse_document(locked, password="s3cret")
    assert len(doc.pages) == 3 and doc.blocks


def test_aes256_pdf_that_pdfminer_opens_without_its_password() -> None:
    """pypdf's r6-user-password.pdf (AES-256): pdfminer reads its text with an empty password,
    but pdfium refuses to render it without the user password. That is an encrypted file to
    ask the password for, not "page 1 cannot be read"."""
    locked = corpus_file("pypdf/r6-user-password.pdf")
    with pytest.raises(EncryptedPdfError, match="give its password with --password"):
        parse_document(locked)
    doc = parse_document(locked, password="asdfzxcv")
    assert "password: asdfzxcv" in " ".join(b.text for b in doc.blocks)


def test_corrupt_and_unsupported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is not really a pdf")
    with pytest.raises(CorruptFileError) as info:
        parse_document(broken)
    assert "\n" not in str(info.value) and "broken.pdf" in str(info.value)
    other = tmp_path / "slides.pptx"
    other.write_bytes(b"PK\x03\x04 zip data")
    with pytest.raises(UnsupportedFileError, match="unsupported file type"):
        parse_document(other)
    with pytest.raises(UnsupportedFileError, match="not found"):
        parse_document(tmp_path / "missing.pdf")


def test_markdown_structure(sample_md: Path) -> None:
    doc = parse_document(sample_md)
    mark_keep(doc.blocks, "zh")
    kinds = [(b.kind, b.text) for b in doc.blocks]
    assert kinds[0] == (HEADING, "User Guide") and doc.title == "User Guide"
    assert (LIST_ITEM, "Download the package.") in kinds
    cells = [b for b in doc.blocks if b.kind == TABLE_CELL]
    assert [c.text for c in cells] == [
        "Option",
        "Meaning",
        "workers",
        "parallel calls",
        "42",
        "3.14",
    ]
    code = next(b for b in doc.blocks if b.text.startswith("```"))
    assert code.keep and 'print("do not translate")' in code.text


def test_text_paragraphs(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("First line of a para-\ngraph that wraps.\n\nSecond paragraph.\n")
    doc = parse_document(path)
    assert [b.text for b in doc.blocks] == [
        "First line of a paragraph that wraps.",
        "Second paragraph.",
    ]


def test_join_lines_and_keep_rules() -> None:
    assert join_lines(["trans-", "lation is", "fun"]) == "translation is fun"
    assert join_lines(["这是", "中文"]) == "这是中文"
    assert keep_reason("https://a.b/c") == "url"
    # A web address printed without its scheme (pypdf's issue-604.pdf: "NCCN.org").
    assert [keep_reason(t) for t in ("NCCN.org", "docs.python.org/3/", "www.irs.gov")] == [
        "url"
    ] * 3
    assert not [t for t in ("e.g.", "U.S.", "Fig. 1.org chart", "etc.") if keep_reason(t) == "url"]
    assert keep_reason("Version 2.2020") == ""
    # A part's size in a table (pypdf's AutoCad_Diagram.pdf), not a word; "Version2" is one.
    assert [keep_reason(t) for t in ("M20x1.5", "6.00x6", "Rdo2")] == ["code"] * 3
    assert keep_reason("Version2") == ""
    assert keep_reason("12.5 %") == "numbers"
    assert keep_reason("E = mc^2 + x/y") == "formula"
    assert keep_reason("x = 1", font="Courier") in ("code", "formula")
    assert keep_reason("A normal sentence with words.") == ""
    assert keep_reason("这是中文句子。", target="zh") == "target-language"
    # A lone letter is an item's label, never a word to translate ("a" is not "一个").
    assert [keep_reason(t) for t in ("b", "c.", "d)", "(e)", "9a")] == ["label"] * 5
    assert keep_reason("a b") == "" and keep_reason("Ok") == ""


def test_a_forms_sub_line_letters_stay_as_printed() -> None:
    """f1040nr.pdf (pdfminer.six's samples) sets the letters of its sub-lines ("b", "c")
    apart from their labels: they were sent to the model, and did not fit their 5 pt boxes."""
    doc = parse_document(corpus_file("pdfminer.six/f1040nr.pdf"), pages="2")
    mark_keep(doc.blocks, "zh")
    letters = [b for b in doc.blocks if len(b.text.strip()) == 1 and b.text.strip().isalpha()]
    assert len(letters) >= 5
    assert all(b.keep and b.keep_reason == "label" for b in letters)


def test_language_detection() -> None:
    assert detect_language("The quick brown fox jumps.") == "en"
    assert detect_language("机器翻译把一种语言变成另一种语言。") == "zh"
    assert detect_language("これは日本語の文です。") == "ja"
    assert detect_language("Привет, как дела?") == "ru"
    assert in_target_script("中文文本", "zh") and not in_target_script("English", "zh")
    # Japanese is not "already Chinese" because it is written with kanji (a slide's title).
    assert not in_target_script("研究の背景", "zh")


def test_right_to_left_lines_read_in_reading_order() -> None:
    """pypdf's multilang.pdf prints "Hello World" in six languages. Lines are built from glyph
    positions, so Arabic came out reversed ("ملاعلاب ابحرم") and went to the model so."""
    doc = parse_document(corpus_file("pypdf/multilang.pdf"))
    texts = [b.text for b in doc.blocks]
    assert "مرحبا بالعالم" in texts, texts
    assert "Привет, мир" in texts and "Hello World" in texts


def test_logical_order_keeps_numbers_and_latin_inside_arabic() -> None:
    assert logical_order("2020 ملاعلاب ابحرم") == "مرحبا بالعالم 2020"
    assert logical_order("(PDF) ملاعلاب ابحرم 12.5") == "12.5 مرحبا بالعالم (PDF)"
    assert logical_order("םלוע םולש") == "שלום עולם"
    assert logical_order("Hello (World) 2020") == "Hello (World) 2020"
