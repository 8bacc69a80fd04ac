"""Typesetting that never collides: fit, grow only into free space, check, report what is unfit.

Geometry is asserted on the written PDF read back with pdfplumber (what a reader sees), on
real-world corpus pages and on reportlab-generated pages whose layout is known exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from llmapps.translate.document import PARAGRAPH, TABLE_CELL, Block, Document, Page
from llmapps.translate.fonts import register_font
from llmapps.translate.parsers import parse_document
from llmapps.translate.writers.layout import NO_START, wrap
from llmapps.translate.writers.pdf import translated_pdf
from llmapps.translate.writers.typeset import Line, Placement, Typesetter, collisions, overlaps
from tests.translate.layout_checks import (
    OUR_FONT,
    colliding,
    colliding_chars,
    corpus_pdf,
    off_page,
    pseudo_translate,
)

DESCENT = -0.207  # Helvetica, as pdfminer sizes a char box


def _placement(block: Block, boxes: list[tuple[float, float, float, float]]) -> Placement:
    lines = [Line("x", 0.0, 0.0, 1.0) for _ in boxes]
    return Placement(block, 0, 10.0, lines, boxes[0], boxes=boxes)


def test_collision_checker_catches_overlaps_and_off_page_glyphs() -> None:
    a = Block("a", bbox=(10, 10, 100, 22))
    b = Block("b", bbox=(10, 30, 100, 42))
    c = Block("c", bbox=(10, 50, 100, 62))
    clean = [_placement(a, [(10, 10, 90, 20)]), _placement(b, [(10, 30, 90, 40)])]
    assert collisions(clean, [], 200, 200) == {}
    # Two translations drawn over each other.
    crossing = [_placement(a, [(10, 10, 90, 20)]), _placement(b, [(50, 15, 120, 25)])]
    assert list(collisions(crossing, [], 200, 200).values()) == [
        "would overlap another translation"
    ]
    # A translation over text that stays (a kept number's box).
    kept = (60, 52, 80, 60)
    over = [_placement(c, [(10, 50, 90, 60)])]
    assert collisions(over, [kept], 200, 200) == {id(over[0]): "would overlap text kept in place"}
    # Its own source box never counts against it.
    assert collisions(over, [c.bbox], 200, 200) == {}  # type: ignore[list-item]
    # Off the page.
    off = [_placement(a, [(150, 10, 230, 20)])]
    assert collisions(off, [], 200, 200) == {id(off[0]): "would leave the page"}
    # Boxes that merely touch are not collisions.
    touching = [_placement(a, [(10, 10, 90, 20)]), _placement(b, [(90, 10, 150, 20)])]
    assert collisions(touching, [], 200, 200) == {}


def test_growth_stops_at_neighbours_and_claims_its_space() -> None:
    font = register_font()
    long = "这是一段比原文长得多的译文" * 2
    a = Block("Short label", bbox=(20, 20, 80, 32), size=10, translation=long)
    right = Block("Right", bbox=(200, 20, 260, 32), size=10, translation="右")
    below = Block("Below", bbox=(20, 60, 80, 72), size=10, translation="下")
    kept = Block("2024", bbox=(20, 90, 60, 102), size=10, keep=True)
    page = Page(1, width=300, height=200, blocks=[a, right, below, kept])
    layout = Typesetter(page, font).run([a, right, below], [kept])
    assert layout.unfit == []
    placed = {id(p.block): p for p in layout.placements}
    grown = placed[id(a)]
    assert grown.grown and grown.size >= 10 * 0.6
    for box in grown.boxes:
        assert box[0] >= 20 - 0.01
        assert not overlaps(box, right.bbox)  # type: ignore[arg-type]
        assert not overlaps(box, below.bbox)  # type: ignore[arg-type]
        assert box[2] <= right.bbox[0]  # type: ignore[index]
    # Nothing placed touches anything else.
    assert collisions(layout.placements, [kept.bbox], 300, 200) == {}  # type: ignore[list-item]


def test_unit_boxed_in_is_reported_unfit_and_drawn_nowhere() -> None:
    font = register_font()
    words = "这是一段比原文长得多的译文" * 8
    boxed = Block("cyl", kind=TABLE_CELL, bbox=(50, 50, 70, 60), size=9, translation=words)
    left = Block("A", kind=TABLE_CELL, bbox=(20, 50, 49, 60), size=9, translation="甲")
    right = Block("B", kind=TABLE_CELL, bbox=(71, 50, 100, 60), size=9, translation="乙")
    under = Block("C", kind=TABLE_CELL, bbox=(50, 61, 70, 71), size=9, translation="丙")
    page = Page(1, width=200, height=200, blocks=[left, boxed, right, under])
    layout = Typesetter(page, font).run([left, boxed, right, under], [])
    assert layout.unfit == [boxed]
    assert boxed.meta["unfit"] == "does not fit its box at a readable size"
    assert [p.block for p in layout.placements] == [left, right, under]


def _table_pdf(path: Path) -> Path:
    """A ruled table with narrow cells, a paragraph above it and numbers in the cells."""
    c = canvas.Canvas(str(path), pagesize=A4)
    height = A4[1]
    c.setFont("Helvetica", 10)
    c.drawString(60, height - 60, "Quarterly figures of the three regional offices.")
    top = height - 100
    xs = [60, 160, 180, 260, 330]
    rows = [["Office", "cyl", "Sales", "Costs"], ["North", "am", "1,204", "877"]]
    for r, row in enumerate(rows):
        y = top - r * 12
        for k, text in enumerate(row):
            c.drawString(xs[k] + 2, y - 9, text)
    for x in xs:
        c.line(x, top, x, top - 24)
    for r in range(3):
        c.line(xs[0], top - r * 12, xs[-1], top - r * 12)
    c.showPage()
    c.save()
    return path


def test_table_cells_fit_or_keep_their_source(tmp_path: Path) -> None:
    pdf = _table_pdf(tmp_path / "table.pdf")
    doc = parse_document(pdf)
    pseudo_translate(doc)
    out = tmp_path / "table.zh.pdf"
    out.write_bytes(translated_pdf(doc))
    unfit = [b for b in doc.blocks if b.meta.get("unfit")]
    # "译N 汉字" cannot fit a 20 x 12 pt ruled cell at a readable size.
    assert {b.text for b in unfit} == {"cyl", "am"}
    with pdfplumber.open(out) as result:
        page = result.pages[0]
        assert colliding_chars(page) == [] and off_page(page) == []
        words = {w["text"] for w in page.extract_words()}
        assert {"cyl", "am", "1,204", "877"} <= words  # unfit cells' source and numbers stay
        assert "Office" not in words and "Sales" not in words  # replaced
        ours = [c for c in page.chars if OUR_FONT in c["fontname"]]
        for block in doc.blocks:
            if block.keep or block.meta.get("unfit") or block.bbox is None:
                continue
            x0, top, x1, bottom = block.bbox
            if block.kind == TABLE_CELL:
                # A cell's translation stays inside its ruled cell.
                inside = [c for c in ours if x0 - 1 <= c["x0"] and c["x1"] <= x1 + 1]
                inside = [c for c in inside if top - 1 <= c["top"] and c["bottom"] <= bottom + 1]
                assert inside, block.text


@pytest.mark.parametrize(
    "name",
    [
        "tabula-py/12s0324.pdf",
        "tabula-py/campaign_donors.pdf",
        "tabula-py/data.pdf",
        "tabula-py/MultiColumn.pdf",
        "pikepdf/fourpages.pdf",
        "pdfminer.six/f1040nr.pdf",  # form; MediaBox off the origin
        "pdfminer.six/naacl06-shinyama.pdf",  # two-column paper
    ],
)
def test_corpus_pages_translate_without_collisions(name: str, tmp_path: Path) -> None:
    source = corpus_pdf(name)
    doc = parse_document(source)
    pseudo_translate(doc)
    out = tmp_path / "out.pdf"
    out.write_bytes(translated_pdf(doc))
    with pdfplumber.open(source) as src, pdfplumber.open(out) as dst:
        for sp, dp, page in zip(src.pages, dst.pages, doc.pages, strict=True):
            chars = [c for c in dp.chars if c["text"].strip()]
            before = len(colliding_chars(sp))
            assert len(colliding_chars(dp)) - before <= 0.005 * max(len(chars), 1), page.number
            assert len(off_page(dp)) <= len(off_page(sp))
            placed = [
                b
                for b in page.blocks
                if b.bbox and not b.keep and b.translation and not b.meta.get("unfit")
            ]
            # The source text of every placed unit is gone: no source glyph starts in its box
            # unless it also belongs to a unit whose text stays.
            staying = [b.bbox for b in page.blocks if b.bbox and b not in placed]
            # pdfplumber counts from the media box's own corner; our boxes from (0, 0).
            dx, dy = float(dp.mediabox[0]), float(dp.mediabox[1])
            for raw in dp.chars:
                if OUR_FONT in raw["fontname"] or not raw["text"].strip():
                    continue
                if raw["text"].startswith("(cid:"):
                    continue  # a symbol with no character (a brace drawn over form lines)
                c = {**raw, "x0": raw["x0"] - dx, "x1": raw["x1"] - dx}
                c.update(top=raw["top"] - dy, bottom=raw["bottom"] - dy)
                homes = [b for b in placed if _starts_in(c, b.bbox)]  # type: ignore[arg-type]
                if homes:
                    assert any(_starts_in(c, box) for box in staying), (c["text"], homes[0].text)


def test_section_number_drawn_in_one_run_with_its_heading(tmp_path: Path) -> None:
    """naacl06-shinyama.pdf draws "1 Background" as one text run: the number is a kept unit of
    its own, yet the heading must be translated, the run removed and the number redrawn where
    it was (runs are removed whole; before, the heading was left unfit)."""
    source = corpus_pdf("pdfminer.six/naacl06-shinyama.pdf")
    doc = parse_document(source, pages="1")
    pseudo_translate(doc)
    out = tmp_path / "out.pdf"
    out.write_bytes(translated_pdf(doc))
    heading = next(b for b in doc.blocks if b.text == "Background")
    number = next(b for b in doc.blocks if b.text == "1" and b.bbox and b.bbox[1] > 400)
    assert not heading.meta.get("unfit") and number.bbox is not None
    with pdfplumber.open(out) as pdf:
        chars = pdf.pages[0].chars
        assert not [c for c in chars if c["text"] == "B" and abs(c["top"] - number.bbox[1]) < 3]
        ones = [c for c in chars if c["text"] == "1" and abs(c["x0"] - number.bbox[0]) < 2]
        assert any(abs(c["top"] - number.bbox[1]) < 3 for c in ones)


def _starts_in(c: dict[str, float], box: tuple[float, float, float, float]) -> bool:
    cx, cy = (c["x0"] + c["x1"]) / 2, (c["top"] + c["bottom"]) / 2
    return box[0] + 0.5 <= cx <= box[2] - 0.5 and box[1] + 0.5 <= cy <= box[3] - 0.5


def test_cjk_and_latin_line_breaking() -> None:
    font = register_font()
    text = "机器翻译把一种语言的文本转换成另一种语言，现代系统使用大型语言模型。它们保留原意。"
    for width in (40, 55, 70, 90):
        lines = wrap(text, font, 10, width)
        assert "".join(lines) == text  # CJK breaks anywhere, nothing lost or added
        assert all(line and line[0] not in NO_START for line in lines)
    sentence = "Modern systems read a whole paragraph at once"
    latin = wrap(sentence, "Helvetica", 10, 80)
    assert " ".join(latin) == sentence and len(latin) > 1  # broken between words only


def test_kept_units_and_placed_units_never_share_glyph_space(tmp_path: Path) -> None:
    """A paragraph box that overlaps a kept number's box is cut clear of it."""
    c = canvas.Canvas(str(tmp_path / "p.pdf"), pagesize=(300, 200))
    c.setFont("Helvetica", 10)
    c.drawString(20, 170, "Total sales of the year")
    c.drawString(150, 170, "1,204")
    c.showPage()
    c.save()
    para = Block(
        "Total sales of the year",
        kind=PARAGRAPH,
        bbox=(20, 22, 160, 33),  # a parser's box reaching over the number
        size=10,
        translation="本年度销售总额",
    )
    number = Block("1,204", bbox=(150, 22, 176, 33), size=10, keep=True)
    doc = Document(tmp_path / "p.pdf", "pdf", [Page(1, 300, 200, [para, number])], page_count=1)
    out = tmp_path / "p.zh.pdf"
    out.write_bytes(translated_pdf(doc))
    assert not para.meta.get("unfit")
    with pdfplumber.open(out) as result:
        page = result.pages[0]
        assert colliding_chars(page) == []
        assert "1,204" in {w["text"] for w in page.extract_words()}
        ours = [c for c in page.chars if OUR_FONT in c["fontname"]]
        assert ours and max(c["x1"] for c in ours) <= 150


def test_growth_stops_at_a_stroked_border(tmp_path: Path) -> None:
    """A table border drawn as one stroked rectangle is four rules: no translation crosses it."""
    c = canvas.Canvas(str(tmp_path / "b.pdf"), pagesize=(300, 200))
    c.rect(20, 20, 200, 160, stroke=1, fill=0)  # the border, right edge at x = 220
    c.setFont("Helvetica", 10)
    c.drawString(170, 25, "Amount")  # just above the bottom edge: no room below
    c.showPage()
    c.save()
    width = c.stringWidth("Amount", "Helvetica", 10)
    label = Block(
        "Amount",
        bbox=(170, 167.1, 170 + width, 177.1),
        size=10,
        translation="这是一段很长的金额说明文字",
    )
    doc = Document(tmp_path / "b.pdf", "pdf", [Page(1, 300, 200, [label])], page_count=1)
    out = tmp_path / "b.zh.pdf"
    out.write_bytes(translated_pdf(doc))
    with pdfplumber.open(out) as result:
        ours = [c for c in result.pages[0].chars if OUR_FONT in c["fontname"]]
    if label.meta.get("unfit"):  # boxed in by the border: reported, nothing drawn
        assert ours == []
    else:
        assert ours and max(c["x1"] for c in ours) <= 220


def test_translation_keeps_the_source_text_colour(tmp_path: Path) -> None:
    """A blue heading stays blue; white text on a dark header band stays white."""
    c = canvas.Canvas(str(tmp_path / "c.pdf"), pagesize=(300, 200))
    c.setFillColorRGB(0.1, 0.2, 0.8)
    c.setFont("Helvetica", 12)
    c.drawString(20, 170, "Blue heading")
    c.setFillColorRGB(0.1, 0.1, 0.3)
    c.rect(20, 100, 200, 20, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    c.drawString(25, 106, "White label")
    c.showPage()
    c.save()
    top = 200 - 170 - 12 * (1 + DESCENT)
    heading = Block("Blue heading", bbox=(20, top, 90, top + 12), size=12, translation="蓝标题")
    top = 200 - 106 - 12 * (1 + DESCENT)
    label = Block("White label", bbox=(25, top, 90, top + 12), size=12, translation="白标签")
    doc = Document(tmp_path / "c.pdf", "pdf", [Page(1, 300, 200, [heading, label])], page_count=1)
    out = tmp_path / "c.zh.pdf"
    out.write_bytes(translated_pdf(doc))
    with pdfplumber.open(out) as result:
        colours = {
            c["text"]: tuple(round(v, 2) for v in c["non_stroking_color"])
            for c in result.pages[0].chars
            if OUR_FONT in c["fontname"]
        }
    assert colours["蓝"] == (0.1, 0.2, 0.8)
    assert colours["白"] == (1.0, 1.0, 1.0)


def test_runs_starting_with_indenting_spaces_are_replaced(tmp_path: Path) -> None:
    """A line drawn as "   Robbery" starts left of its unit's box (the box is the glyphs')."""
    c = canvas.Canvas(str(tmp_path / "i.pdf"), pagesize=(300, 200))
    c.setFont("Helvetica", 10)
    c.drawString(20, 170, "      Robbery and theft")
    c.drawString(20, 150, "Centred title")
    c.showPage()
    c.save()
    indent = c.stringWidth("      ", "Helvetica", 10)
    width = c.stringWidth("Robbery and theft", "Helvetica", 10)
    top = 200 - 170 - 10 * (1 + DESCENT)
    label = Block(
        "Robbery and theft",
        bbox=(20 + indent, top, 20 + indent + width, top + 10),
        size=10,
        translation="抢劫和盗窃",
    )
    doc = Document(tmp_path / "i.pdf", "pdf", [Page(1, 300, 200, [label])], page_count=1)
    out = tmp_path / "i.zh.pdf"
    out.write_bytes(translated_pdf(doc))
    with pdfplumber.open(out) as result:
        chars = [c for c in result.pages[0].chars if c["text"].strip()]
    source = {c["text"] for c in chars if "Helvetica" in c["fontname"] and c["top"] < 40}
    assert source == set() and colliding(chars) == []
    assert "".join(c["text"] for c in chars if OUR_FONT in c["fontname"]) == "抢劫和盗窃"


def test_a_centred_title_stays_centred(tmp_path: Path) -> None:
    c = canvas.Canvas(str(tmp_path / "t.pdf"), pagesize=(300, 200))
    c.setFont("Helvetica-Bold", 14)
    c.drawCentredString(150, 170, "Annual Report of the Society")
    c.showPage()
    c.save()
    width = c.stringWidth("Annual Report of the Society", "Helvetica-Bold", 14)
    top = 200 - 170 - 14 * (1 + DESCENT)
    title = Block(
        "Annual Report of the Society",
        bbox=(150 - width / 2, top, 150 + width / 2, top + 14),
        size=14,
        bold=True,
        translation="学会年度报告",
    )
    doc = Document(tmp_path / "t.pdf", "pdf", [Page(1, 300, 200, [title])], page_count=1)
    out = tmp_path / "t.zh.pdf"
    out.write_bytes(translated_pdf(doc))
    with pdfplumber.open(out) as result:
        ours = [c for c in result.pages[0].chars if OUR_FONT in c["fontname"]]
    middle = (min(c["x0"] for c in ours) + max(c["x1"] for c in ours)) / 2
    assert abs(middle - 150) < 1.0


def test_a_flush_right_header_ends_where_it_did_and_a_list_item_starts_where_it_did() -> None:
    """Read on the shared-mime-info spec (a DocBook PDF): its running header is set flush
    right, and its translation started at the header's left edge instead; list items whose
    lines happened to be centred on the page were taken for titles and centred."""
    font = register_font()
    paragraph = Block("Body " * 30, bbox=(72, 100, 540, 160), size=10, translation="正文" * 40)
    header = Block("Shared MIME-info Database", bbox=(420, 48, 540, 58), size=10)
    header.translation = "共享 MIME 信息数据库"
    # 72 + 466 = 538: as good as centred on a 612 pt page, but it starts at the margin.
    item = Block("- <MIME>/globs (a mapping)", bbox=(72, 200, 538, 210), size=10)
    item.translation = "- <MIME>/globs（映射）"
    title = Block("A Title", bbox=(276, 20, 336, 32), size=12, translation="标题")
    page = Page(1, width=612, height=792, blocks=[paragraph, header, item, title])
    layout = Typesetter(page, font).run([paragraph, header, item, title], [])
    placed = {id(p.block): p for p in layout.placements}
    (line,) = placed[id(header)].lines
    assert abs(line.u + line.width - 540) < 0.5 and line.u > 420
    (line,) = placed[id(item)].lines
    assert abs(line.u - 72) < 0.5
    (line,) = placed[id(title)].lines
    assert abs(line.u + line.width / 2 - 306) < 0.5


@pytest.mark.parametrize(
    "name, page",
    [
        ("pdfminer.six/i1040nr.pdf", "1"),  # a running header's fields in one TJ
        ("pdfminer.six/f1040nr.pdf", "1"),  # form labels and amounts
        ("pdfminer.six/naacl06-shinyama.pdf", "1"),
    ],
)
def test_text_that_stays_keeps_every_glyph_in_place(name: str, page: str, tmp_path: Path) -> None:
    """Numbers must never vanish: every glyph of a kept unit is still printed where it was,
    also when the PDF draws it in one ``TJ`` with text that is translated (i1040nr draws
    "Instructions for Form 1040NR" and, 130 pt further, "7:48 - 6-DEC-2007" in one operator;
    before, removing the operator took the kept field with it)."""
    source = corpus_pdf(name)
    doc = parse_document(source, pages=page)
    pseudo_translate(doc)
    out = tmp_path / "out.pdf"
    out.write_bytes(translated_pdf(doc))
    kept = [b.bbox for b in doc.blocks if b.keep and b.bbox and not b.meta.get("vertical")]
    assert kept
    with pdfplumber.open(source) as src, pdfplumber.open(out) as dst:
        sp, dp = src.pages[int(page) - 1], dst.pages[0]
        dx, dy = float(sp.mediabox[0]), float(sp.mediabox[1])

        def inside(c: dict[str, float], box: tuple[float, float, float, float]) -> bool:
            moved = {**c, "x0": c["x0"] - dx, "x1": c["x1"] - dx}
            moved.update(top=c["top"] - dy, bottom=c["bottom"] - dy)
            return _starts_in(moved, box)

        printed = [c for c in dp.chars if c["text"].strip()]

        def still_printed(c: dict[str, Any]) -> bool:
            # In its own font or, when we redraw it (it shared a run with a translated unit),
            # in ours: the same character at the same place.
            return any(
                o["text"] == c["text"]
                and abs(o["x0"] - c["x0"]) < 1.0
                and abs(o["bottom"] - c["bottom"]) < 2.5
                for o in printed
            )

        for box in kept:
            for c in sp.chars:
                if c["text"].strip() and not c["text"].startswith("(cid:") and inside(c, box):
                    assert still_printed(c), (c["text"], c["x0"], c["top"], box)


def test_translations_of_shown_text_stay_inside_the_crop_box(tmp_path: Path) -> None:
    """A page whose CropBox hides the bottom third: a label just above the crop edge whose
    translation needs more room may not grow down into what viewers never show (before, 70%
    of it was drawn there, invisible); it keeps its source and is reported unfit. Text outside
    the crop box (printer's marks) is translated where it is."""
    c = canvas.Canvas(str(tmp_path / "crop.pdf"), pagesize=(300, 300))
    c.setCropBox((0, 100, 300, 300))
    c.setFont("Helvetica", 10)
    c.drawString(20, 104, "Total amount due")
    c.drawString(20, 50, "Job ticket")  # hidden
    c.showPage()
    c.save()
    doc = parse_document(tmp_path / "crop.pdf")
    page = doc.pages[0]
    assert page.crop == (0.0, 0.0, 300.0, 200.0)
    label = next(b for b in page.blocks if b.text == "Total amount due")
    ticket = next(b for b in page.blocks if b.text == "Job ticket")
    label.translation = "应付总额" * 12
    ticket.translation = "工单"
    out = tmp_path / "crop.zh.pdf"
    out.write_bytes(translated_pdf(doc))
    assert label.meta.get("unfit") and not ticket.meta.get("unfit")
    with pdfplumber.open(out) as pdf:
        chars = pdf.pages[0].chars
    ours = "".join(c["text"] for c in chars if OUR_FONT in c["fontname"])
    assert ours == "工单"
    assert "".join(c["text"] for c in chars if c["top"] < 200).replace(" ", "") == "Totalamountdue"
    # i1040nr.pdf: its CropBox hides the top 216 pt of the media box.
    irs = parse_document(corpus_pdf("pdfminer.six/i1040nr.pdf"), pages="1")
    assert irs.pages[0].crop == (0.0, 216.0, 612.0, 1008.0)


def test_a_dark_box_or_a_picture_blocks_growth_unless_the_text_was_printed_on_it() -> None:
    """A translation longer than its source grows into free space; a redaction box or a
    picture beside the source is no free space (text drawn over it cannot be read, or spoils
    the picture), while a dark bar the source text itself was printed on is its ground."""
    font = register_font()
    long = "这是一段比原文长得多的译文" * 2
    label = Block("Short label", bbox=(20, 20, 80, 32), size=10, translation=long)
    bar_text = Block("On the bar", bbox=(20, 100, 80, 112), size=10, translation=long)
    page = Page(1, width=300, height=200, blocks=[label, bar_text])
    box = (120, 18, 160, 34)  # beside the label, on its line
    bar = (15, 95, 290, 140)  # under all of bar_text
    free = Typesetter(page, font).run([label, bar_text], [])
    shaped = Typesetter(page, font, shapes=[box, bar]).run([label, bar_text], [])
    (grown,) = [p for p in free.placements if p.block is label]
    assert any(b[2] > box[0] for b in grown.boxes)  # without the box it would run over it
    placed = {id(p.block): p for p in shaped.placements}
    assert not shaped.unfit
    # The label grows down, under its line, not into the box beside it.
    assert all(not overlaps(b, box) for b in placed[id(label)].boxes)
    assert len(placed[id(label)].boxes) > 1
    # The bar is bar_text's ground: it still grows along it, on one line.
    assert [b[2] > 200 for b in placed[id(bar_text)].boxes] == [True]
