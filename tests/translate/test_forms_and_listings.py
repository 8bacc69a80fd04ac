"""Filled forms and program listings from documents the translator had not seen, found by
running other packages' sample PDFs through the layout bench:

- A filled US Department of Labor form (pdfreader's example-form.pdf) hides "*Required Field"
  after every label in 1 pt white text for screen readers. It set the labels' size (the median
  glyph), so "Job Title *" came out as a 1 pt dash, and it split filled-in dates.
- The same form's check marks (ZapfDingbats, whose check mark reads as "4") and Wingdings boxes
  were joined to the labels beside them and translated away: the form lost what was ticked.
- Its opening paragraph holds an underlined link: the underline cut the paragraph's box, and
  the translation was squeezed into the part of the box right of it.
- rst2pdf's code listings (source.pdf): Pygments paints a box behind each token in the
  listing's background colour, pdfplumber's table finder took those boxes for a grid, and every
  token ("import", "os") became a table cell translated on its own.
- The Labor Department and IRS forms lay a field's blank (spaces, or underscores under a typed
  value) over the text: read along the line, the labels and values fell apart letter by letter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pdfplumber

from llmapps.translate.document import CODE, HEADING, MICRO_TEXT, SYMBOL_FONT
from llmapps.translate.paragraphs import keep_reason, looks_like_code, mark_keep
from llmapps.translate.parsers import parse_document
from llmapps.translate.service import TranslateOptions, TranslateResult, translate_file
from tests.translate.layout_pdfs import corpus_file
from tests.translate.translate_fakes import EchoTranslator

FORM = "pdfreader/example-form.pdf"
LISTINGS = "rst2pdf/source.pdf"


def run(path: Path, out: Path, pages: str = "1") -> TranslateResult:
    options = TranslateOptions(target="zh", formats=["pdf", "md"], output_dir=str(out), pages=pages)
    return translate_file(path, options, model=EchoTranslator())


def _ours(page: Any) -> list[dict[str, Any]]:
    """The glyphs we drew (the CJK font): the translations."""
    return [c for c in page.chars if "WenQuanYi" in c["fontname"]]


def test_hidden_micro_text_neither_sizes_a_label_nor_is_left_behind(tmp_path: Path) -> None:
    pdf = corpus_file(FORM)
    doc = parse_document(pdf, pages="1")
    assert not any("Required Field" in b.text for b in doc.blocks)
    (title,) = [b for b in doc.blocks if b.text == "1. Job Title *"]
    assert title.size >= 8  # was 1 pt: the hidden words outnumbered the label's glyphs
    # The filled-in value beside it is its own unit, not glued to the label.
    assert any(b.text == "Nursery worker" for b in doc.blocks)

    result = run(pdf, tmp_path / "out")
    with pdfplumber.open(pdf) as src, pdfplumber.open(result.outputs["pdf"]) as out:
        hidden_before = [c for c in src.pages[0].chars if c["size"] < MICRO_TEXT]
        hidden_after = [c for c in out.pages[0].chars if c["size"] < MICRO_TEXT]
        drawn = _ours(out.pages[0])
    assert len(hidden_before) > 300
    # What stays is only beside units that kept their source text.
    assert len(hidden_after) < 0.1 * len(hidden_before)
    # The label's translation is drawn at a readable size where the label was.
    label = [c for c in drawn if 230 <= c["top"] <= 245 and c["x0"] < 125]
    assert label and min(c["size"] for c in label) >= 6


def test_check_marks_and_boxes_stay_as_drawn(tmp_path: Path) -> None:
    pdf = corpus_file(FORM)
    result = run(pdf, tmp_path / "out")

    def marks(page: Any) -> list[tuple[str, int, int]]:
        symbols = [c for c in page.chars if SYMBOL_FONT.search(c["fontname"])]
        return sorted((c["text"], round(c["x0"]), round(c["top"])) for c in symbols)

    with pdfplumber.open(pdf) as src, pdfplumber.open(result.outputs["pdf"]) as out:
        before, after = marks(src.pages[0]), marks(out.pages[0])
    assert len(before) >= 2  # the ticked "Yes" and "Seasonal"
    assert after == before
    assert not any(b.text.startswith("4 ") for b in result.document.blocks)


def test_an_underlined_link_does_not_squeeze_its_paragraph(tmp_path: Path) -> None:
    pdf = corpus_file(FORM)
    result = run(pdf, tmp_path / "out")
    (intro,) = [b for b in result.document.blocks if b.text.startswith("Please read and review")]
    assert intro.bbox is not None and not intro.meta.get("unfit")
    with pdfplumber.open(result.outputs["pdf"]) as out:
        band = [
            c
            for c in _ours(out.pages[0])
            if intro.bbox[1] - 2 <= c["top"] and c["bottom"] <= intro.bbox[3] + 2
        ]
    assert band
    # Drawn across the paragraph's own width, from its left edge (it began right of the
    # underlined link, 160 pt in, at a smaller size).
    assert min(c["x0"] for c in band) < intro.bbox[0] + 10
    assert max(c["x1"] for c in band) > intro.bbox[2] - 60
    assert min(c["size"] for c in band) >= 0.85 * intro.size


def test_a_highlighted_code_listing_stays_code(tmp_path: Path) -> None:
    pdf = corpus_file(LISTINGS)
    doc = parse_document(pdf, pages="1")
    mark_keep(doc.blocks, "zh")
    texts = {b.text: b for b in doc.blocks}
    # Each line of code is one unit, kept; none is cut into tokens.
    for line in ("import os, sys", "value = os.getenv(name)", "echo Building...", "fi"):
        assert texts[line].kind == CODE and texts[line].keep, line
    assert not any(b.text in ("import", "os", ",") for b in doc.blocks)
    # The headings between the listings are translated as headings.
    for heading in ("python", "apache", "shell"):
        assert texts[heading].kind == HEADING and not texts[heading].keep

    result = run(pdf, tmp_path / "out")
    with pdfplumber.open(pdf) as src, pdfplumber.open(result.outputs["pdf"]) as out:
        code_before = [w["text"] for w in src.pages[0].extract_words() if w["top"] > 100]
        code_after = [w["text"] for w in out.pages[0].extract_words() if w["top"] > 100]
        drawn = "".join(c["text"] for c in _ours(out.pages[0]))
    headings = {"python", "apache", "shell"}
    # Every word of the listings is still there, as printed (the translations aside).
    assert sorted(w for w in code_after if "译" not in w) == sorted(
        w for w in code_before if w not in headings
    )
    assert "python" in drawn and "import" not in drawn
    # The Markdown output has each listing as one fenced block, indented as printed.
    markdown = result.outputs["md"].read_text()
    assert "```\nimport os, sys\ndef get_env_var(name: str) -> str:\n" in markdown
    assert "<VirtualHost *:80>\n  ServerName my.machine.local\n" in markdown


def test_a_listing_inside_prose_neither_cuts_the_prose_nor_is_translated() -> None:
    """rst2pdf's test_emphasize_lines.pdf: a paragraph, two listings with line numbers and the
    sentences between them share one region. The listings' many short lines made the whole
    column read as a list, so the two-line paragraph above them was cut in two, and the
    Python listing (line numbers first) did not read as code: its lines were translated."""
    doc = parse_document(corpus_file("rst2pdf/test_emphasize_lines.pdf"), pages="1")
    mark_keep(doc.blocks, "zh")
    texts = {b.text: b for b in doc.blocks}
    (lead,) = [b for b in doc.blocks if b.text.startswith("The following code-blocks")]
    assert lead.text.endswith("and so the effect is to highlight the selected lines.")
    for line in ("1 number = 0", "3 if number > 0:", "5 elif number == 0:", "7 else:"):
        assert texts[line].kind == CODE and texts[line].keep, line
    # Preformatted text that is not code stays translatable.
    assert not texts["2 or not to be"].keep
    assert not texts["For this block of Python, lines 1, 2, 4, 6, 8, 9 and 10 are dimmed:"].keep


def test_numbered_paragraphs_of_a_complaint_flow_over_their_lines() -> None:
    """pdfreader's example-font.pdf, a legal complaint: numbered paragraphs and short lines
    ("follows:") made its column read as a list, and each printed line of a paragraph was
    translated alone. A line that breaks off mid-sentence ("... handheld device in") goes on
    into the next when that one starts in lower case."""
    doc = parse_document(corpus_file("pdfreader/example-font.pdf"), pages="1-2")
    texts = [b.text for b in doc.blocks]
    assert (
        "In driving distracted while using a cellphone or handheld device in violation of "
        "ORS 811.507; and" in texts
    )
    assert any(
        t.startswith("operated by her husband and at a complete stop at the intersection")
        and "Defendant, who was directlybehind plaintiff, collided with plaintiff" in t
        for t in texts
    )


def test_code_is_told_from_prose_by_its_content() -> None:
    code = [
        "elif number == 0:",
        "else:",
        "for name, value in items():",
        "except ValueError as error:",
        "if f(x):",
        "export PATH=/usr/bin",
        "if n > 0:",
        "#! /bin/bash",
        "fi",
        "1 number = 0\n2\n3 if number > 0:\n4 print(number)",
        # a grammar (libtasn1's manual): its operators, which prose does not spell
        "Version ::= INTEGER",
        "DEFINITIONS <EXPLICIT or IMPLICIT> TAGS ::=",
        "count := count + 1",
        # the shared-mime-info spec: a hex dump, format lines, a MIME type, a path
        "00000020  00 05 64 69 66 66 09 0a  3e 30 3d 00 04 2a 2a 2a  |..diff..>0=..***|",
        'namespaceURI " " localName " " MIME-Type "\\n"',
        "application/msword:x-office-document",
        "/etc/mime.types",
    ]
    prose = [
        "for example:",
        "if necessary:",
        "except as follows:",
        "if the Court (in its ruling) said:",
        "for instance in the cases below:",
        "export controls were",
        "1 To be\n2 or not to be\n3 that is the question",
        "A. I went home -- I mean, to the office.",
        "THE COURT: Sustained.",
        "Settings -> Preferences -> Fonts",
        'He said "yes" and "no" to the court.',
        "and/or",
        "A. 10:30, I think.",
    ]
    assert [t for t in code if not looks_like_code(t)] == []
    assert [t for t in prose if looks_like_code(t)] == []


def test_every_typewriter_face_is_monospace_to_the_keep_rules() -> None:
    """TeX's typewriter faces (cmtt, ectt, sftt, txtt), Nimbus Mono and Source Code are
    monospace: a type name set in one ("INTEGER;", "OBJECT IDENTIFIER;" in libtasn1's manual,
    a texinfo PDF) is code, kept. The keep rules knew only Courier-like names while the
    parser knew cmtt too, so such a line was a listing to one and prose to the other."""
    for font in ("AKEQKS+CMTT10", "ABCDEF+SFTT1000", "XYZ+NimbusMonoPS-Regular", "SourceCodePro"):
        for text in ("INTEGER;", "OBJECT IDENTIFIER;", "Version ::= INTEGER"):
            assert keep_reason(text, font=font) == "code", (font, text)
    assert keep_reason("OBJECT IDENTIFIER;", font="PWNLKT+CMR10") == ""
    # Prose in a typewriter face is still translated.
    assert keep_reason("The parser is case sensitive.", font="AKEQKS+CMTT10") == ""


def test_a_filled_in_value_is_read_whole_and_apart_from_its_label() -> None:
    """The form's values are typed in another font and size on a baseline of their own, over
    the label's trailing spaces: the spaces split the values ("1 0/22/2019", "7 40-587-2178",
    "G ibson"), and a value after its label, on its line or the next, was one unit with it,
    so the value was translated and moved with the label's words."""
    doc = parse_document(corpus_file(FORM), pages="1-2")
    texts = [b.text for b in doc.blocks]
    assert "5. Begin Date *" in texts and "10/22/2019" in texts
    # A value typed on the line under its label, in the label's ruled cell, is its own part.
    for label, value in (
        ("10. Telephone number *", "740-587-2178"),
        ("1. Contact’s last (family) name *", "Gibson"),
        ("1. Legal business name *", "Timbuk II Plant Company Inc."),
    ):
        assert label in texts and value in texts, label
    assert not [t for t in texts if "1 0/22" in t or "7 40-" in t or "G ibson" in t]
    # A space glyph of the same font stays a space, even set tight against a bold word
    # (the IRS form's "the amount you overpaid").
    irs = [
        b.text for b in parse_document(corpus_file("pdfminer.six/f1040nr.pdf"), pages="2").blocks
    ]
    assert any("This is the amount you overpaid" in t for t in irs)
    assert "Amount of line 71 you want refunded to you. If Form 8888 is attached, check here" in irs


def test_each_run_of_a_regions_code_is_a_listing_when_its_code_reads_as_code_together() -> None:
    """rst2pdf's test_issue_288.pdf sets C declarations between sentences: one run of them
    reads as code, a run that wraps a declaration over lines ("classObj *c, int tile," /
    "long record);") does not on its own. Read together they are code, and every run of
    them is a listing: its lines are kept, not translated."""
    doc = parse_document(corpus_file("rst2pdf/test_issue_288.pdf"), pages="2")
    for line in ("int tile, long record);", "classObj *c, int tile,", "long record);"):
        (block,) = [b for b in doc.blocks if b.text == line]
        assert block.kind == CODE, line


def test_a_blank_of_spaces_laid_over_a_label_does_not_split_its_words() -> None:
    """The Labor Department form lays each field's blank, a run of spaces in the label's own
    font and size, over the label: sorted along the line, a space lies inside every other
    letter ("1 3 . E x t e n s io n"). The IRS form does the same to its line numbers and
    words ("1 0a", "Y ourself"). A word space set tight, and a font with broken widths
    (every glyph 10 pt wide, so its letters overlap across real spaces), stay as they were."""
    form = [b.text for b in parse_document(corpus_file(FORM), pages="2").blocks]
    for label in ("3. Middle name(s) *", "11. Province", "13. Extension", "14. E-Mail address"):
        assert label in form, label
    irs = [
        b.text for b in parse_document(corpus_file("pdfminer.six/f1040nr.pdf"), pages="1").blocks
    ]
    for text in ("Yourself", "10a Ordinary dividends", "11", "Please print or type."):
        assert text in irs, text
    assert not [t for t in irs if t in ("1 1", "Y ourself", "1 0a Ordinary dividends")]
    cmyk = [b.text for b in parse_document(corpus_file("ocrmypdf/cmyk.pdf"), pages="1").blocks]
    assert "Pure Magenta" in cmyk and "Pure Black (K = 100)" in cmyk


def test_underscores_under_a_typed_value_are_the_blank_not_its_text() -> None:
    """The form's footer types its values over a blank drawn as underscores in the label's
    font: read along the line that was "Case Number: _H_-_3_0_0-_1_9_23_1_-_82_8_2_0_5___",
    which no model can translate. The blank's underscores go; a blank glued to a label
    ("Date:_______ Page 1 of 1") is cut off and left as drawn."""
    form = [b.text for b in parse_document(corpus_file(FORM), pages="2").blocks]
    assert "Case Number: H-300-19231-828205" in form
    assert "Case Status: CERTIFIED" in form
    assert "Validity Period: 10/22/2019" in form and "to 08/22/2020" in form
    assert not [t for t in form if "_" in t]
    header = [b.text for b in parse_document(corpus_file("rst2pdf/test_issue_307.pdf")).blocks]
    assert "Date:" in header and "Page 1 of 1" in header


def test_command_line_options_are_kept_and_xml_in_nimbus_mono_is_code() -> None:
    """A --help listing's options ("-b, --benchmark", libtasn1's manual) were translated as
    words; the shared-mime-info spec sets its XML example in Nimbus Mono ("NimbusMonL"),
    which no monospace pattern knew, so its elements were translated one by one."""
    for option in ("-b, --benchmark", "-t, --no-time-strict", "--output=FILE", "-o FILE"):
        assert keep_reason(option) == "code", option
    for prose in ("- item one", "-- INCORRECT", "-codigo-"):
        assert keep_reason(prose) != "code", prose
    # rst2pdf's option list: the options stay, their descriptions are translated.
    doc = parse_document(corpus_file("rst2pdf/test_option_list.pdf"))
    mark_keep(doc.blocks, "zh")
    keep = {b.text: b.keep for b in doc.blocks}
    for option in (
        "-a",
        "-b file",
        "--input=file",
        "-x, -y, -z",
        "-1 file, --one=file, --two file",
    ):
        assert keep[option], option
    assert not keep["long options can also have arguments"]
    for line in ('<mime-type type="text/x-diff">', "<comment>Differences between files</comment>"):
        assert keep_reason(line, font="JNNPWA+NimbusMonL-Regu") == "code", line


def test_a_function_references_names_and_declarations_are_code() -> None:
    """libtasn1's function reference (texinfo): each entry's heading is the function's name
    ("asn1_bit_der") and its first line the C declaration, set in roman and italic, not in a
    monospace face; both were translated as prose."""
    for code in (
        "asn1_bit_der",
        "der_len:",
        "void asn1_bit_der (const unsigned char * str, int bit_len, unsigned char * der,",
        "int asn1_der_coding (asn1_node_const element, const char * name,",
        "int main(int argc, char **argv)",
        "unsigned char * der, int * der_len)",  # the declaration's next line
    ):
        assert keep_reason(code) == "code", code
    for prose in ("long story (see chapter 2)", "The e_mail field", "Void contracts (rare)"):
        assert keep_reason(prose) == "", prose
