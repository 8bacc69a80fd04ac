"""Fixes to how pdfminer.six and pypdf read two lexical details of PDF, applied on import of
the PDF parser and writer (idempotent).

Why each, found on pypdf's AutoCad_Diagram.pdf (pdfium and the standard agree on both):

- A backslash before a character without an escape meaning is ignored and the character
  kept (ISO 32000-1, 7.3.4.2): ``(Strip\\ the\\ cable)`` shows "Strip the cable". pdfminer.six
  drops both, so every word of such a file (AutoCAD writes its spaces so) was glued to the
  next ("Stripthecable"), in the text and in the glyph positions.
- NUL is white-space (7.2.2). pypdf reads ``/DeviceRGB<NUL>255`` as one name, so an
  ``/Indexed`` colour space lost its highest index and every copy of the page wrote a
  broken image: the drawing's note and photos vanished from the translated PDF.
"""

from __future__ import annotations

import re
from typing import Any

from pdfminer import psparser
from pypdf.generic import NameObject

_ESCAPES = set(psparser.ESC_STRING)


def _keeps_escaped_character(original: Any) -> Any:
    def parse_escape(self: Any, s: bytes, i: int) -> int:
        c = s[i : i + 1]
        plain = c and c not in _ESCAPES and c not in (b"\r", b"\n")
        if plain and not self.oct and not psparser.OCT_STRING.match(c):
            self._curtoken += c
            self._parse1 = self._parse_string
            return i + 1
        result: int = original(self, s, i)
        return result

    parse_escape.__wrapped__ = original  # type: ignore[attr-defined]
    return parse_escape


def apply() -> None:
    """Patch both readers once; a version without the patched attribute is left alone."""
    current = getattr(psparser.PSBaseParser, "_parse_string_1", None)
    if current is not None and not hasattr(current, "__wrapped__"):
        psparser.PSBaseParser._parse_string_1 = _keeps_escaped_character(current)  # type: ignore[method-assign]
    pattern = getattr(NameObject, "delimiter_pattern", None)
    if pattern is not None and b"\\x00" not in pattern.pattern:
        NameObject.delimiter_pattern = re.compile(rb"[\s\x00]+|[\(\)<>\[\]{}/%]")
