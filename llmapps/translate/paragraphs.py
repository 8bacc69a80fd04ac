"""Rebuilding paragraphs from lines, and deciding what must not be translated.

Why here and not in the parsers: PDF lines, Markdown lines and plain-text lines all need the
same joining rules (hyphenation, CJK without spaces) and the same keep-as-is rules (code,
URLs, numbers, formulas, text already in the target language), so every format behaves alike.
"""

from __future__ import annotations

import re

from llmapps.translate.document import CODE, KEEP, Block
from llmapps.translate.language import in_target_script

_URL = re.compile(r"^\s*(?:https?://|www\.|mailto:)\S+\s*$", re.IGNORECASE)
_EMAIL = re.compile(r"^\s*[\w.+-]+@[\w-]+(\.[\w-]+)+\s*$")
_NUMBERS = re.compile(r"^[\s\d.,:;%+\-–—/()\[\]$€£¥#*=<>×·]*$")
_MATH_CHARS = set("=+−-×÷*/^_<>≤≥≈≠∑∫∏√∞∂∆∇±·()[]{}|αβγδεθλμπσφωΩ∈∉⊂⊆∪∩→⇒⇔")
_WORD = re.compile(r"[A-Za-z]{3,}")
_CJK_END = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]$")
_CJK_START = re.compile(r"^[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
_MONO_FONT = re.compile(r"(courier|mono|consol|menlo|code)", re.IGNORECASE)


def join_lines(lines: list[str]) -> str:
    """Join wrapped lines into one paragraph: undo hyphenation, no spaces between CJK."""
    out = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if not out:
            out = line
        elif re.search(r"[A-Za-z]-$", out) and line[:1].islower():
            out = out[:-1] + line  # "transla-" + "tion" -> "translation"
        elif _CJK_END.search(out) and _CJK_START.search(line):
            out += line
        else:
            out += " " + line
    return out


def keep_reason(text: str, *, font: str = "", target: str = "") -> str:
    """Why ``text`` must stay as is ("" when it should be translated)."""
    stripped = text.strip()
    if not stripped:
        return "empty"
    if _URL.match(stripped) or _EMAIL.match(stripped):
        return "url"
    if _NUMBERS.match(stripped):
        return "numbers"
    if font and _MONO_FONT.search(font):
        return "code"
    letters = sum(1 for c in stripped if c.isalpha())
    math = sum(1 for c in stripped if c in _MATH_CHARS)
    words = _WORD.findall(stripped)
    if math >= 2 and math >= letters * 0.5 and len(words) <= 2:
        return "formula"
    if target and in_target_script(stripped, target):
        return "target-language"
    return ""


def mark_keep(blocks: list[Block], target: str) -> None:
    """Flag the blocks that are deliberately not translated."""
    for block in blocks:
        if block.kind == CODE:
            block.keep, block.keep_reason = True, "code"
            continue
        reason = keep_reason(block.text, font=block.font, target=target)
        if block.kind == KEEP and not reason:
            reason = "keep"
        if reason:
            block.keep, block.keep_reason = True, reason
