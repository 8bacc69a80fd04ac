"""Writers: a translated :class:`Document` out as PDF, bilingual PDF, Markdown or text."""

from __future__ import annotations

FORMATS = ("pdf", "bilingual", "md", "txt")
PDF_ONLY = ("pdf", "bilingual")
