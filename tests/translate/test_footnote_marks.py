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
"""

from __future__ import annotations

from pathlib import Path

import pdfplumber

from llmapps.translate.document import LIST_ITEM, PARAGRAPH
from llmapps.translate.parsers import parse_document
from llmapps.translate.service import TranslateOptions, translate_file
from tests.translate.layout_pdfs import corpus_file
from tests.translate.translate_fakes import EchoTranslator

FOOTNOTES = "rst2pdf/test_footnotes.pdf"


def test_raised_footnote_marks_stay_inside_their_paragraph() -> None:
    doc = parse_document(corpus_file(FOOTNOTES), pages="1")
    (paragraph,) = [b for b in doc.blocks if "manually numbered" in b.text]
    assert paragraph.kind == PARAGRAPH
    # All four printed lines, marks included, in one unit.
    assert paragraph.text.startswith('2 will be "2" (manually numbered), 2 is mentioned')
    assert paragraph.text.endswith("Here is a symbolic footnote reference: §.")
    assert paragraph.text.count("symbolic footnote reference") == 4
    # A label of several raised glyphs joins its line too.
    assert any(b.text == "Here is a citation reference: CIT2002." for b in doc.blocks)
    # No mark is left as a unit of its own above the footnote list.
    assert not [b for b in doc.blocks if b.bbox and b.bbox[1] < 200 and len(b.text) <= 2]


def test_a_formula_keeps_its_exponent_and_bullets_join_their_items() -> None:
    formula = parse_document(corpus_file("rst2pdf/test_issue_107.pdf"), pages="1")
    assert any(b.text == "E = mc2" for b in formula.blocks)

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
