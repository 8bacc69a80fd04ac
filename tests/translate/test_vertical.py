"""Vertical CJK text (columns top to bottom, right to left) is translated and set in columns.

Real corpus pages: kampo.pdf (a Japanese gazette: two tiers of columns, list items with hanging
labels, paragraphs over several columns; its running characters in a horizontal font placed
glyph by glyph, its punctuation in an Identity-V font) and jo.pdf (a poem: one column per line,
each column one Identity-V ``TJ``). Geometry is asserted on the written PDF read back with
pdfplumber, as a reader sees it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from pypdf import PdfReader, PdfWriter

from bench.tools.pseudo_translator import GLYPHS
from llmapps.translate.document import Block, Document
from llmapps.translate.fonts import register_font
from llmapps.translate.parsers import parse_document
from llmapps.translate.writers.content import PageContent
from llmapps.translate.writers.layout import NO_END, NO_START, vertical_text, wrap
from llmapps.translate.writers.pdf import translated_pdf
from tests.translate.layout_checks import (
    OUR_FONT,
    colliding_chars,
    corpus_pdf,
    off_page,
    pseudo_translate,
)

KAMPO = "pdfminer.six/kampo.pdf"
JO = "pdfminer.six/jo.pdf"


def _vertical(doc: Document) -> list[Block]:
    return [b for b in doc.blocks if b.meta.get("vertical")]


def _same_length_cjk(doc: Document) -> None:
    """A pseudo translation as long as the source, keeping its punctuation (brackets, commas,
    stops), so fitting, line breaking and vertical forms are exercised at full length."""
    pseudo_translate(doc)
    for block in _vertical(doc):
        if block.translation:
            block.translation = "".join(
                ch if ch in "、。「」（）『』" else GLYPHS[i % len(GLYPHS)]
                for i, ch in enumerate(block.text)
            )


def _latin(doc: Document) -> None:
    """An English-like translation: a word of five letters per two source characters."""
    pseudo_translate(doc, "en")
    for block in _vertical(doc):
        if block.translation:
            words = ["alpha", "bravo", "delta", "gamma", "kappa"]
            block.translation = " ".join(words[i % 5] for i in range(max(1, len(block.text) // 2)))


def _inside(c: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    cx, cy = (c["x0"] + c["x1"]) / 2, (c["top"] + c["bottom"]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def test_columns_of_a_paragraph_are_one_unit_and_headings_stay_apart() -> None:
    doc = parse_document(corpus_pdf(KAMPO))
    units = _vertical(doc)
    texts = [b.text for b in units]
    assert len(units) > 40 and not any(b.keep for b in units)
    # The enacting paragraph runs over six columns, joined right to left.
    enacting = next(b for b in units if b.text.startswith("内閣は、道路交通法の一部を改正する"))
    assert enacting.meta["lines"] == 6 and "並びに道路交通法" in enacting.text
    assert enacting.text.endswith("この政令を制定する。")
    # A list item: its label, set apart, and its continuation column under the hanging indent.
    item = next(b for b in units if b.text.startswith("一の五"))
    assert item.text.startswith("一の五\u3000医療機関が")
    assert item.text.endswith("運搬するために使用する自動車")
    # Headings and the article's number are units of their own, not joined to the body.
    assert "道路交通法施行令の一部を改正する政令" in texts
    assert "政令第百四十九号" in texts
    # Units run down the page: the writer draws along that direction.
    assert {b.rotation for b in units} == {270}
    # Reading order: the upper tier first, right to left (the Markdown output and the
    # model's batches follow it).
    assert texts[:3] == ["政令第百四十九号", "道路交通法施行令の一部を改正する政令", enacting.text]
    poem = parse_document(corpus_pdf(JO))
    lines = [b.text for b in _vertical(poem)]
    # A poem's lines start at one height: each stays a unit of its own.
    assert "わたくしといふ現象は" in lines and "假定された有機交流電燈の" in lines
    assert "大正十三年一月廿日" in lines and "宮澤賢治" in lines


def test_vertical_runs_cover_their_columns() -> None:
    """In vertical writing mode (Identity-V) glyphs advance down the page: a run's box is its
    column, one em wide, as pdfplumber places the glyphs."""
    source = corpus_pdf(JO)
    reader = PdfReader(source)
    writer = PdfWriter()
    writer.add_page(reader.pages[0])
    runs = [r for r in PageContent(writer.pages[0], writer).scan().runs if not r.blank]
    assert runs and all(r.vertical for r in runs)
    with pdfplumber.open(source) as pdf:
        chars = pdf.pages[0].chars
    for run in runs:
        column = [
            c
            for c in chars
            if abs((c["x0"] + c["x1"]) / 2 - run.x) < 0.3
            and run.box[1] - 2 <= c["top"] < run.box[3]
        ]
        assert column, run
        assert abs(run.box[0] - min(c["x0"] for c in column)) < 0.3
        assert abs(run.box[2] - max(c["x1"] for c in column)) < 0.3
        assert abs(run.box[1] - min(c["top"] for c in column)) < 2.0
        assert abs(run.box[3] - max(c["bottom"] for c in column)) < 2.0


@pytest.mark.parametrize("name", [KAMPO, JO])
@pytest.mark.parametrize("fill", ["pseudo", "same-length"])
def test_vertical_text_is_translated_in_columns(name: str, fill: str, tmp_path: Path) -> None:
    source = corpus_pdf(name)
    doc = parse_document(source)
    if fill == "pseudo":
        pseudo_translate(doc)
    else:
        _same_length_cjk(doc)
    out = tmp_path / "out.pdf"
    out.write_bytes(translated_pdf(doc))
    units = _vertical(doc)
    placed = [b for b in units if b.translation and not b.keep and not b.meta.get("unfit")]
    total = sum(len(b.text) for b in units)
    assert sum(len(b.text) for b in placed) >= 0.9 * total
    with pdfplumber.open(source) as src, pdfplumber.open(out) as dst:
        before, page = src.pages[0], dst.pages[0]
        chars = [c for c in page.chars if c["text"].strip()]
        assert len(colliding_chars(page)) - len(colliding_chars(before)) <= 0.005 * len(chars)
        assert len(off_page(page)) <= len(off_page(before))
        ours = [c for c in chars if OUR_FONT in c["fontname"]]
        for block in placed:
            assert block.bbox is not None
            # The source's glyphs are gone from the unit's box ...
            left = [c for c in chars if OUR_FONT not in c["fontname"] and _inside(c, block.bbox)]
            assert not left, (block.text[:20], [c["text"] for c in left])
        # ... and the translations stand upright in columns: glyphs one under the other.
        columns: dict[float, list[dict[str, Any]]] = {}
        for c in ours:
            if "\u4e00" <= c["text"] <= "\u9fff":  # digits in a column are set sideways
                columns.setdefault(round(c["x0"]), []).append(c)
        tall = [col for col in columns.values() if len(col) >= 4]
        assert tall and all(c["upright"] for col in tall for c in col)


@pytest.mark.parametrize("name", [KAMPO, JO])
def test_latin_translations_of_columns_are_turned_to_read_top_to_bottom(
    name: str, tmp_path: Path
) -> None:
    """Latin script cannot stand in columns: its lines run down the page (turned 90°
    clockwise), one per column's place, right to left, inside each unit's box."""
    source = corpus_pdf(name)
    doc = parse_document(source)
    _latin(doc)
    out = tmp_path / "out.pdf"
    out.write_bytes(translated_pdf(doc))
    units = _vertical(doc)
    placed = [b for b in units if b.translation and not b.keep and not b.meta.get("unfit")]
    assert sum(len(b.text) for b in placed) >= 0.9 * sum(len(b.text) for b in units)
    with pdfplumber.open(source) as src, pdfplumber.open(out) as dst:
        before, page = src.pages[0], dst.pages[0]
        chars = [c for c in page.chars if c["text"].strip()]
        assert len(colliding_chars(page)) - len(colliding_chars(before)) <= 0.005 * len(chars)
        assert len(off_page(page)) <= len(off_page(before))
        letters = [
            c
            for c in chars
            if OUR_FONT in c["fontname"] and c["text"].isascii() and c["text"].isalpha()
        ]
        assert letters and all(not c["upright"] for c in letters)
        # Baseline down the page: each glyph's matrix turns x into -y.
        assert all(c["matrix"][1] < 0 and abs(c["matrix"][0]) < 1e-6 for c in letters)


def test_a_vertical_unit_that_cannot_fit_keeps_its_source(tmp_path: Path) -> None:
    source = corpus_pdf(JO)
    doc = parse_document(source)
    pseudo_translate(doc)
    line = next(b for b in _vertical(doc) if b.text == "わたくしといふ現象は")
    line.translation = "汉字" * 600
    out = tmp_path / "out.pdf"
    out.write_bytes(translated_pdf(doc))
    assert line.meta.get("unfit")
    assert line.bbox is not None
    with pdfplumber.open(out) as pdf:
        inside = [c["text"] for c in pdf.pages[0].chars if _inside(c, line.bbox)]
    assert "".join(inside) == "わたくしといふ現象は"


def test_columns_break_by_the_cjk_rules_and_use_vertical_forms() -> None:
    font = register_font()
    text = vertical_text("汉字翻译「文本」，测试（版面）。汉字翻译、文本。" * 4, font)
    assert "﹁" in text and "︵" in text and "「" not in text
    lines = wrap(text, font, 10.0, 45.0)
    assert len(lines) > 3
    assert all(line[0] not in NO_START for line in lines[1:])
    assert all(line[-1] not in NO_END for line in lines[:-1])


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_vertical_text_on_a_rotated_page_is_set_in_its_own_orientation(
    rotate: int, tmp_path: Path
) -> None:
    """jo.pdf turned by ``/Rotate``: the columns are found in the glyphs' own frame, drawn
    as the source was in user space (columns down, glyphs upright there), inside the page."""
    rotated = tmp_path / "rotated.pdf"
    writer = PdfWriter()
    writer.add_page(PdfReader(corpus_pdf(JO)).pages[0])
    writer.pages[0].rotate(rotate)
    with rotated.open("wb") as fh:
        writer.write(fh)
    doc = parse_document(rotated)
    units = _vertical(doc)
    assert len(units) > 50 and {b.rotation for b in units} == {270}
    assert [b.text for b in units[:2]] == ["序", "わたくしといふ現象は"]  # the title first
    _same_length_cjk(doc)
    out = tmp_path / "out.pdf"
    out.write_bytes(translated_pdf(doc))
    placed = [b for b in units if b.translation and not b.meta.get("unfit")]
    assert sum(len(b.text) for b in placed) >= 0.9 * sum(len(b.text) for b in units)
    with pdfplumber.open(out) as pdf:
        page = pdf.pages[0]
        assert not off_page(page) and not colliding_chars(page)
        assert not [c for c in page.chars if OUR_FONT not in c["fontname"] and c["text"] == "わ"]


def test_horizontal_cjk_beside_a_column_stays_horizontal(tmp_path: Path) -> None:
    """Horizontal Chinese lines sit on a grid, so their glyphs also stand one under another;
    only the real column (glyphs written top to bottom) becomes a vertical unit, even a
    glyph's width away from the lines."""
    from reportlab.pdfgen import canvas

    font = register_font()
    path = tmp_path / "mixed.pdf"
    c = canvas.Canvas(str(path), pagesize=(400, 400))
    c.setFont(font, 10)
    lines = ["汉字翻译文本测试版面汉字", "翻译文本测试版面汉字翻译", "文本测试版面汉字翻译文本"]
    for i, line in enumerate(lines):
        c.drawString(50, 350 - 12 * i, line)
    column = "竖排文字从上到下阅读"
    for i, ch in enumerate(column):  # right beside the lines' ends
        c.drawString(180, 350 - 10 * i, ch)
    c.save()
    doc = parse_document(path)
    units = _vertical(doc)
    assert [b.text for b in units] == [column]
    assert all(line in " ".join(b.text for b in doc.blocks) for line in lines)
