"""Rebuilding paragraphs from lines, and deciding what must not be translated.

Why here and not in the parsers: PDF lines, Markdown lines and plain-text lines all need the
same joining rules (hyphenation, CJK without spaces) and the same keep-as-is rules (code,
URLs, numbers, formulas, text already in the target language), so every format behaves alike.
"""

from __future__ import annotations

import itertools
import re

from llmapps.translate.document import CODE, KEEP, MONO_FONT, Block
from llmapps.translate.language import in_target_script

_URL = re.compile(r"^\s*(?:https?://|www\.|mailto:)\S+\s*$", re.IGNORECASE)
_EMAIL = re.compile(r"^\s*[\w.+-]+@[\w-]+(\.[\w-]+)+\s*$")
#: A web address without its scheme, as printed on covers and in footers ("NCCN.org",
#: "docs.python.org/3/"): a name under a common top-level domain.
_DOMAIN = re.compile(
    r"^\s*(?:[A-Za-z0-9-]+\.)+(?:com|org|net|gov|edu|int|mil|io|ai|dev|app|info|biz|co|"
    r"uk|de|fr|cn|jp|eu|us|ca|au|ch|nl|ru|in|br|it|es|se|no|kr|tw|hk)(?:/\S*)?\s*$",
    re.IGNORECASE,
)
_NUMBERS = re.compile(r"^[\s\d.,:;%+\-–—/()\[\]$€£¥#*=<>×·]*$")
_MATH_CHARS = set("=+−-×÷*/^_<>≤≥≈≠∑∫∏√∞∂∆∇±·()[]{}|αβγδεθλμπσφωΩ∈∉⊂⊆∪∩→⇒⇔")
_WORD = re.compile(r"[A-Za-z]{3,}")
_CJK_END = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]$")
_CJK_START = re.compile(r"^[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
_CODE_LINE = re.compile(
    r"^\s*(def |class |import |from \S+ import|return\b|#include|public |private |func |fn |"
    r"function\b|var |let |const |if\s*\(|for\s*\(|while\s*\(|\$ |>>> |<\w+[ >/]|"
    # Python's blocks: "elif x == 0:", "else:", "except ValueError as e:", "if n > 0:" (a
    # comparison or a call), "for k, v in d.items():" (one expression after "in"); prose
    # says "if necessary:", "except as follows:", "for instance in the cases below:"
    r"elif\b.*:\s*$|(else|try|finally):\s*$|except(\s+[A-Z]\w*(\s+as\s+\w+)?)?:\s*$|"
    r"print\(|(if|while)\s.*([=<>!]|\w\().*:\s*$|"
    r"for\s+\w+(\s*,\s*\w+)*\s+in\s+[\w.\[\]]+(\(.*\))?\s*:\s*$|"
    # a shell script's "#! /bin/bash", "fi", "export PATH=..."
    r"#!|(fi|then|do|done|esac)\s*$|export \w+=)"
)
#: A listing's line numbers: "1 ", " 12 " before each line.
_LINE_NUMBER = re.compile(r"^\s*(\d{1,5})(\s+|$)")
#: A program's command-line options, as its --help lists them: "-b, --benchmark",
#: "--output=FILE", "-o FILE".
_OPTIONS = re.compile(
    r"^-{1,2}[A-Za-z0-9](?:[\w-]*\w)?(?:[ =][A-Za-z<\[][\w<>\[\]=.-]*)?"
    r"(?:\s*[,|]\s*-{1,2}[A-Za-z0-9](?:[\w-]*\w)?(?:[ =][A-Za-z<\[][\w<>\[\]=.-]*)?)*$"
)
#: An identifier with an underscore, alone ("asn1_bit_der", "der_len", "get_env()"): a
#: function reference's heading or a parameter's name; prose spells no word that way.
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*_\w+(?:\(\))?[.,;:]?$")
#: A C declaration: "void asn1_bit_der (const unsigned char * str, ...)", "long f(int n)".
_DECLARATION = re.compile(
    r"^(?:(?:static|extern|inline|const|unsigned|signed|struct|enum)\s+)*"
    r"(?:void|int|long|short|char|float|double|bool|size_t|ssize_t|[a-z_]\w*_t)\b[\s*]+"
    r"[A-Za-z_]\w*\s*\(\s*(?:\)|(?:void|const|unsigned|signed|struct|enum|int|long|short|char|"
    r"float|double|bool|size_t|\w+_\w+)\b|\w+\s*\*)"
    # a declaration's next line: more parameters ("unsigned char * der, int * der_len)")
    r"|^(?:(?:const|unsigned|signed|struct|enum)\s+)*"
    r"(?:void|int|long|short|char|float|double|bool|size_t|\w+_t|\w+_\w+)\s*\*+\s*\w+\s*[,)]"
)
#: A hex dump's line: an offset, then bytes as pairs of hex digits.
_HEX_DUMP = re.compile(r"^\s*[0-9A-Fa-f]{4,}:?\s+(?:[0-9A-Fa-f]{2}\s+){4,}")
#: A string's escape sequence ("\n", "\t", "\0").
_ESCAPE = re.compile(r"\\[ntr0\"\\]")
#: One token that is a path or a MIME type: letters, and two separators ("/etc/mime.types",
#: "application/msword:x-office-document") or one with a dot, a dash or a digit
#: ("text/x-diff"); "and/or" is a word.
_PATH = re.compile(r"^(?=\S*[A-Za-z])(?:(?=(?:\S*[/\\:]){2})|(?=\S*[/\\:])(?=\S*[-.\d]))\S{6,}$")
#: Operators of programs and grammars, which prose does not spell.
_OPERATOR = re.compile(r"::=|:=|==|!=|&&|\|\||\+\+")
_CODE_CHARS = set("{}[]();=<>_/\\|&$#@`")
# Codes and identifiers in forms and tables: "A-12", "P2034", "DEM", "X", a part's size
# "M20x1.5" (no run of three lower-case letters: "Version2" is a word); kept in place.
# A form's or a list's item label: "9a", "10b", "(c)", "7c." (digits may come letter-spaced),
# or a lone letter ("b", "c.", "d)"), as the IRS forms set their sub-lines' letters apart.
_ITEM_LABEL = re.compile(r"^\(?\d[\d ]{0,4}[a-zA-Z]\)?[.:]?$|^\([a-zA-Z]{1,2}\)$|^[a-zA-Z][.)]?$")
_CODE_TOKEN = re.compile(r"^(?=\S*\d)(?!\S*[a-z]{3})[A-Z0-9][A-Za-z0-9\-_./#:]{0,14}$|^[A-Z]{1,3}$")


#: A form's numbered option: "1 - CITY", "2 – VILLAGE".
NUMBERED_OPTION = r"\d{1,3}\s+[-–]\s+(?=\w)"
#: A list item's or a form field's label: a symbol bullet (OCR often drops the space after
#: it: "·Operation"), a dash, "1.", "2)", "(3)", "(a)", "b.", or a numbered option.
LIST_LABEL = re.compile(
    r"^\s*(?:[•◦▪‣·●■□➢►✓✔]\s*(?=\S)|(?:[\-*–]|\d{1,3}[.)]|[a-z][.)]|\(\d{1,3}\)|\([a-z]\))\s+"
    rf"|{NUMBERED_OPTION})"
)
#: A section's number before its title ("3.2 Results", "4.1.3. Limits"), or an item's
#: number OCR glued to its first word ("1.Installation of ...").
_SECTION_NUMBER = re.compile(
    r"^\s*\d{1,2}(?:\.\d{1,2}){1,3}\.?\s+(?=[A-Z])|^\s*\d{1,3}[.)](?=[A-Z][a-z])"
)


def split_bullet(text: str) -> tuple[str, str]:
    """``text`` as (its leading label with the space after it, the rest): a bullet, an
    item's or an option's number, a section's number. The label has no word to translate
    and must stay where it was printed, first on its line (a form's "12 - " is a code that
    is read back); a model may drop it, renumber it or move it, so it never goes to the
    model, and the writer puts it back (:func:`with_bullet`). A form's required mark before
    a field's number ("* 10. Name of Federal Agency:") is one label with it."""
    end = 0
    for _ in range(2):
        rest = text[end:]
        match = LIST_LABEL.match(rest) or _SECTION_NUMBER.match(rest)
        if match is None or not rest[match.end() :].strip():
            break
        end += match.end()
    return text[:end], text[end:]


def with_bullet(text: str, translation: str) -> str:
    """``translation`` of ``text``'s words, with ``text``'s label in front again. The model
    never saw the label, so a translation that starts like it ("1.5 million" after "1.") is
    still the words alone."""
    bullet, _ = split_bullet(text)
    return bullet + translation.lstrip() if bullet else translation


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
    if _URL.match(stripped) or _EMAIL.match(stripped) or _DOMAIN.match(stripped):
        return "url"
    if _NUMBERS.match(stripped):
        return "numbers"
    if not any(c.isalnum() for c in stripped):
        return "symbols"  # punctuation, marks, dingbats: nothing to translate
    if _ITEM_LABEL.match(stripped):
        return "label"
    if any(p.match(stripped) for p in (_CODE_TOKEN, _IDENTIFIER, _DECLARATION)):
        return "code"
    if len(stripped) <= 60 and _OPTIONS.match(stripped):
        return "code"
    if font and MONO_FONT.search(font) and looks_like_code(stripped):
        return "code"
    letters = sum(1 for c in stripped if c.isalpha())
    math = sum(1 for c in stripped if c in _MATH_CHARS)
    words = _WORD.findall(stripped)
    if math >= 2 and math >= letters * 0.5 and len(words) <= 2:
        return "formula"
    if target and in_target_script(stripped, target):
        return "target-language"
    return ""


def _without_line_numbers(lines: list[str]) -> list[str]:
    """The lines of a listing printed with its line numbers ("1 number = 0", "2", "3 if ..."),
    without them: every line starts with a number, and the numbers count up."""
    numbers = [_LINE_NUMBER.match(line) for line in lines]
    if len(lines) < 3 or not all(numbers):
        return lines
    values = [int(m.group(1)) for m in numbers if m]
    if any(b <= a for a, b in itertools.pairwise(values)):
        return lines
    return [line[m.end() :] for line, m in zip(lines, numbers, strict=True) if m]


def looks_like_code(text: str) -> bool:
    """Whether monospace ``text`` is program code (kept) rather than prose set in a typewriter
    font (a transcript, a form): decided by the content, not the font."""
    lines = [line for line in text.splitlines() if line.strip()] or [text]
    lines = _without_line_numbers(lines)
    if any(_CODE_LINE.match(line) for line in lines):
        return True
    symbols = sum(1 for c in text if c in _CODE_CHARS)
    words = _WORD.findall(text)
    if symbols >= 3 and symbols >= 0.08 * len(text):
        return True
    if re.match(r"^\s*[A-Za-z_][\w.\[\]]*\s*[-+*/%|&]?=(?!=)\s*\S", text) and len(words) <= 4:
        return True  # an assignment: "x = 1", "total += rate"
    if re.search(r"\w+\([^)]*\)\s*[;{:]?\s*$", text) and len(words) <= 4:
        return True  # a call or signature: "print(x)", "main(argc, argv) {"
    if _HEX_DUMP.match(text) or (_ESCAPE.search(text) and len(words) <= 8):
        return True  # "00000020  00 05 64 69 ...", a format line ending in "\n"
    if _PATH.match(text.strip()):
        return True  # "application/msword:x-office-document", "/etc/mime.types"
    if _OPERATOR.search(text) and len(words) <= 8:
        return True  # a grammar's "Version ::= INTEGER", "x := 1", "i != 0"
    return bool(re.search(r"[;{}]\s*$", text)) and len(words) <= 6


def mark_keep(blocks: list[Block], target: str) -> None:
    """Flag the blocks that are deliberately not translated (a parser's reason stands)."""
    for block in blocks:
        if block.keep:
            continue
        if block.kind == CODE:
            block.keep, block.keep_reason = True, "code"
            continue
        if block.meta.get("tick"):  # typed into a check box: a mark, not a word
            block.keep, block.keep_reason = True, "check mark"
            continue
        reason = keep_reason(block.text, font=block.font, target=target)
        if block.kind == KEEP and not reason:
            reason = "keep"
        if reason:
            block.keep, block.keep_reason = True, reason
