"""PDFs of unusual structure, found by running the whole corpus (``make corpus``) through the
layout bench, not only its benchmark list.

- A utility bill cut out of an A4 sheet (tabula-py's data_dtype.pdf) came out with the sheet's
  hidden text translated and drawn across its top, and with a text layer that every reader
  but pdfium lost.
- A colour test page (ocrmypdf's cmyk.pdf) has a font whose Unicode map has its bytes
  swapped: its English read as Chinese and was left as is.
  Its coloured words are images shown through invisible clipping text (``Tr 7``): once the
  words were removed, pdfium drew the yellow image's whole box around the translation.
- A typewritten scan with an OCR text layer (pikepdf's jbig2global.pdf) whose boxes fall short
  of the printed words: the last letter of its underlined title showed beside the translation.
- A scan whose OCR layer was written at the wrong resolution (pypdf's indirect-rotation.pdf:
  words stretched 1.35x from the left margin): patches hid the wrong strips, printed words
  showed under the translations; and once the page was read by our OCR, the stale layer's
  words that lay beside the print stayed in the output, English, in the translations' way.
- A federal form (pypdf's SF424_page2.pdf) holds invisible text inside its empty fields (field
  names, Tr 3) on blank paper: it was taken for an OCR layer and drawn visibly, translated.
- An AutoCAD drawing (pypdf's AutoCad_Diagram.pdf) writes its spaces as backslash-space
  (pdfminer glued every word to the next) and a NUL between an image's colour space and its
  highest index (pypdf took both for one name: the drawing's note and photos vanished from
  the output).
- A book page with engravings beside a column of text, scanned with an OCR layer that runs
  the narrow gutter's two columns together (pypdf's Seige_of_Vicksburg_Sample_OCR.pdf, page
  52): the engravings were painted over, and 13 units did not fit.
- Hand-written PDFs without a cross-reference table (pdfminer.six's simple1.pdf) parsed, were
  translated, and then failed to write, asking the user to "run it again".
- A Japanese font on the predefined CMap ``V`` (pdfminer.six's simple3.pdf) was taken for a
  horizontal one: removing a translated run moved the vertical text after it off the page.
- reportlab's output (rst2pdf's test_aafigure.pdf) uses the standard fonts without /Widths:
  runs were measured at 500/1000 em a glyph, so the Courier signs inside a paragraph ("the -
  and | are used for lines") seemed to start past the paragraph, stayed, and were moved off
  the page's right edge when the runs before them were removed.
- A page holding only a photograph (rst2pdf's too-tall-image-in-table.pdf: a locomotive at a
  station) was read by OCR and its shop signs were translated onto grey patches painted over
  the photo; an engraving's caption on a scan (ocrmypdf's c03-29.pdf) must still be translated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pdfplumber
import pypdf
import pypdfium2 as pdfium

from llmapps.translate.paragraphs import mark_keep
from llmapps.translate.parsers import parse_document
from llmapps.translate.service import (
    TranslateOptions,
    TranslateResult,
    parse_notes,
    translate_file,
)
from tests.translate.layout_checks import off_page
from tests.translate.layout_pdfs import corpus_file
from tests.translate.translate_fakes import EchoTranslator
from tests.translate.translate_pdfs import make_sheet_pdf


def run(path: Path, out: Path) -> TranslateResult:
    options = TranslateOptions(target="zh", formats=["pdf"], output_dir=str(out))
    return translate_file(path, options, model=EchoTranslator())


def _words(page: Any) -> list[dict[str, Any]]:
    return list(page.extract_words())


def _shown(page: Any, box: dict[str, Any]) -> bool:
    return box["bottom"] > 0 and box["top"] < page.height


def test_text_off_the_page_is_left_alone_and_the_sheet_stays_readable(tmp_path: Path) -> None:
    pdf = make_sheet_pdf(tmp_path / "sheet.pdf")
    result = run(pdf, tmp_path / "out")
    texts = [b.text for b in result.document.blocks]
    assert any("invoice lists every service" in t for t in texts)
    assert not any("never shown" in t for t in texts)  # not sent to the model
    with pdfplumber.open(result.outputs["pdf"]) as out:
        page = out.pages[0]
        words = _words(page)
        # The amount drawn after the inline image is still in the text layer, where it was
        # (pdfminer lost everything after an inline image whose EI had no space before it).
        amount = [w for w in words if w["text"] == "1.234,56"]
        assert len(amount) == 1 and abs(amount[0]["top"] - 172) < 2
        assert abs(amount[0]["x0"] - 400) < 2
        # The hidden text is still in the sheet, untouched, off the page.
        hidden = [w for w in words if w["text"] == "never"]
        assert len(hidden) == 2 and not any(_shown(page, w) for w in hidden)
        # Only the shown sentence was translated and drawn, inside the page.
        ours = [c for c in page.chars if "WenQuanYi" in c["fontname"]]
        assert ours and all(_shown(page, c) for c in ours)
        drawn = "".join(c["text"] for c in ours)
        assert "invoice" in drawn and "never" not in drawn
        # The sheet's own text is read from its (rewritten) stream: the amount, in the
        # source font, and no longer the translated sentence.
        source = "".join(c["text"] for c in page.chars if "Helvetica" in c["fontname"])
        assert "1.234,56" in source and "invoice" not in source


def test_bill_cut_from_a_sheet_keeps_its_amounts_and_draws_nothing_from_outside(
    tmp_path: Path,
) -> None:
    pdf = corpus_file("tabula-py/data_dtype.pdf")
    result = run(pdf, tmp_path / "out")
    page_box = result.document.pages[0]
    for block in result.document.blocks:
        assert block.bbox is not None
        _, top, _, bottom = block.bbox
        assert bottom > 0 and top < page_box.height, block.text  # nothing from off the page
    with pdfplumber.open(pdf) as src, pdfplumber.open(result.outputs["pdf"]) as out:
        before = [w for w in _words(src.pages[0]) if _shown(src.pages[0], w)]
        after = _words(out.pages[0])
        # The tax table's amounts (drawn after the sheet's inline image) stay where they were.
        for text in ("5.170,01", "91,33", "427,38", "0,530%", "2,480%"):
            (source,) = [w for w in before if w["text"] == text]
            assert any(
                w["text"] == text
                and abs(w["x0"] - source["x0"]) < 1
                and abs(w["top"] - source["top"]) < 1
                for w in after
            ), text
        ours = [c for c in out.pages[0].chars if "WenQuanYi" in c["fontname"]]
        assert ours and all(_shown(out.pages[0], c) for c in ours)


def test_font_with_a_byte_swapped_unicode_map_reads_as_printed() -> None:
    doc = parse_document(corpus_file("ocrmypdf/cmyk.pdf"))
    texts = [b.text for b in doc.blocks]
    assert texts == [
        "Multicolor Black",
        "Pure Black (K = 100)",
        "Pure Magenta",
        "Pure Cyan",
        "Pure Yellow",  # "ll": the font's glyphs overlap, but they are not one glyph twice
    ]
    assert not any(b.keep for b in doc.blocks)  # English, to be translated


def _render(path: Path, scale: float, index: int = 0) -> Any:
    """Page ``index`` of ``path`` rendered by pdfium at ``scale`` pixels per point (PIL)."""
    document = pdfium.PdfDocument(str(path))
    try:
        return document[index].render(scale=scale).to_pil()
    finally:
        document.close()


def _yellow_outside(
    image: Any, boxes: list[tuple[float, float, float, float]], scale: float
) -> int:
    """Strongly yellow pixels of a page render that lie outside every box (points, padded)."""
    pixels = np.asarray(image.convert("RGB")).astype(int)
    yellow = (pixels[:, :, 0] > 200) & (pixels[:, :, 1] > 200) & (pixels[:, :, 2] < 120)
    for x0, top, x1, bottom in boxes:
        y_a, y_b = int((top - 1) * scale), int((bottom + 1) * scale) + 1
        yellow[max(0, y_a) : y_b, max(0, int((x0 - 1) * scale)) : int((x1 + 1) * scale) + 1] = False
    return int(yellow.sum())


def test_words_shown_through_clipping_text_leave_nothing_when_removed(tmp_path: Path) -> None:
    result = run(corpus_file("ocrmypdf/cmyk.pdf"), tmp_path / "out")
    scale = 3.0
    with pdfplumber.open(result.outputs["pdf"]) as out:
        page = out.pages[0]
        ours = [c for c in page.chars if "WenQuanYi" in c["fontname"]]
        boxes = [(c["x0"], c["top"], c["x1"], c["bottom"]) for c in ours]
        # Each removed word's image now shows through nothing: the text objects whose
        # clipping glyphs all went end in an empty clip, not in no clip at all.
        assert "".join(c["text"] for c in ours).count("译") == 5
    render = _render(result.outputs["pdf"], scale)
    assert _yellow_outside(render, boxes, scale) == 0  # was a 58 x 16 pt yellow frame
    printed = _render(corpus_file("ocrmypdf/cmyk.pdf"), scale)
    assert _yellow_outside(printed, [], scale) > 500  # the check sees the printed word


def _dark(image: Any, box: tuple[float, float, float, float], scale: float) -> np.ndarray:
    """Dark pixels of a page render inside ``box`` (points: x0, top, x1, bottom)."""
    grey = np.asarray(image.convert("L")).astype(int)
    x0, top, x1, bottom = (round(v * scale) for v in box)
    return np.asarray(grey[top:bottom, x0:x1] < 128)


def test_patch_covers_the_printed_word_past_its_short_layer_box(tmp_path: Path) -> None:
    source = corpus_file("pikepdf/jbig2global.pdf")
    doc = parse_document(source)
    title = doc.blocks[0]
    assert title.text == "Linzensoep" and title.bbox is not None
    assert title.bbox[2] < 164  # the layer's box ends before the printed "p" (x 165-180)
    result = run(source, tmp_path / "out")
    scale = 3.0
    printed, translated = (_render(path, scale) for path in (source, result.outputs["pdf"]))
    letter = (164.0, 25.0, 182.0, 45.0)
    assert _dark(printed, letter, scale).sum() > 200
    assert _dark(translated, letter, scale).sum() == 0  # the "p" no longer shows
    # The patch stops at the title's underline: it still runs under the translation.
    underline = (30.0, 46.5, 160.0, 49.5)
    assert _dark(translated, underline, scale).any(axis=0).mean() > 0.8


def test_scan_whose_text_layer_lies_beside_the_print_is_read_by_ocr() -> None:
    source = corpus_file("pypdf/indirect-rotation.pdf")
    layer = pdfplumber.open(source)
    try:
        operators = [w for w in layer.pages[0].extract_words() if w["text"] == "Operators"]
    finally:
        layer.close()
    assert operators and operators[0]["x1"] > 600  # the layer's word; printed, it ends at 528
    doc = parse_document(source, pages="1")
    page = doc.pages[0]
    assert page.ocr and page.layer_off
    title = next(b for b in page.blocks if b.text.startswith("International Council of"))
    assert title.bbox is not None and title.bbox[2] < 540  # where it is printed
    assert "read by OCR instead: 1" in " ".join(parse_notes(doc, True))
    # A sound layer over a scan (a book page) is used as it is.
    book = parse_document(corpus_file("pypdf/Seige_of_Vicksburg_Sample_OCR.pdf"), pages="1")
    assert not book.pages[0].ocr and not book.pages[0].layer_off


def test_invisible_text_over_blank_paper_stays_invisible(tmp_path: Path) -> None:
    source = corpus_file("pypdf/SF424_page2.pdf")
    result = run(source, tmp_path / "out")
    field = (34.0, 212.0, 120.0, 226.0)  # the empty "Name of Federal Agency" field
    scale = 2.0
    dark = [
        int(_dark(_render(p, scale), field, scale).sum()) for p in (source, result.outputs["pdf"])
    ]
    assert dark[0] == dark[1]  # the field's frame only: nothing new is shown in it
    with pdfplumber.open(result.outputs["pdf"]) as out:
        inside = [
            c
            for c in out.pages[0].chars
            if "WenQuanYi" in c["fontname"] and field[1] < c["top"] < field[3]
        ]
    assert inside and "".join(c["text"] for c in inside).startswith("译")  # still searchable


def test_drawing_with_escaped_spaces_and_a_nul_separator(tmp_path: Path) -> None:
    source = corpus_file("pypdf/AutoCad_Diagram.pdf")
    texts = [b.text for b in parse_document(source).blocks]
    assert "Strip the cable" in texts and "Tape the screens before inserting the cable" in texts
    result = run(source, tmp_path / "out")
    scale = 0.5
    ink = []
    for path in (source, result.outputs["pdf"]):
        render = _render(path, scale)
        width, height = render.width / scale, render.height / scale
        note = (width / 2, 0.0, width, height / 2)  # the note with its photos, untranslated
        ink.append(int(_dark(render, note, scale).sum()))
    assert ink[1] >= 0.95 * ink[0], ink  # was a third: the note's image was lost


def test_form_fields_and_layers_survive_translation(tmp_path: Path) -> None:
    """The translated PDF keeps the catalog entries its pages depend on: the interactive form
    (a LibreOffice form stays fillable, its fields named as before) and the layers an AutoCAD
    drawing's content belongs to (a layer off by default would otherwise show)."""
    form = corpus_file("pypdf/libreoffice-form.pdf")
    out = pypdf.PdfReader(run(form, tmp_path / "form").outputs["pdf"])
    assert set(out.get_fields() or {}) == set(pypdf.PdfReader(form).get_fields() or {})
    assert len(out.get_fields() or {}) == 8
    drawing = run(corpus_file("pypdf/AutoCad_Diagram.pdf"), tmp_path / "drawing")
    layers = pypdf.PdfReader(drawing.outputs["pdf"]).trailer["/Root"]["/OCProperties"]
    names = {g.get_object()["/Name"] for g in layers["/OCGs"]}
    assert "Visible Edges(ISO)" in names and len(names) == 5


def test_book_page_keeps_its_engravings_and_its_columns(tmp_path: Path) -> None:
    source = corpus_file("pypdf/Seige_of_Vicksburg_Sample_OCR.pdf")
    doc = parse_document(source, pages="3")
    texts = [b.text for b in doc.blocks]
    caption = [t for t in texts if t.startswith("Cannister shot is a tin cylinder with iron")]
    assert len(caption) == 1 and "six around. These bills are made of cast iron" in caption[0]
    column = [t for t in texts if t.startswith("There is a Confederate flag")]
    assert len(column) == 1 and column[0].endswith("side how we would worship them.")
    assert any(t.startswith("It is") for t in texts)  # the next paragraph, indented 0.7 em
    options = TranslateOptions(target="zh", formats=["pdf"], output_dir=str(tmp_path), pages="3")
    result = translate_file(source, options, model=EchoTranslator())
    assert not [b for b in result.document.blocks if b.meta.get("unfit") and len(b.text) > 10]
    scale = 1.0
    engravings = (80.0, 95.0, 175.0, 225.0)  # the canister beside the text column
    ink = [
        int(_dark(_render(path, scale, index), engravings, scale).sum())
        for path, index in ((source, 2), (result.outputs["pdf"], 0))
    ]
    assert ink[1] >= 0.9 * ink[0], ink  # was painted over


def test_pdf_without_a_cross_reference_table_is_written_from_a_repaired_copy(
    tmp_path: Path,
) -> None:
    source = tmp_path / "simple1.pdf"
    source.write_bytes(corpus_file("pdfminer.six/simple1.pdf").read_bytes())
    before = source.read_bytes()
    result = run(source, tmp_path / "out")
    assert source.read_bytes() == before  # repaired in memory, never on disk
    with pdfplumber.open(result.outputs["pdf"]) as out:
        drawn = "".join(c["text"] for c in out.pages[0].chars if "WenQuanYi" in c["fontname"])
    assert drawn.startswith("译") and "World" in drawn


def test_vertical_text_on_the_v_cmap_stays_where_it_was(tmp_path: Path) -> None:
    source = corpus_file("pdfminer.six/simple3.pdf")
    result = run(source, tmp_path / "out")
    with pdfplumber.open(source) as src, pdfplumber.open(result.outputs["pdf"]) as out:
        before = {(c["text"], round(c["x0"]), round(c["top"])) for c in src.pages[0].chars}
        kept = [c for c in out.pages[0].chars if "WenQuanYi" not in c["fontname"]]
        assert all(_shown(out.pages[0], c) for c in out.pages[0].chars)  # nothing pushed off
        # every glyph of the source that stays is where it was
        assert {(c["text"], round(c["x0"]), round(c["top"])) for c in kept} <= before


def test_standard_fonts_without_widths_are_measured_with_their_own_metrics(
    tmp_path: Path,
) -> None:
    pdf = corpus_file("rst2pdf/test_aafigure.pdf")
    options = TranslateOptions(target="zh", formats=["pdf"], output_dir=str(tmp_path), pages="3")
    result = translate_file(pdf, options, model=EchoTranslator())
    (lines,) = [b for b in result.document.blocks if b.text.startswith("The - and |")]
    assert not lines.keep and not lines.meta.get("unfit")
    with pdfplumber.open(result.outputs["pdf"]) as out:
        page = out.pages[0]
        assert off_page(page) == []
        # The paragraph's source glyphs, Courier signs included, went with it.
        source = [
            c
            for c in page.chars
            if "WenQuanYi" not in c["fontname"]
            and lines.bbox is not None
            and lines.bbox[1] <= c["top"] <= lines.bbox[3]
        ]
        assert source == []


def test_words_inside_a_photo_are_not_painted_over(tmp_path: Path) -> None:
    pdf = corpus_file("rst2pdf/too-tall-image-in-table.pdf")
    options = TranslateOptions(target="zh", formats=["pdf"], output_dir=str(tmp_path))
    result = translate_file(pdf, options, model=EchoTranslator())
    assert result.document.pages[0].ocr
    read = [b for b in result.document.blocks if b.meta.get("ocr")]
    assert any("7714" in b.text for b in read)  # the locomotive's number, and signs
    assert all(b.keep and b.keep_reason == "figure" for b in read)
    before = np.asarray(_render(pdf, 1.0).convert("L"), dtype=np.int16)
    after = np.asarray(_render(result.outputs["pdf"], 1.0).convert("L"), dtype=np.int16)
    assert before.shape == after.shape
    assert np.abs(before - after).max() <= 2  # not one patch on the photo


def test_a_caption_under_an_engraving_on_a_scan_is_translated() -> None:
    doc = parse_document(corpus_file("ocrmypdf/c03-29.pdf"))
    (caption,) = [b for b in doc.blocks if "WATSON" in b.text]
    assert caption.kind == "caption" and not caption.keep


def test_a_page_read_by_ocr_again_loses_its_stale_text_layer(tmp_path: Path) -> None:
    source = corpus_file("pypdf/indirect-rotation.pdf")
    options = TranslateOptions(target="zh", formats=["pdf"], output_dir=str(tmp_path), pages="1")
    result = translate_file(source, options, model=EchoTranslator())
    assert result.document.pages[0].layer_off
    with pdfplumber.open(result.outputs["pdf"]) as out:
        layer = "".join(c["text"] for c in out.pages[0].chars if "WenQuanYi" not in c["fontname"])
    # The old layer's words are gone, also those it put beside the print ("Operators" ends
    # past x = 600, printed at 528), and what is left is only kept units' text.
    assert "Operators" not in layer and "International" not in layer
    kept = "".join(b.text for b in result.document.blocks if b.keep).replace(" ", "")
    assert all(ch in kept for ch in layer.replace(" ", ""))


def test_text_above_or_below_a_figure_regions_image_is_translated(tmp_path: Path) -> None:
    """The layout model's figure box over an image (rst2pdf's test_issue_485_2.pdf) reaches up
    to take in the paragraph printed above it: "Paragraph 1" was kept as a picture's label.
    Lines wholly above or below a figure region's images are text; the caption stays one."""
    pdf = corpus_file("rst2pdf/test_issue_485_2.pdf")
    doc = parse_document(pdf)
    (above,) = [b for b in doc.blocks if b.text == "Paragraph 1"]
    assert above.meta["region"] == "figure" and not above.keep
    (caption,) = [b for b in doc.blocks if b.text == "Figure 1"]
    assert caption.kind == "caption"
    result = run(pdf, tmp_path / "out")
    with pdfplumber.open(result.outputs["pdf"]) as out:
        page = out.pages[0]
        drawn = [c for c in page.chars if "WenQuanYi" in c["fontname"]]
        source = [c for c in page.chars if "WenQuanYi" not in c["fontname"]]
        assert len(page.images) == 1  # the picture itself is untouched
    assert any(c["top"] < 95 for c in drawn)  # translated in place, above the image
    assert not source  # no English left: "Paragraph 1", the caption and "Paragraph 2"
    # A caption under an image, printed without "Figure N" (test_figure_alignment.pdf).
    aligned = parse_document(corpus_file("rst2pdf/test_figure_alignment.pdf"), pages="1")
    assert [b.keep for b in aligned.blocks if b.text == "The caption."] == [False] * 3


def test_a_sentence_under_a_vector_drawing_is_translated() -> None:
    """rst2pdf's test_issue_238.pdf: a drawing in vector curves, the model's figure box over
    it and the sentence printed under it. Short labels of a drawing stay as drawn; a line of
    eight words or more is a sentence, and was kept in English."""
    doc = parse_document(corpus_file("rst2pdf/test_issue_238.pdf"))
    (line,) = [b for b in doc.blocks if b.text.startswith("The above image should be")]
    assert line.meta["region"] == "figure" and not line.keep


def test_a_title_beside_a_logo_is_translated() -> None:
    """The layout model calls the whole first page of a crash report a figure (it holds a
    logo and a drawing of the crash). Its title printed beside the logo ("TRAFFIC CRASH
    REPORT") and the note beside it were kept in English as the pictures' labels; rst2pdf's
    "Shrunken image:" beside its image too. Lines of two words or more that touch none of a
    region's images are text."""
    crash = parse_document(corpus_file("pdfreader/example-text-crash-report.pdf"), pages="1")
    by_text = {b.text: b for b in crash.blocks}
    for text in ("TRAFFIC CRASH REPORT", "*DENOTES MANDATORY FIELD FOR SUPPLEMENT REPORT"):
        assert by_text[text].meta["region"] == "figure" and not by_text[text].keep, text
    jpg = parse_document(corpus_file("rst2pdf/test_jpg_scaling.pdf"))
    assert [b.keep for b in jpg.blocks if b.text in ("Shrunken image:", "Enlarged image:")] == [
        False,
        False,
    ]


def test_an_underscore_drawn_as_a_rule_joins_its_identifier(tmp_path: Path) -> None:
    """TeX sets "\\_" in its text fonts as a short rule, not a glyph, so the text layer of a
    texinfo manual (libtasn1's, as Debian ships it) reads "asn1 bit der" for the function
    "asn1_bit_der": prose to the keep rules, nonsense to a model. Built here the way TeX
    draws it: the letters as text, the underscores as 4.4 pt rules on the baseline between
    them; an underline under a whole word is no underscore."""
    from reportlab.pdfgen import canvas

    pdf = tmp_path / "tex.pdf"
    c = canvas.Canvas(str(pdf), pagesize=(300, 200))
    c.setFont("Times-Bold", 12)
    x = 40.0
    for i, part in enumerate(("asn1", "bit", "der")):
        if i:
            c.setLineWidth(0.4)
            c.line(x + 1.0, 149.2, x + 5.4, 149.2)
            x += 6.5
        c.drawString(x, 150, part)
        x += c.stringWidth(part, "Times-Bold", 12)
    c.setFont("Times-Roman", 10)
    c.drawString(40, 100, "It must be different.")
    start = 40 + c.stringWidth("It must ", "Times-Roman", 10)
    c.line(start, 98.8, start + c.stringWidth("be", "Times-Roman", 10), 98.8)
    c.showPage()
    c.save()
    doc = parse_document(pdf)
    texts = [b.text for b in doc.blocks]
    assert "asn1_bit_der" in texts
    assert "It must be different." in texts
    mark_keep(doc.blocks, "zh")
    assert [b.keep_reason for b in doc.blocks if b.text == "asn1_bit_der"] == ["code"]
