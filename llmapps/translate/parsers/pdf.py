"""PDF (text layer) -> blocks with boxes, fonts and kinds, via pdfplumber (MIT).

Why words -> line segments -> blocks by geometry: a PDF has no paragraphs, only positioned
glyphs. Splitting each visual line at wide gaps separates columns; stacking segments that sit
directly under each other with the same size rebuilds paragraphs; tables found by ruling
lines are split cell by cell so each cell is translated alone and written back in place.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pdfplumber
from pdfplumber.utils.exceptions import PdfminerException

from llmapps.translate.document import (
    HEADING,
    LIST_ITEM,
    PARAGRAPH,
    TABLE_CELL,
    BBox,
    Block,
    Document,
    Page,
)
from llmapps.translate.errors import CorruptFileError, EncryptedPdfError
from llmapps.translate.pages import parse_pages
from llmapps.translate.paragraphs import join_lines

_BULLET = re.compile(r"^\s*([•◦▪‣·\-*–]|\d{1,3}[.)]|[a-z][.)])\s+")
_SENTENCE_END = re.compile(r"[.!?:。！？：;；]$")


@dataclass
class _Segment:
    words: list[dict[str, Any]]
    x0: float = 0.0
    x1: float = 0.0
    top: float = 0.0
    bottom: float = 0.0
    size: float = 0.0
    font: str = ""
    text: str = ""

    def finish(self) -> _Segment:
        self.x0 = min(w["x0"] for w in self.words)
        self.x1 = max(w["x1"] for w in self.words)
        self.top = min(w["top"] for w in self.words)
        self.bottom = max(w["bottom"] for w in self.words)
        self.size = statistics.median(float(w.get("size") or 10) for w in self.words)
        self.font = Counter(str(w.get("fontname", "")) for w in self.words).most_common(1)[0][0]
        self.text = join_lines([w["text"] for w in self.words])
        return self

    @property
    def bold(self) -> bool:
        return bool(re.search(r"bold|black|heavy|semibold", self.font, re.IGNORECASE))


@dataclass
class _Group:
    segments: list[_Segment] = field(default_factory=list)

    @property
    def last(self) -> _Segment:
        return self.segments[-1]

    def bbox(self) -> BBox:
        return (
            min(s.x0 for s in self.segments),
            min(s.top for s in self.segments),
            max(s.x1 for s in self.segments),
            max(s.bottom for s in self.segments),
        )


def open_pdf(path: Path, password: str | None) -> Any:
    """Open with pdfplumber, turning pdfminer's errors into one-line user errors."""
    try:
        return pdfplumber.open(path, password=password or "")
    except PdfminerException as exc:
        inner = exc.args[0] if exc.args else exc
        if type(inner).__name__ == "PDFPasswordIncorrect":
            if password:
                raise EncryptedPdfError(
                    f"{path.name}: wrong password for this encrypted PDF: check --password"
                ) from None
            raise EncryptedPdfError(
                f"{path.name}: the PDF is encrypted: give its password with --password"
            ) from None
        raise CorruptFileError(
            f"{path.name}: not a readable PDF ({inner}): check the file or re-export it"
        ) from None
    except Exception as exc:  # pdfminer raises many types on broken files
        raise CorruptFileError(
            f"{path.name}: not a readable PDF ({type(exc).__name__}): check the file"
        ) from None


def parse_pdf(path: Path, *, password: str | None = None, pages: str | None = None) -> Document:
    pdf = open_pdf(path, password)
    try:
        total = len(pdf.pages)
        if total == 0:
            raise CorruptFileError(f"{path.name}: the PDF has no pages: check the file")
        doc = Document(path=path, kind="pdf", page_count=total)
        for number in parse_pages(pages, total):
            try:
                doc.pages.append(_parse_page(pdf.pages[number - 1], number))
            except Exception as exc:
                raise CorruptFileError(
                    f"{path.name}: page {number} cannot be read ({type(exc).__name__}): "
                    "check the file or skip the page with --pages"
                ) from None
    finally:
        pdf.close()
    _classify(doc)
    return doc


def _parse_page(page: Any, number: int) -> Page:
    out = Page(
        number=number,
        width=float(page.width),
        height=float(page.height),
        image_count=len(page.images),
    )
    if not page.chars:
        out.scanned = out.image_count > 0
        return out
    words = page.extract_words(extra_attrs=["fontname", "size"], x_tolerance=1.5)
    blocks: list[Block] = []
    remaining = words
    for t_index, table in enumerate(page.find_tables(), start=1):
        tb = table.bbox
        inside = [w for w in remaining if _center_in(w, tb)]
        if not inside:
            continue
        remaining = [w for w in remaining if not _center_in(w, tb)]
        for r_index, row in enumerate(table.rows):
            for c_index, cell in enumerate(row.cells):
                if cell is None:
                    continue
                cell_words = [w for w in inside if _center_in(w, cell)]
                if not cell_words:
                    continue
                seg_groups = _segments(cell_words)
                text = join_lines([s.text for s in seg_groups])
                first = seg_groups[0]
                blocks.append(
                    Block(
                        text,
                        kind=TABLE_CELL,
                        page=number,
                        bbox=(cell[0] + 1, cell[1] + 1, cell[2] - 1, cell[3] - 1),
                        font=first.font,
                        size=first.size,
                        bold=first.bold,
                        meta={"table": f"{number}.{t_index}", "row": r_index, "col": c_index},
                    )
                )
    groups = _group(_segments(remaining))
    for group in _reading_order(groups, out.width):
        first = group.segments[0]
        text = join_lines([s.text for s in group.segments])
        kind = LIST_ITEM if _BULLET.match(first.text) else PARAGRAPH
        blocks.append(
            Block(
                text,
                kind=kind,
                page=number,
                bbox=group.bbox(),
                font=first.font,
                size=first.size,
                bold=first.bold,
                meta={"lines": len(group.segments)},
            )
        )
    # Tables first in extraction; put everything in top-to-bottom order per column band.
    table_blocks = [b for b in blocks if b.kind == TABLE_CELL]
    flow = [b for b in blocks if b.kind != TABLE_CELL]
    out.blocks = _merge_tables(flow, table_blocks)
    return out


def _center_in(word: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    cx = (word["x0"] + word["x1"]) / 2
    cy = (word["top"] + word["bottom"]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _segments(words: list[dict[str, Any]]) -> list[_Segment]:
    """Words -> visual line segments, split where the horizontal gap is a column gutter."""
    rows: list[list[dict[str, Any]]] = []
    for word in sorted(words, key=lambda w: (w["top"], w["x0"])):
        size = float(word.get("size") or 10)
        if rows and abs(rows[-1][0]["top"] - word["top"]) <= size * 0.4:
            rows[-1].append(word)
        else:
            rows.append([word])
    segments: list[_Segment] = []
    for row in rows:
        row.sort(key=lambda w: w["x0"])
        current = [row[0]]
        for word in row[1:]:
            size = float(word.get("size") or 10)
            if word["x0"] - current[-1]["x1"] > size * 1.5:
                segments.append(_Segment(current).finish())
                current = [word]
            else:
                current.append(word)
        segments.append(_Segment(current).finish())
    return segments


def _group(segments: list[_Segment]) -> list[_Group]:
    """Stack segments into paragraphs: directly below, same column, same size and weight."""
    groups: list[_Group] = []
    for seg in sorted(segments, key=lambda s: (s.top, s.x0)):
        target = None
        for group in reversed(groups):
            last = group.last
            gap = seg.top - last.bottom
            if gap < -1 or gap > seg.size * 0.7:
                continue
            overlap = min(seg.x1, last.x1) - max(seg.x0, last.x0)
            if overlap <= 0:
                continue
            if abs(seg.size - last.size) > 0.6 or seg.bold != last.bold:
                continue
            if seg.x0 > last.x0 + seg.size * 1.2 and len(group.segments) >= 1:
                continue  # first-line indent starts a new paragraph
            if _BULLET.match(seg.text):
                continue
            width = group.bbox()[2] - group.bbox()[0]
            if (
                len(group.segments) >= 2
                and last.x1 - last.x0 < width * 0.7
                and _SENTENCE_END.search(last.text)
            ):
                continue  # the previous line was short and ended a sentence
            target = group
            break
        if target is None:
            groups.append(_Group([seg]))
        else:
            target.segments.append(seg)
    return groups


def _reading_order(groups: list[_Group], width: float) -> list[_Group]:
    """Top to bottom; inside bands between full-width blocks, left column before right."""
    ordered: list[_Group] = []
    band: list[_Group] = []
    mid = width / 2

    def flush() -> None:
        left = sorted((g for g in band if g.bbox()[2] <= mid + 5), key=lambda g: g.bbox()[1])
        right = sorted((g for g in band if g.bbox()[2] > mid + 5), key=lambda g: g.bbox()[1])
        right_bottom = max((g.bbox()[3] for g in right), default=0.0)
        # Left-column blocks below the whole right column (a footnote) come after it.
        ordered.extend(g for g in left if g.bbox()[1] < right_bottom)
        ordered.extend(right)
        ordered.extend(g for g in left if g.bbox()[1] >= right_bottom)
        band.clear()

    for group in sorted(groups, key=lambda g: (g.bbox()[1], g.bbox()[0])):
        x0, _, x1, _ = group.bbox()
        if x0 < mid - 5 and x1 > mid + 5:
            flush()
            ordered.append(group)
        else:
            band.append(group)
    flush()
    return ordered


def _merge_tables(flow: list[Block], tables: list[Block]) -> list[Block]:
    """Insert each table's cells before the first flow block below the table's top."""
    if not tables:
        return flow
    out: list[Block] = []
    table_top = min(b.bbox[1] for b in tables if b.bbox)
    inserted = False
    for block in flow:
        if not inserted and block.bbox and block.bbox[1] > table_top and block.bbox[0] < 100:
            out.extend(tables)
            inserted = True
        out.append(block)
    if not inserted:
        out.extend(tables)
    return out


def _classify(doc: Document) -> None:
    """Headings: clearly larger than the body size, or short bold lines."""
    sizes: list[float] = []
    for block in doc.blocks:
        if block.kind != TABLE_CELL:
            sizes.extend([block.size] * max(1, len(block.text)))
    if not sizes:
        return
    body = statistics.median(sizes)
    for block in doc.blocks:
        if block.kind == TABLE_CELL:
            continue
        lines = int(block.meta.get("lines", 1))
        larger = block.size >= body * 1.15 and len(block.text) < 200
        if larger or (block.bold and lines <= 2 and len(block.text) < 120):
            block.kind = HEADING
        if block.kind == HEADING:
            block.meta["level"] = 1 if block.size >= body * 1.5 else 2
    headings = [b for b in doc.blocks if b.kind == HEADING]
    first_page = doc.pages[0].blocks if doc.pages else []
    if headings:
        top = max(headings, key=lambda b: (b.size, -b.page))
        doc.title = top.text
    elif first_page:
        doc.title = first_page[0].text[:120]
    else:
        doc.title = doc.path.stem
