"""Footnote marks, citation labels and bullets set smaller than their line, on real documents.

reportlab (rst2pdf) sets a superscript at 80% of its line's size, and the parser took a glyph
for a script only under 80%: every raised footnote mark became a line of its own, and the
paragraph around it fell apart into one unit per visual line ("reference: . Here is a symbolic
footnote reference: ."), each translated without the rest of its sentence, with the mark kept
alone where it was. A citation label of several glyphs ("CIT2002") stayed apart even below
80%, because only a lone glyph or two could join a line. The IRS instructions (i1040nr) set
their bullets in an 11.4 pt Symbol font beside 9.5 pt items, a raised bullet's line just under
the 80% cut: each "•" became a heading of its own, and one was glued to the end of the
paragraph above its list.

A raised run of digits then read as a plain digit glued to its word ("Act (DMCA)1 was
signed", "1Pub. L. No. 105-304"): a model saw a number, and the translation drew it full size
on the line. Such runs now read as superscript digits and are drawn small and raised.
"""

from __future__ import annotations

import io
from pathlib import Path

import pdfplumber

from llmapps.translate.document import LIST_ITEM, PARAGRAPH, Block
from llmapps.translate.fonts import register_font
from llmapps.translate.parsers import parse_document
from llmapps.translate.scripts import pieces
from llmapps.translate.service import TranslateOptions, translate_file
from llmapps.translate.writers.layout import Widths, wrap
from llmapps.translate.writers.pdf import translated_pdf
from tests.translate.layout_pdfs import corpus_file
from tests.translate.translate_fakes import EchoTranslator

FOOTNOTES = "rst2pdf/test_footnotes.pdf"


def test_raised_footnote_marks_stay_inside_their_paragraph() -> None:
    doc = parse_document(corpus_file(FOOTNOTES), pages="1")
    (paragraph,) = [b for b in doc.blocks if "manually numbered" in b.text]
    assert paragraph.kind == PARAGRAPH
    # All four printed lines, marks included, in one unit.
    assert paragraph.text.startswith('² will be "2" (manually numbered), ² is mentioned')
    assert paragraph.text.endswith("Here is a symbolic footnote reference: §.")
    assert paragraph.text.count("symbolic footnote reference") == 4
    # A label of several raised glyphs joins its line too.
    assert any(b.text == "Here is a citation reference: CIT2002." for b in doc.blocks)
    # No mark is left as a unit of its own above the footnote list.
    assert not [b for b in doc.blocks if b.bbox and b.bbox[1] < 200 and len(b.text) <= 2]


def test_a_formula_keeps_its_exponent_and_bullets_join_their_items() -> None:
    formula = parse_document(corpus_file("rst2pdf/test_issue_107.pdf"), pages="1")
    assert any(b.text == "E = mc²" for b in formula.blocks)

    doc = parse_document(corpus_file("pdfminer.six/i1040nr.pdf"), pages="2")
    (item,) = [b for b in doc.blocks if "crew member of a foreign vessel" in b.text]
    assert item.kind == LIST_ITEM
    assert item.text.startswith("• Days you are in the United States")
    (lead,) = [b for b in doc.blocks if "substantial presence test, you can be" in b.text]
    assert lead.text.endswith("nonresident alien if you:")  # no bullet glued to its end
    # A bullet stands alone only as the marker of an item whose lines hang right of it.
    assert all(b.meta.get("list_marker") for b in doc.blocks if b.text == "•")


def test_translated_paragraph_replaces_its_marks_too(tmp_path: Path) -> None:
    pdf = corpus_file(FOOTNOTES)
    options = TranslateOptions(target="zh", formats=["pdf"], output_dir=str(tmp_path), pages="1")
    result = translate_file(pdf, options, model=EchoTranslator())
    with pdfplumber.open(pdf) as src, pdfplumber.open(result.outputs["pdf"]) as out:
        marks_before = [c for c in src.pages[0].chars if c["size"] < 9 and c["top"] < 130]
        marks_after = [
            c
            for c in out.pages[0].chars
            if c["size"] < 9 and c["top"] < 130 and "WenQuanYi" not in c["fontname"]
        ]
        drawn = "".join(
            c["text"] for c in out.pages[0].chars if "WenQuanYi" in c["fontname"] and c["top"] < 200
        )
    assert len(marks_before) >= 8
    # The marks went with their sentences: none is left where the source printed it.
    assert marks_after == []
    assert "manually numbered" in drawn.replace(" ", " ")


def _texts(name: str, pages: str = "1") -> list[str]:
    return [b.text for b in parse_document(corpus_file(name), pages=pages).blocks]


def _unit(blocks: list[Block], start: str) -> Block:
    (block,) = [b for b in blocks if b.text.startswith(start)]
    return block


def test_footnote_marks_read_as_superscript_digits() -> None:
    dmca = _texts("pdfminer.six/dmca.pdf")
    assert any(
        t.startswith("The Digital Millennium Copyright Act (DMCA)¹ was signed") for t in dmca
    )
    assert "¹Pub. L. No. 105-304, 112 Stat. 2860 (Oct. 28, 1998)." in dmca
    # A statistics table's marks on its row labels and its notes (tabula-py's 12s0324).
    table = _texts("tabula-py/12s0324.pdf")
    assert "Stolen property ¹" in table and "¹ Except forcible rape and prostitution." in table
    # rst2pdf's footnote references and powers.
    assert "See footnote ¹" in _texts("rst2pdf/test_issue_340.pdf")
    assert "E = mc²" in _texts("rst2pdf/test_issue_107.pdf")


def test_digits_that_are_no_footnote_marks_stay_plain() -> None:
    # A form's "OMB No." is small beside the title on the same line, but not raised against
    # its own words.
    assert "OMB No. 1545-0074" in _texts("pdfminer.six/f1040nr.pdf")
    # A date typed small over a form's blank of underscores (pdfreader's filled form).
    form = _texts("pdfreader/example-form.pdf")
    assert "10/22/2019" in form and "to 08/22/2020" in form
    # A raised citation label is letters and digits alike (rst2pdf's footnotes test).
    assert "Here is a citation reference: CIT2002." in _texts("rst2pdf/test_footnotes.pdf")


def test_a_footnote_mark_is_drawn_small_and_raised_after_its_word() -> None:
    doc = parse_document(corpus_file("pdfminer.six/dmca.pdf"), pages="1")
    for block in doc.blocks:
        block.keep = True
    intro = _unit(doc.blocks, "The Digital Millennium Copyright Act (DMCA)¹")
    intro.keep = False
    intro.translation = "数字千年版权法（DMCA）¹由克林顿总统于1998年10月28日签署成为法律。"
    with pdfplumber.open(io.BytesIO(translated_pdf(doc))) as out:
        chars = out.pages[0].chars
    mark = [c for c in chars if "WenQuanYi" in c["fontname"] and c["text"] == "1"]
    brackets = [c for c in chars if c["text"] == "）"]
    assert brackets and mark
    bracket = brackets[0]
    # The first "1" we drew is the mark: right after the bracket, 60% of its size, its foot
    # a third of the size above the bracket's.
    first = min(mark, key=lambda c: (round(c["top"]), c["x0"]))
    assert abs(first["x0"] - bracket["x1"]) < 0.5
    assert abs(first["size"] - 0.6 * bracket["size"]) < 0.05
    rise = (bracket["bottom"] - first["bottom"]) / bracket["size"]
    assert 0.25 < rise < 0.45, rise


def test_a_footnote_mark_is_measured_as_drawn_and_never_starts_a_line() -> None:
    font = register_font()
    widths = Widths.of(font)
    assert widths.char("⁷") == 0.6 * widths.char("7")
    text = "数字千年版权法¹由克林顿总统签署"
    cut = wrap(text, font, 10.0, widths.text("数字千年版权法") * 10.0 + 0.01)
    assert cut[0] == "数字千年版权" and cut[1].startswith("法¹")  # the mark took "法" along
    assert pieces("（DMCA）¹²由") == [("（DMCA）", False), ("12", True), ("由", False)]


def test_a_word_before_closing_punctuation_moves_whole_to_the_next_line() -> None:
    """Closing punctuation may not start a line; the character taken along with it used to be
    the last letter of a Latin word ("（DMC" / "A）")."""
    font = register_font()
    widths = Widths.of(font)
    text = "数字千年版权法（DMCA）于1998年签署"
    room = widths.text("数字千年版权法（DMCA") * 10.0 + 0.01
    lines = wrap(text, font, 10.0, room)
    assert lines[0] == "数字千年版权法" and lines[1].startswith("（DMCA）")
