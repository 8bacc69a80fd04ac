"""A paragraph's shape kept in translation, on real documents: first-line indents, hanging
indents, and bold words inside a sentence.

Found by reading translated pages beside their originals:

- Every translated paragraph started flush left, so the indented first lines of the DMCA
  summary and a form's instructions, and the hanging lines of pypdf's "crazy ones" and of
  list items whose bullet OCR glued to the text, were lost. Numbered items ("2. 183 days
  ...") lost their number's place with them.
- A list item or a paragraph with a few bold words was cut where a line's majority turned
  from bold to plain: "Title I, the "WIPO Copyright ... Act of 1998," implements the WIPO" was
  one unit and "treaties." another, translated apart.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pdfplumber

from llmapps.translate.document import Block
from llmapps.translate.fonts import register_font
from llmapps.translate.parsers import parse_document
from llmapps.translate.parsers.units import Glyph, Word, untracked
from llmapps.translate.writers.layout import Widths, fit_size
from llmapps.translate.writers.pdf import layout_page, translated_pdf
from tests.translate.layout_checks import OUR_FONT, corpus_pdf, pseudo_translate


def _unit(blocks: list[Block], start: str) -> Block:
    (block,) = [b for b in blocks if b.text.startswith(start)]
    return block


def _drawn_lines(chars: list[dict[str, Any]], box: Any) -> list[float]:
    """The left edge of each drawn line of our glyphs inside ``box``, top to bottom."""
    inside = [
        c
        for c in chars
        if OUR_FONT in c["fontname"]
        and c["text"].strip()
        and box[0] - 1 <= c["x0"] < box[2]
        and box[1] - 2 <= c["top"] < box[3]
    ]
    lines: dict[int, float] = {}
    for c in sorted(inside, key=lambda c: c["top"]):
        key = next((k for k in lines if abs(k - c["top"]) < 2), round(c["top"]))
        lines[key] = min(lines.get(key, c["x0"]), c["x0"])
    return [lines[k] for k in sorted(lines)]


def test_indents_are_read_from_the_lines() -> None:
    dmca = parse_document(corpus_pdf("pdfminer.six/dmca.pdf"), pages="1").blocks
    assert _unit(dmca, "The Digital Millennium Copyright Act").meta["indent"] == 36.0
    crazy = parse_document(corpus_pdf("pypdf/crazyones.pdf"), pages="1").blocks
    assert _unit(crazy, "The ones who see things").meta["hang"] == 11.95
    # Lines set flush right or centred start anywhere: no indent.
    slides = parse_document(corpus_pdf("pdfminer.six/nlp2004slides.pdf"), pages="1").blocks
    right = _unit(slides, "Computer Science Department")
    assert right.meta["lines"] == 2
    assert "indent" not in right.meta and "hang" not in right.meta
    title = _unit(dmca, "THE DIGITAL MILLENNIUM")
    assert "indent" not in title.meta and "hang" not in title.meta


def test_a_translation_keeps_its_paragraphs_indents(tmp_path: Path) -> None:
    for name, start, step in (
        ("pdfminer.six/dmca.pdf", "The Digital Millennium Copyright Act", (36.0, 0.0)),
        ("pdfminer.six/dmca.pdf", "This memorandum summarizes", (36.0, 0.0)),
        ("pypdf/crazyones.pdf", "The ones who see things", (0.0, 11.95)),
    ):
        doc = parse_document(corpus_pdf(name), pages="1")
        pseudo_translate(doc)
        out = tmp_path / "out.pdf"
        out.write_bytes(translated_pdf(doc))
        block = _unit(doc.blocks, start)
        assert block.bbox is not None and not block.meta.get("unfit")
        with pdfplumber.open(out) as pdf:
            lefts = _drawn_lines(pdf.pages[0].chars, block.bbox)
        assert len(lefts) >= 2, start
        first, *rest = lefts
        assert abs(first - (block.bbox[0] + step[0])) < 1.0, start
        assert all(abs(left - (block.bbox[0] + step[1])) < 1.0 for left in rest), start


def test_an_indented_first_line_breaks_earlier() -> None:
    text = "one two three four five six seven eight nine ten eleven twelve"
    flush = fit_size(text, "Helvetica", 120, 100, 10, 10)
    indented = fit_size(text, "Helvetica", 120, 100, 10, 10, indent=40)
    hanging = fit_size(text, "Helvetica", 120, 100, 10, 10, hang=40)
    assert flush is not None and indented is not None and hanging is not None
    assert len(indented.lines[0]) < len(flush.lines[0])
    assert indented.lines[1:] != flush.lines[1:]
    assert hanging.lines[0] == flush.lines[0] and hanging.lines[1:] != flush.lines[1:]
    widths = Widths.of("Helvetica")
    assert all(widths.text(line) * 10 <= 80 for line in hanging.lines[1:])
    assert widths.text(indented.lines[0]) * 10 <= 80
    # A first line narrower than its first word still holds it: the size shrinks instead.
    assert fit_size("extraordinarily", "Helvetica", 100, 12, 10, 10, indent=90) is None


def test_bold_words_stay_inside_their_sentence() -> None:
    blocks = parse_document(corpus_pdf("pdfminer.six/dmca.pdf"), pages="1").blocks
    for start, end in (
        ("Title I, the", "implements the WIPO treaties."),
        ("Title II, the", "when engaging in certain types of activities."),
        ("Title V, the", "for the design of vessel hulls."),
        ("This memorandum summarizes", "to the text of the legislation itself."),
    ):
        assert _unit(blocks, start).text.endswith(end), start
    assert not [b for b in blocks if b.text in ("treaties.", "of protection for the design")]
    heading = _unit(blocks, "INTRODUCTION")
    assert heading.text == "INTRODUCTION"  # a bold heading stays apart from its paragraph


def _drawn_rows(chars: list[dict[str, Any]], box: Any) -> list[tuple[float, float]]:
    """(left, right) of each drawn line of our glyphs inside ``box``, top to bottom."""
    rows: dict[int, list[float]] = {}
    for c in sorted(chars, key=lambda c: c["top"]):
        if OUR_FONT not in c["fontname"] or not c["text"].strip():
            continue
        if not (box[0] - 2 <= c["x0"] and c["x1"] <= box[2] + 2):
            continue
        if not (box[1] - 2 <= c["top"] < box[3]):
            continue
        key = next((k for k in rows if abs(k - c["top"]) < 2), round(c["top"]))
        row = rows.setdefault(key, [c["x0"], c["x1"]])
        row[0], row[1] = min(row[0], c["x0"]), max(row[1], c["x1"])
    return [(rows[k][0], rows[k][1]) for k in sorted(rows)]


def test_lines_set_flush_right_or_centred_are_translated_so(tmp_path: Path) -> None:
    """A law firm's address in a pleading's footer is set flush right, a university's address
    under a paper's title is centred: the translation's lines end, or centre, where the
    source's did (before, they started at the unit's left edge)."""
    for name, start, align in (
        ("pdfreader/tutorial-example.pdf", "ZWICKER & ASSOCIATES", "right"),
        ("pdfminer.six/naacl06-shinyama.pdf", "715, Broadway", "centre"),
    ):
        doc = parse_document(corpus_pdf(name), pages="1")
        block = _unit(doc.blocks, start)
        assert block.meta["align"] == align
        pseudo_translate(doc)
        out = tmp_path / "out.pdf"
        out.write_bytes(translated_pdf(doc))
        assert block.bbox is not None and not block.meta.get("unfit")
        with pdfplumber.open(out) as pdf:
            rows = _drawn_rows(pdf.pages[0].chars, block.bbox)
        assert len(rows) >= 2, start
        x0, _, x1, _ = block.bbox
        for left, right in rows:
            if align == "right":
                assert abs(right - x1) < 1.5, start
            else:
                assert abs((left + right) / 2 - (x0 + x1) / 2) < 1.5, start
    # Justified lines of a scan, starting a few points apart, are no flush-right text.
    scan = parse_document(corpus_pdf("pypdf/Seige_of_Vicksburg_Sample_OCR.pdf"), pages="2")
    assert not [b for b in scan.blocks if b.meta.get("align") == "right"]


def test_a_stack_of_centred_lines_is_translated_centred(tmp_path: Path) -> None:
    """GeoBase's cover centres its address block, one unit a line, a little off the page's
    middle ("Téléphone : ...", "URL : ..."); two lines start within a point of another
    line's start by chance. Those translations started at their source's left edge, so the
    block came out ragged. A line sharing its middle with two lines near it is centred on it;
    a field list whose middles meet once by chance ("Author: ..." under "Date: ...", rst2pdf)
    and a form's column of left-set labels (f1040nr) are not."""
    doc = parse_document(corpus_pdf("pypdf/GeoBase_NHNC1_Data_Model_UML_EN.pdf"), pages="1")
    pseudo_translate(doc)
    out = tmp_path / "geobase.pdf"
    out.write_bytes(translated_pdf(doc))
    with pdfplumber.open(out) as pdf:
        chars = pdf.pages[0].chars
    for start in ("Téléphone :", "URL :", "Gouvernement du Canada"):
        block = _unit(doc.blocks, start)
        assert block.bbox is not None and not block.meta.get("unfit")
        (row,) = _drawn_rows(chars, block.bbox)
        x0, _, x1, _ = block.bbox
        assert abs((row[0] + row[1]) / 2 - (x0 + x1) / 2) < 1.5, start
        assert row[0] > x0 + 5, start  # the translation is shorter: it starts further in

    for name, start in (
        ("rst2pdf/test_issue_288.pdf", "Author: Jani Averbach"),
        ("pdfminer.six/f1040nr.pdf", "No. of children on"),
    ):
        doc = parse_document(corpus_pdf(name), pages="1")
        pseudo_translate(doc)
        block = _unit(doc.blocks, start)
        layout = layout_page(doc.pages[0], None, register_font())
        (placement,) = [p for p in layout.placements if p.block is block]
        assert block.bbox is not None and placement.rotation == 0
        assert abs(placement.lines[0].u - block.bbox[0]) < 0.5, start  # set from its start


def test_a_numbered_paragraph_runs_on_over_a_capital() -> None:
    """A pleading's numbered paragraph wraps before a capitalised word ("... sufficient to
    allow this" / "Court to maintain ..."); in a column that reads as a list that line was
    cut off as a unit of its own. A line of names in title case, or the next line item of a
    form's cell, still starts anew."""
    pleading = parse_document(corpus_pdf("pdfreader/tutorial-example.pdf"), pages="1").blocks
    item = _unit(pleading, "2. Defendant(s)")
    assert item.text.endswith("jurisdiction and venue of Plaintiff’s claims.")
    assert not [b for b in pleading if b.text.startswith("Court to maintain")]
    crash = parse_document(corpus_pdf("pdfreader/example-text-crash-report.pdf"), pages="1")
    assert _unit(crash.blocks, "12 - SHARED USE").text == "12 - SHARED USE PATHS OR TRAILS"
    form = parse_document(corpus_pdf("pdfminer.six/f1040nr.pdf"), pages="2").blocks
    assert _unit(form, "Additional tax on IRAs").text.endswith("Attach Form 5329 if required")
    assert _unit(form, "Transportation tax").text == "Transportation tax (see page 22)"


def test_letter_spaced_words_read_as_words() -> None:
    """Side labels and headings set with wide tracking ("O W N E R" on the crash report,
    "H e l l o" in pdfminer's simple1.pdf) read as the words they spell."""
    crash = parse_document(corpus_pdf("pdfreader/example-text-crash-report.pdf"), pages="2")
    texts = [b.text for b in crash.blocks]
    for word in ("OWNER", "VEHICLE", "EVENTS (s)", "DAMAGE", "TRAFFIC"):
        assert word in texts
    assert not [t for t in texts if re.search(r"(?:\b[A-Z] ){3}", t)]
    simple = parse_document(corpus_pdf("pdfminer.six/simple1.pdf")).blocks
    assert {b.text for b in simple} == {"Hello", "World"}


def _letters(text: str, step: float, size: float = 10.0) -> list[Word]:
    """One word per letter of ``text``, ``step`` apart; a space adds a word's gap."""
    words, x = [], 0.0
    for ch in text:
        if ch == " ":
            x += 2 * step
            continue
        words.append(Word([Glyph(ch, x, 0.0, x + 0.6 * size, size, size)]).finish())
        x += 0.6 * size + step
    return words


def test_only_evenly_and_closely_spaced_letters_are_joined() -> None:
    assert untracked(_letters("SOLVED BY", 2.0)) == ["SOLVED", "BY"]
    assert untracked(_letters("ABC", 2.0)) == ["A", "B", "C"]  # too few to be a word
    assert untracked(_letters("ABCD", 12.0)) == ["A", "B", "C", "D"]  # options, spread out


def test_a_ragged_line_that_stops_mid_sentence_runs_on() -> None:
    """An OCR layer's lines end where the scan's ink does (pikepdf's sandwich.pdf): "...
    Another way is to record" ended short of the column's widest line, so "each basic
    section (verse, chorus, etc.) ..." was translated apart from its sentence. A form's next
    sub-line ("b Routing number") still starts anew."""
    sandwich = parse_document(corpus_pdf("pikepdf/sandwich.pdf")).blocks
    song = _unit(sandwich, "One way to create a song")
    assert "Another way is to record each basic section (verse, chorus" in song.text
    assert not [b for b in sandwich if b.text.startswith("each basic section")]
    form = parse_document(corpus_pdf("pdfminer.six/f1040nr.pdf"), pages="2").blocks
    assert _unit(form, "Amount of line 71 you want refunded").text.endswith("check here")
    assert [b for b in form if b.text == "b Routing number"]
