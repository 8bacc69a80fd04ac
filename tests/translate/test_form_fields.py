"""A filled and redacted form translated whole (pdfreader's example-form.pdf, page 2): where
each translation lands against the form's cells, boxes and rules.

Found by reading the translated page beside the original:

- A cell holding only its label (the value was blacked out) was one unit spanning the cell,
  and the translation was set in the middle of the cell: down in the field, under the black
  box that redacts the value. Labels now stay at the top, and no translation is drawn over a
  dark box that is not its own text's ground.
- The form lays a blank of spaces over each label in an embedded font whose space is code 3,
  not 32. The writer took that run for text starting left of the label: it stayed on the
  page, kept the label's first glyphs ("3.") under the translation and pushed the
  translation right (or out: "13. Extension" was left in English).
- Underlined words ("Important Note", a link) left their underlines behind, under the
  middle of the translation or under nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pdfplumber
import pytest

from llmapps.translate.document import Block
from llmapps.translate.paragraphs import mark_keep, split_bullet, with_bullet
from llmapps.translate.parsers import parse_document
from llmapps.translate.service import TranslateOptions, TranslateResult, translate_file
from tests.translate.layout_pdfs import corpus_file
from tests.translate.translate_fakes import EchoTranslator

FORM = "pdfreader/example-form.pdf"


def run(out: Path, pages: str = "2") -> TranslateResult:
    options = TranslateOptions(target="zh", formats=["pdf"], output_dir=str(out), pages=pages)
    return translate_file(corpus_file(FORM), options, model=EchoTranslator())


def _ours(page: Any) -> list[dict[str, Any]]:
    """The glyphs we drew (the CJK font): the translations."""
    return [c for c in page.chars if "WenQuanYi" in c["fontname"]]


def _block(result: TranslateResult, start: str) -> Block:
    (block,) = [b for b in result.document.blocks if b.text.startswith(start)]
    return block


def _inside(char: dict[str, Any], box: Any, margin: float = 1.0) -> bool:
    return (
        box[0] - margin <= char["x0"]
        and char["x1"] <= box[2] + margin
        and box[1] - margin <= char["top"]
        and char["bottom"] <= box[3] + margin
    )


def _overlap(char: dict[str, Any], box: Any) -> bool:
    return (
        min(char["x1"], box[2]) - max(char["x0"], box[0]) > 0.5
        and min(char["bottom"], box[3]) - max(char["top"], box[1]) > 0.5
    )


def test_a_label_over_a_redacted_field_stays_at_the_top_and_off_the_black_box(
    tmp_path: Path,
) -> None:
    result = run(tmp_path / "out")
    with pdfplumber.open(corpus_file(FORM)) as src:
        black = [
            (r["x0"], r["top"], r["x1"], r["bottom"])
            for r in src.pages[1].rects
            if r["fill"]
            and r["non_stroking_color"] in (0, 0.0, (0,), [0])
            and min(r["width"], r["height"]) > 5
        ]
    assert len(black) == 3
    with pdfplumber.open(result.outputs["pdf"]) as out:
        ours = _ours(out.pages[0])
    assert not [c for c in ours for box in black if _overlap(c, box)]
    for label in ("12. Federal Employer", "14. Number of non-family", "15. Annual gross"):
        block = _block(result, label)
        assert block.bbox is not None and not block.meta.get("unfit"), label
        written = block.meta["text_box"]
        drawn = [c for c in ours if _inside(c, block.bbox)]
        assert drawn, label
        # Set where the label was printed, at the top of its cell, not in the field below.
        assert min(c["top"] for c in drawn) <= written[1] + 1.5, label
        assert max(c["bottom"] for c in drawn) <= written[3] + 2.5, label


def test_a_blank_of_spaces_over_a_label_goes_with_the_label(tmp_path: Path) -> None:
    result = run(tmp_path / "out")
    with pdfplumber.open(result.outputs["pdf"]) as out:
        page = out.pages[0]
        ours = _ours(page)
        source = [c for c in page.chars if "WenQuanYi" not in c["fontname"] and c["text"].strip()]
    for label in ("3. Middle name(s) *", "13. Extension", "14. E-Mail address"):
        block = _block(result, label)
        assert block.bbox is not None and not block.meta.get("unfit"), label
        box = block.bbox
        # The translation starts where the label did, and none of the label's glyphs stay.
        drawn = [c for c in ours if _inside(c, box, 2.0)]
        assert drawn and min(c["x0"] for c in drawn) < box[0] + 2, label
        assert not [c for c in source if _inside(c, box, 0.0)], label


def test_underlines_go_with_the_words_they_underlined(tmp_path: Path) -> None:
    result = run(tmp_path / "out")
    notes = [_block(result, "Important Note: Enter"), _block(result, "Important Note: The")]

    def rules(page: Any, box: Any) -> list[tuple[float, ...]]:
        lines = [*page.rects, *page.lines]
        return sorted(
            (round(r["x0"]), round(r["top"]), round(r["x1"]))
            for r in lines
            if r["height"] < 2.5 and r["width"] > 4 and _inside(r, box, 0.5)
        )

    with pdfplumber.open(corpus_file(FORM)) as src, pdfplumber.open(result.outputs["pdf"]) as out:
        before = [rules(src.pages[1], note.bbox) for note in notes]
        after = [rules(out.pages[0], note.bbox) for note in notes]
        page_rules_before = len([*src.pages[1].rects, *src.pages[1].lines])
        page_rules_after = len([*out.pages[0].rects, *out.pages[0].lines])
    # "Important Note" and a link's two lines; "Important Note", "must", "be", "different",
    # "only".
    assert [len(rules) for rules in before] == [3, 5]
    assert after == [[], []]
    # Only those went: the form's cell borders, boxes and blanks are all still drawn.
    assert page_rules_after == page_rules_before - 8


def test_each_option_after_a_check_box_is_a_unit_and_its_tick_stays_in_the_box() -> None:
    """Options printed one under another after check boxes wrap into each other like a
    paragraph's lines ("Association - Sole Employer (H-2A only) Association - Joint
    Employer ..." was one unit); the crash report's typed "X" in a box was read as the
    option's first word ("X POLICE AGENCY") and translated away with it."""
    form = [b.text for b in parse_document(corpus_file(FORM), pages="1-2").blocks]
    for option in (
        "Association – Sole Employer (H-2A only)",
        "Association – Joint Employer (H-2A only)",
        "Association – Filing as Agent (H-2A only)",
    ):
        assert option in form, option
    assert "4. Is this a full-time position? *" in form and "Yes" in form
    crash = parse_document(corpus_file("pdfreader/example-text-crash-report.pdf"), pages="1")
    texts = [b.text for b in crash.blocks]
    for option in ("WORK ZONE RELATED", "WORKERS PRESENT", "POLICE AGENCY", "MOTORIST"):
        assert option in texts, option
    assert "PHOTOS TAKEN" in texts and "WITHIN INTERSECTION OR ON APPROACH" in texts
    assert not [t for t in texts if t.startswith("X ")]
    ticks = [b for b in crash.blocks if b.text == "X"]
    assert len(ticks) >= 5
    mark_keep(crash.blocks, "zh")
    assert all(b.keep and b.keep_reason == "check mark" for b in ticks)


def test_numbered_options_are_units_of_their_own_and_a_typed_answer_stands_apart() -> None:
    """The crash report lists coded options ("1 - INTERSECTION", "2 - MILE POST") one under
    another; their lines wrap into each other like a paragraph's, so three options were one
    unit ("15 - SEMI-TRACTOR 16 - FARM EQUIPMENT 17 - MOTORHOME"), and the answer typed
    large in the box beside them ("1") was read into the next option ("1 2 - MILE POST"). A
    numbered option starts a unit; its own wrapped line still joins it."""
    doc = parse_document(corpus_file("pdfreader/example-text-crash-report.pdf"), pages="1-2")
    texts = [b.text for b in doc.blocks]
    for option in (
        "1 - INTERSECTION",
        "2 - MILE POST",
        "15 - SEMI-TRACTOR",
        "16 - FARM EQUIPMENT",
        "17 - MOTORHOME",
        "22 - ANIMAL WITH RIDER OR ANIMAL-DRAWN VEHICLE",
        "14 - SINGLE UNIT TRUCK",
    ):
        assert option in texts, option
    answer = [b for b in doc.blocks if b.text == "1" and b.page == 1 and b.size >= 9]
    assert answer


CRASH = "pdfreader/example-text-crash-report.pdf"


def test_an_options_number_is_drawn_where_it_was_printed(tmp_path: Path) -> None:
    """A form's coded option ("15 - SEMI-TRACTOR") is read back by its number. The number
    never goes to the model (which may drop, renumber or move it): the translation starts
    with it, on the very spot it was printed."""
    model = EchoTranslator()
    options = TranslateOptions(
        target="zh", formats=["pdf"], output_dir=str(tmp_path / "out"), pages="2"
    )
    result = translate_file(corpus_file(CRASH), options, model=model)
    options_units = [
        b
        for b in result.document.blocks
        if re.match(r"\d{1,2} - [A-Z]", b.text) and b.translation and not b.meta.get("unfit")
    ]
    assert len(options_units) >= 60
    sent = "\n".join(model.prompts)
    with pdfplumber.open(corpus_file(CRASH)) as src, pdfplumber.open(result.outputs["pdf"]) as out:
        printed = [c for c in src.pages[1].chars if c["text"].isdigit()]
        ours = [c for c in _ours(out.pages[0]) if c["text"].strip()]
    for block in options_units:
        label, words = block.text.split(" - ", 1)
        assert block.translation == f"{label} - 译{words}", block.text
        assert f"]\n{block.text}" not in sent and f"]\n{words}" in sent  # items: "[i]\ntext"
        assert block.bbox is not None
        x0, top = block.bbox[0], block.bbox[1]
        (digit,) = [c for c in printed if abs(c["x0"] - x0) < 0.5 and abs(c["top"] - top) < 2.5]
        first = min(
            (c for c in ours if abs(c["top"] - digit["top"]) < 2.5 and c["x0"] > x0 - 3),
            key=lambda c: c["x0"],
        )
        assert first["text"] == label[0], block.text
        assert abs(first["x0"] - digit["x0"]) < 1.0, block.text


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("1 - SOLVED", "1 - "),
        ("12 – VILLAGE", "12 – "),
        ("3. Middle name(s) *", "3. "),
        ("(b) Wages and salaries", "(b) "),
        ("c) other income", "c) "),
        ("3.2 Results on the test set", "3.2 "),
        ("• Each of the 100 sequences", "• "),
        ("·Operation is similar", "·"),
        ("1.Installation of main gear tires", "1."),
        ("* 10. Name of Federal Agency:", "* 10. "),  # pypdf's SF424_page2.pdf
        ("2.5 litres of water", ""),
        ("2 cups of flour", ""),
        ("3.5 million people live there", ""),
        ("1998 was a good year", ""),
        ("1.", ""),
        ("10 - ", ""),
    ],
)
def test_a_label_is_split_off_the_words_sent_to_the_model(text: str, label: str) -> None:
    assert split_bullet(text) == (label, text[len(label) :] if label else text)
    if label:
        assert with_bullet(text, "译文") == label + "译文"
        assert with_bullet(text, "1.5 百万") == label + "1.5 百万"


def test_a_rule_between_two_labels_keeps_them_apart() -> None:
    """The crash report prints "LOCATION" and "REFERENCE" sideways on two black bars, end to
    end: read along one line they were one unit ("REFERENCE LOCATION") whose translation
    straddled both bars. The bars' edge between them now cuts the line. A label in bold
    before an option list ("PREFIX 1 - NORTH") is cut from its first option likewise."""
    page1 = parse_document(corpus_file(CRASH), pages="1").blocks
    sideways = sorted((b.text for b in page1 if b.rotation), key=len)
    assert sideways == ["LOCATION", "REFERENCE"]
    assert [b.text for b in page1 if b.text.startswith("PREFIX")] == ["PREFIX", "PREFIX"]
    assert len([b for b in page1 if b.text == "1 - NORTH"]) >= 2
    page2 = parse_document(corpus_file(CRASH), pages="2").blocks
    assert "2 - PARTIAL AUTOMATION" in [b.text for b in page2]


def test_two_columns_of_options_a_word_space_apart_stay_apart() -> None:
    """Two option columns nearly touch on the crash report ("1 - NOT COLLISION 4 -
    REAR-TO-REAR"): an option after an option is a unit of its own, whatever the gap."""
    texts = [b.text for b in parse_document(corpus_file(CRASH), pages="1").blocks]
    assert "4 - REAR-TO-REAR" in texts and "8 - BLOWING SAND, SOIL, DIRT, SNOW" in texts
    assert [t for t in texts if t.startswith("1 - NOT COLLISION")]
    assert not [t for t in texts if re.search(r"\d - .* \d{1,2} - ", t)]
