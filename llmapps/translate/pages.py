"""Page ranges such as ``1-3,7,10-``: 1-based, inclusive, open-ended ranges allowed."""

from __future__ import annotations

from llmapps.translate.errors import TranslateError


def parse_pages(spec: str | None, total: int) -> list[int]:
    """The sorted 1-based page numbers ``spec`` selects out of ``total`` pages (all if empty)."""
    if spec is None or not spec.strip():
        return list(range(1, total + 1))
    selected: set[int] = set()
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo_s, hi_s = part.split("-", 1)
                lo = int(lo_s) if lo_s.strip() else 1
                hi = int(hi_s) if hi_s.strip() else total
            else:
                lo = hi = int(part)
        except ValueError:
            raise TranslateError(
                f"bad page range '{part}': use numbers like 1-3,7,10- (pages start at 1)"
            ) from None
        if lo > total:
            raise TranslateError(
                f"page range '{part}' is past the end: the document has {total} page(s)"
            )
        if lo < 1 or hi < lo:
            raise TranslateError(f"bad page range '{part}': pages start at 1 and ranges go up")
        selected.update(range(lo, min(hi, total) + 1))
    if not selected:
        raise TranslateError(f"page range '{spec}' selects no page: use e.g. 1-3,7,10-")
    return sorted(selected)
