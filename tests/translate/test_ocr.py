"""Scanned pages: RapidOCR lines become units (word boundaries restored, colours sampled), the
``--ocr`` modes, the real scans of the corpus, and knowledge-base ingestion of a scanned PDF."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pdfplumber
import pytest
from typer.testing import CliRunner

from llmapps.chat.kb.loaders import load_file
from llmapps.cli import app
from llmapps.ocr import latin_punctuation, restore_spaces
from llmapps.translate.paragraphs import split_bullet, with_bullet
from llmapps.translate.parsers import parse_document
from llmapps.translate.parsers.units import MARKER
from llmapps.translate.writers.pdf import translated_pdf
from tests.translate import layout_pdfs as L
from tests.translate.layout_checks import pseudo_translate

SCAN_LINES = [
    "The quarterly report shows strong growth.",
    "Sales rose in every region this year.",
    "Invoice number 4471 was paid in full.",
]


def test_restore_spaces_on_what_the_recognizer_reads() -> None:
    # Strings as RapidOCR's bundled model read linn.pdf and francais.pdf (corpus).
    assert restore_spaces("TheLinnSequenceris a state-of-the-art tool") == (
        "The Linn Sequencer is a state-of-the-art tool"
    )
    assert restore_spaces("FORWARD,REWIND,andLOCATEcontrols.") == (
        "FORWARD, REWIND, and LOCATE controls."
    )
    assert restore_spaces("extremelypowerful,yetamazingly simple") == (
        "extremely powerful, yet amazingly simple"
    )
    # Other languages are left as read rather than cut into English-looking pieces.
    assert restore_spaces("blondquifumesursonile") == "blondquifumesursonile"
    assert restore_spaces("Portezcevieuxwhiskyaujuge") == "Portezcevieuxwhiskyaujuge"
    assert restore_spaces("ambigue diminue") == "ambigue diminue"
    assert restore_spaces("international 1,234.5") == "international 1,234.5"


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return L.scanned_text(tmp_path_factory.mktemp("scan") / "scan.pdf", SCAN_LINES)


def test_scanned_page_becomes_units(scan: Path) -> None:
    doc = parse_document(scan)
    page = doc.pages[0]
    assert page.ocr and not page.scanned and page.blocks
    text = " ".join(b.text for b in page.blocks)
    for line in SCAN_LINES:
        assert line.rstrip(".") in text  # every line read, spaces intact
    for block in page.blocks:
        assert block.meta["ocr"] is True and block.bbox
        x0, top, x1, bottom = block.bbox
        assert 0 <= x0 < x1 <= page.width and 0 <= top < bottom <= page.height
        assert min(block.meta["background"]) > 0.9  # white paper
        assert max(block.meta["color"]) < 0.4  # black ink
    # never: the page is reported, not read; always: same as auto for an image-only page.
    never = parse_document(scan, ocr="never")
    assert never.scanned_pages == [1] and not never.blocks


def test_text_pages_are_read_by_ocr_only_when_asked(tmp_path: Path) -> None:
    path = L.tally_form(tmp_path / "tally.pdf")
    auto = parse_document(path)
    assert not auto.pages[0].ocr
    forced = parse_document(path, ocr="always")
    assert forced.pages[0].ocr
    assert "Precinct Tally Sheet" in [b.text for b in forced.blocks]


def test_real_scans_of_the_corpus() -> None:
    linn = parse_document(L.corpus_file("ocrmypdf/linn.pdf"))
    page = linn.pages[0]
    assert page.ocr and len(page.blocks) >= 10
    text = " ".join(b.text for b in page.blocks)
    assert "The Linn Sequencer is a state-of-the-art" in text
    assert "TheLinnSequencer" not in text
    assert all(b.bbox and b.bbox[2] <= page.width and b.bbox[3] <= page.height for b in page.blocks)
    french = parse_document(L.corpus_file("ocrmypdf/francais.pdf"))
    words = " ".join(b.text for b in french.blocks)
    assert "whisky" in words and "am big ue" not in words  # French never cut into English


def test_invisible_ocr_layer_over_a_scanned_chart_is_translated() -> None:
    """A scan with an invisible OCR text layer (ocrmypdf): the layout model calls the page a
    figure, but on a scan the figure is the page itself, so its OCR'd lines are units."""
    doc = parse_document(L.corpus_file("ocrmypdf/graph_ocred.pdf"))
    blocks = doc.pages[0].blocks
    assert not [b.text for b in blocks if b.keep_reason == "figure"]
    worded = [b for b in blocks if re.search(r"[A-Za-z]{4,}", b.text)]
    assert len(worded) >= 3 and not [b.text for b in worded if b.keep]
    pseudo_translate(doc)
    translated_pdf(doc)
    placed = [b for b in worded if not b.meta.get("unfit")]
    assert len(placed) >= 0.6 * len(worded)
    assert all(b.meta.get("patch") for b in placed)  # drawn over a patch hiding the print


def test_invisible_ocr_layer_units_cover_the_printed_words() -> None:
    """ocrmypdf's layer boxes on graph_ocred.pdf sit above the printed legend and end short of
    its words ("Oppose" ends 4 pt before its printed "e"): every legend entry must still be
    translated, drawn at the printed size (about 9 pt, not the layer's 15 pt) and leave no
    English behind."""
    doc = parse_document(L.corpus_file("ocrmypdf/graph_ocred.pdf"))
    worded = [b for b in doc.pages[0].blocks if re.search(r"[A-Za-z]{4,}", b.text)]
    pseudo_translate(doc)
    out = translated_pdf(doc)
    assert [b.text for b in worded if b.meta.get("unfit")] == []
    with pdfplumber.open(io.BytesIO(out)) as pdf:
        page = pdf.pages[0]
        words = page.extract_text()
        sizes = [c["size"] for c in page.chars if not c["text"].isascii()]
    assert not re.search(r"Oppose|Support|Percentage|note", words)
    assert sizes and max(sizes) <= 11.0


def test_cli_rejects_unknown_ocr_mode(scan: Path) -> None:
    result = CliRunner().invoke(app, ["translate", str(scan), "--to", "zh", "--ocr", "maybe"])
    assert result.exit_code != 0
    assert "unknown OCR mode 'maybe': use auto, always or never" in result.output


def test_knowledge_base_ingests_a_scanned_pdf(scan: Path) -> None:
    kind, sections = load_file(scan)
    assert kind == "pdf" and [s.location for s in sections] == ["p. 1"]
    assert "Invoice number 4471 was paid in full" in sections[0].text
    assert "quarterly report" in sections[0].text


def test_split_recognizer_returns_every_line_in_order(scan: Path) -> None:
    """Lines recognised on several threads come back exactly as one thread reads them."""
    import numpy as np
    import pypdfium2 as pdfium

    from llmapps.ocr import SplitRecognizer, _engine, ocr_image, render_scale

    pdf = pdfium.PdfDocument(str(scan))
    page = pdf[0]
    scale = render_scale(*page.get_size())
    image = page.render(scale=scale).to_numpy()[:, :, :3].copy()
    pdf.close()
    lines = ocr_image(image, scale)
    bgr = np.ascontiguousarray(image[:, :, ::-1])
    crops = [
        bgr[int(top * scale) : int(bottom * scale) + 1, int(x0 * scale) : int(x1 * scale) + 1]
        for x0, top, x1, bottom in (line.bbox for line in lines)
    ]
    crops = crops + crops[:1]  # an odd count: the shares differ in size
    engine = _engine()
    one = getattr(engine.text_rec, "_recognizer", engine.text_rec)
    alone, _ = one(crops)
    for threads in (2, 3):
        split, _ = SplitRecognizer(one, threads)(crops)
        assert [text for text, _score in split] == [text for text, _score in alone]
    assert any("Invoice number 4471" in text for text, _score in alone)


def test_full_width_marks_read_in_latin_text_become_ascii() -> None:
    # Lines as the bundled recognizer read typewritten and printed English (corpus).
    assert latin_punctuation("b。") == "b."
    assert (
        latin_punctuation("Items not included in AK-l20-2。") == "Items not included in AK-l20-2."
    )
    assert (
        latin_punctuation("play in perfect sync（unless you") == "play in perfect sync (unless you"
    )
    assert latin_punctuation("section(verse, chorus, etc.）in individual") == (
        "section(verse, chorus, etc.) in individual"
    )
    assert restore_spaces(latin_punctuation("laurier，kruidnagel，zout")) == (
        "laurier, kruidnagel, zout"
    )
    # A line in Chinese keeps its own marks; full-width letters and digits are plain ones.
    assert latin_punctuation("价格（元）。") == "价格（元）。"
    assert latin_punctuation("ＡＫ－１２０") == "AK-120"


def test_a_damaged_scan_that_viewers_open_is_read_and_its_items_keep_their_labels() -> None:
    """pdfminer.six's 175.pdf numbers its cross-reference table from 1, so pdfminer finds no
    page; pdfium, pypdf and viewers show two typewritten pages. It is read through pypdf's
    repair, and the OCR'd item labels ("b。" as read) are labels again.

    A typewritten label set a tab left of its item reads as a line of its own, a hair lower
    than the item's first line: it sorted between the item's lines and cut the item in two.
    It now starts its item, whose lines are one unit; the label is split off before the model
    and drawn first again, where it was printed."""
    doc = parse_document(L.corpus_file("pdfminer.six/175.pdf"), pages="1-2")
    assert doc.page_count == 2 and doc.pages[0].ocr
    texts = [b.text for b in doc.blocks]
    assert not [t for t in texts if re.search(r"[\u3001\u3002\uff08\uff09\uff0c]", t)]
    assert not [t for t in texts if MARKER.match(t)]  # no label stands alone
    assert (
        "a. The 6.00x6 tires and the extended nose fork (702067-501) must be installed in "
        "conjunction. Neither item may be installed without the other."
    ) in texts
    # Page 2's steps, each whole: "b." had cut "... to the strut.swivel," from "place the
    # thrust bearing ...", and "e." its two lines apart.
    steps = [t for t in texts if re.match(r"[a-e]\. ", t)]
    assert any(
        t.startswith("b. Apply general purpose grease") and "thrust bearing" in t for t in steps
    )
    assert any(
        t.startswith("e. Install one (1)") and t.endswith("cotter pin insertion.") for t in steps
    )
    assert "1. Main Gear" in texts and "2. Nose Gear" in texts
    pseudo_translate(doc)
    item = next(b for b in doc.blocks if b.text.startswith("a. The 6.00x6 tires"))
    assert item.translation and item.bbox is not None
    item.translation = with_bullet(item.text, split_bullet(item.text)[1].upper())
    with pdfplumber.open(io.BytesIO(translated_pdf(doc))) as out:
        line = sorted(
            (c for c in out.pages[0].chars if abs(c["top"] - item.bbox[1]) < 4),
            key=lambda c: c["x0"],
        )
    assert "".join(c["text"] for c in line[:2]) == "a."
    assert abs(line[0]["x0"] - item.bbox[0]) < 1.0
    # A long line whose end meets another line's end by chance is no flush-right line: its
    # translation starts where it did.
    (item,) = [b for b in doc.blocks if b.text.startswith("1.Installation of")]
    assert item.translation and item.bbox is not None
    with pdfplumber.open(io.BytesIO(translated_pdf(doc))) as out:
        drawn = [
            c
            for c in out.pages[0].chars
            if "WenQuanYi" in c["fontname"] and abs(c["top"] - item.bbox[1]) < 4
        ]
    assert drawn and abs(min(c["x0"] for c in drawn) - item.bbox[0]) < 1.0


def _words(text: str) -> list[str]:
    return [w for w in (re.sub(r"\W", "", word).lower() for word in text.split()) if w]


def test_ocr_of_a_born_digital_page_reads_the_words_of_its_text_layer() -> None:
    """A page whose text layer is known, read by OCR as a scan would be: most of its words
    are found, and most words read are right. Guards the recognizer's speed-ups (unpadded
    lines, rewritten graphs, the detection input's lookup table) against costing accuracy."""
    from collections import Counter

    from llmapps.ocr import ocr_pdf_page

    path = L.corpus_file("pdfminer.six/dmca.pdf")
    with pdfplumber.open(path) as pdf:
        truth = Counter(_words(pdf.pages[0].extract_text() or ""))
    lines, angle = ocr_pdf_page(str(path), 0)
    read = Counter(word for line in lines for word in _words(line.text))
    right = sum((truth & read).values())
    assert angle == 0 and sum(truth.values()) > 250
    assert right >= 0.92 * sum(truth.values())  # 94.8% on the machine that set this
    assert right >= 0.95 * sum(read.values())  # 97.1%


def test_detection_input_is_rapidocrs_own_to_the_bit() -> None:
    """The table lookup that replaced RapidOCR's float64 normalisation gives the detection
    model exactly the input RapidOCR would have, on a real scan."""
    import numpy as np
    import pypdfium2 as pdfium
    from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

    from llmapps.ocr import _engine, render_scale

    pdf = pdfium.PdfDocument(str(L.corpus_file("ocrmypdf/linn.pdf")))
    page = pdf[0]
    scale = render_scale(*page.get_size())
    bgr = page.render(scale=scale).to_numpy()[:, :, :3].copy()  # pdfium renders BGR
    pdf.close()
    ours = _engine().text_det.get_preprocess(max(bgr.shape[:2]))
    theirs = DetPreProcess(ours.limit_side_len, ours.limit_type, [0.5] * 3, [0.5] * 3)
    want = theirs(bgr)
    got = ours(bgr)
    assert got.dtype == want.dtype == np.float32 and got.shape == want.shape
    assert np.array_equal(got, want)


def test_ocr_columns_without_a_layout_region_are_read_as_paragraphs() -> None:
    """Two columns under a full-width list, on scans no layout region sorts: ocrmypdf's
    jbig2_baddevicen.pdf (the layout model takes the blurred page for one figure) and
    cardinal.pdf's page 2 (read sideways, where the upright regions do not apply). The two
    columns' lines sorted into one list alternated, so no line could join the next line of
    its own column: every printed line was translated alone. Gutters are now found band by
    band, and an OCR'd line's first word is measured as its share of the line, not as the
    whole line (which took every short heading for a wrapped line)."""
    for name, page in (("ocrmypdf/jbig2_baddevicen.pdf", "1"), ("ocrmypdf/cardinal.pdf", "2")):
        texts = [b.text for b in parse_document(L.corpus_file(name), pages=page).blocks]
        joined = [t for t in texts if t.startswith("To record a sequence, simply press RECORD")]
        assert joined and "then play your MIDI keyboard" in joined[0], (name, texts[:30])
        erase = [t for t in texts if t.startswith("To erase a wrong note")]
        assert erase and "the note to be erased" in erase[0], name
        assert "The INSERT/COPY function" not in joined[0], name  # the other column's
    # A short heading over its paragraph is no wrapped line (skew.pdf, a region per column).
    texts = [b.text for b in parse_document(L.corpus_file("ocrmypdf/skew.pdf")).blocks]
    assert "Creating a Song" in texts
    # A wrapped item's next line goes on after an opening bracket in lower case.
    linn = [b.text for b in parse_document(L.corpus_file("ocrmypdf/linn.pdf")).blocks]
    assert any(t.endswith("30frames per second, (even drop frame!)") for t in linn)


def test_ocr_column_lines_beside_the_other_columns_gaps_stay_in_their_paragraphs() -> None:
    """Two columns' lines seldom share baselines, so many OCR'd lines have a neighbour on
    their own side of the gutter only (beside the space around the other column's heading).
    A band of columns asked for text on both sides of each line, and such a line broke it:
    it was left out of its column and translated alone ("--existing notes are not erased
    while recording!", "unwanted sections."). Text on both sides is now asked of the band.

    A band needs a column of text on each side: marks in a scan's margin (175.pdf) made a
    band of the whole page, whose end cut a paragraph after its first line. And over a long
    band, OCR boxes padded by varying amounts narrow the gutter: poster.pdf's is 0.73 sizes."""
    texts = [
        b.text
        for b in parse_document(L.corpus_file("ocrmypdf/jbig2_baddevicen.pdf"), pages="1").blocks
    ]
    record = next(t for t in texts if t.startswith("To record a sequence"))
    assert record.endswith("--existing notes are not erased while recording!"), texts
    assert any(t.startswith("FAST FORWARD, REWIND, and LOCATE controls may be used") for t in texts)
    assert any(t.startswith("The INSERT/COPY") and t.endswith("unwanted sections.") for t in texts)
    # An item's last line after a bracket, its box read smaller: one unit (see _size_sway).
    assert any(t.endswith("30 frames per second, (even drop frame!)") for t in texts)
    poster = [b.text for b in parse_document(L.corpus_file("ocrmypdf/poster.pdf")).blocks]
    erase = next(t for t in poster if t.startswith("To erase a wrong note"))
    assert "when played back, it will be gone" in erase
    technology = next(t for t in poster if t.startswith("The technology you use"))
    assert "and edit while devoting your undivided attention" in technology
    notice = [
        b.text for b in parse_document(L.corpus_file("pdfminer.six/175.pdf"), pages="1").blocks
    ]
    wheel = next(t for t in notice if t.startswith("The original wheel fairings"))
    assert "Kit and must be removed if installed" in wheel


def test_a_text_region_found_twice_does_not_cut_a_list() -> None:
    """The layout model found linn.pdf's feature list whole (0.84) and its first items again
    as a region of their own (0.67). A line goes to the smallest region holding it, so the
    part cut the list: the last line of an item ("per disk!") fell in the whole region and
    was translated alone. A text region inside a larger, surer one is dropped; and though
    the OCR read the line 20% smaller than the item's first, it goes on mid-sentence."""
    for name in ("ocrmypdf/linn.pdf", "ocrmypdf/jbig2.pdf", "ocrmypdf/rotated_skew.pdf"):
        texts = [b.text for b in parse_document(L.corpus_file(name)).blocks]
        assert any(t.endswith("holds over 110,000 notes per disk!") for t in texts), name
        assert "per disk!" not in texts, name
