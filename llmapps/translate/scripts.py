"""Footnote marks as superscript digits: the parser writes them, the PDF writer draws them.

Why Unicode superscripts: a raised "1" read as plain text glues to its word ("Act (DMCA)1
was signed", "1Pub. L. No. 105-304"); a model then takes it for part of the word or for a
count, and the translation drew it full size on the line. "¹" says what it is to a model
(which keeps it, as it keeps any symbol), to a search index and to a reader of the text
output. The bundled CJK font has no glyph for most of them (it lacks ⁰ and ⁵-⁹), so the PDF
writer draws each as its plain digit, smaller and raised, as the source set it.
"""

from __future__ import annotations

SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
#: Plain digits to superscript digits.
TO_SUPERSCRIPT = str.maketrans("0123456789", SUPERSCRIPT_DIGITS)
#: Superscript digits back to the plain digits a font has.
FROM_SUPERSCRIPT = str.maketrans(SUPERSCRIPT_DIGITS, "0123456789")
#: A drawn superscript's size and rise, as shares of the text size (a word processor's
#: superscript is set at about 60% of the size and raised about a third of it).
SCALE = 0.6
RISE = 0.33


def pieces(text: str) -> list[tuple[str, bool]]:
    """``text`` in runs: (plain text, False) and (superscript digits as plain digits, True).

    >>> pieces("法案¹²签署")
    [('法案', False), ('12', True), ('签署', False)]
    """
    out: list[tuple[str, bool]] = []
    for ch in text:
        raised = ch in SUPERSCRIPT_DIGITS
        if out and out[-1][1] == raised:
            out[-1] = (out[-1][0] + ch, raised)
        else:
            out.append((ch, raised))
    return [(run.translate(FROM_SUPERSCRIPT), raised) for run, raised in out]
