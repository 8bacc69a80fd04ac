"""Markdown and plain-text writers (from any source format).

Markdown keeps headings (``#`` by level), list items (their marker and indent), pipe tables
(cells regrouped by table/row/column) and code blocks as they were; text writes one
paragraph per block separated by blank lines, with a page marker between PDF pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from llmapps.translate.document import CODE, HEADING, LIST_ITEM, TABLE_CELL, Block, Document


def _table(cells: list[Block]) -> list[str]:
    rows: dict[int, dict[int, str]] = {}
    for cell in cells:
        rows.setdefault(int(cell.meta.get("row", 0)), {})[int(cell.meta.get("col", 0))] = (
            cell.output.replace("\n", " ").replace("|", "\\|")
        )
    ncols = max((max(r) + 1 for r in rows.values() if r), default=1)
    lines = []
    for i, index in enumerate(sorted(rows)):
        row = rows[index]
        lines.append("| " + " | ".join(row.get(c, "") for c in range(ncols)) + " |")
        if i == 0:
            lines.append("|" + "|".join([" --- "] * ncols) + "|")
    return lines


def _groups(blocks: list[Block]) -> list[list[Block]]:
    """Consecutive table cells of one table form one group, and so do consecutive lines of a
    PDF's program listing (``meta["listing"]``); every other block is alone."""
    groups: list[list[Block]] = []
    for block in blocks:
        last = groups[-1][0] if groups else None
        same_table = (
            block.kind == TABLE_CELL
            and last is not None
            and last.kind == TABLE_CELL
            and last.meta.get("table") == block.meta.get("table")
        )
        same_listing = bool(
            block.meta.get("listing") and last is not None and last.meta.get("listing")
        )
        if same_table or same_listing:
            groups[-1].append(block)
        else:
            groups.append([block])
    return groups


def _listing(lines: list[Block]) -> str:
    """A PDF listing's lines, each indented as printed (in monospace character widths)."""
    boxes = [b.bbox for b in lines if b.bbox is not None]
    left = min((box[0] for box in boxes), default=0.0)
    out = []
    for block in lines:
        width = 0.6 * (block.size or 10.0)  # a monospace advance: 0.6 em
        indent = round((block.bbox[0] - left) / width) if block.bbox is not None else 0
        out.append(" " * max(0, indent) + block.text)
    return "\n".join(out)


def _parts(
    doc: Document,
    page_marker: str,
    scanned_marker: str,
    render: Callable[[Block], str],
    code_marker: str = "{code}",
) -> list[str]:
    """The document's parts in order: page markers (``{n}`` = page number), one part per
    table (regrouped), one per PDF program listing (``code_marker``, ``{code}`` = its lines)
    and ``render(block)`` for every other block. Both formats share it."""
    parts: list[str] = []
    for page in doc.pages:
        if doc.kind == "pdf" and len(doc.pages) > 1:
            parts.append(page_marker.format(n=page.number))
        if page.scanned:
            parts.append(scanned_marker.format(n=page.number))
        for group in _groups(page.blocks):
            first = group[0]
            if first.meta.get("list_marker"):
                continue  # the item that follows carries it (``meta["marker"]``)
            if first.kind == TABLE_CELL:
                parts.append("\n".join(_table(group)))
            elif first.meta.get("listing"):
                parts.append(code_marker.format(code=_listing(group)))
            else:
                parts.append(render(first))
    return parts


def _markdown_block(block: Block) -> str:
    if block.kind == HEADING:
        level = int(block.meta.get("level", 2))
        return "#" * level + " " + " ".join(block.output.split())
    if block.kind == LIST_ITEM:
        marker = str(block.meta.get("marker", ""))
        text = " ".join(block.output.split())
        if marker:
            return f"{block.meta.get('indent', '')}{marker} {text}"
        return text if text.lstrip()[:1] in "-*•0123456789" else f"- {text}"
    if block.kind == CODE:
        return block.text
    return block.output


def to_markdown(doc: Document) -> str:
    parts = _parts(
        doc,
        "<!-- page {n} -->",
        "<!-- page {n}: scanned image, no text layer -->",
        _markdown_block,
        "```\n{code}\n```",
    )
    return _join(parts)


def _join(parts: list[str]) -> str:
    """Blank lines between blocks, but consecutive list items stay a tight list."""
    out = ""
    for i, part in enumerate(parts):
        if i:
            tight = _is_item(parts[i - 1]) and _is_item(part)
            out += "\n" if tight else "\n\n"
        out += part
    return out + "\n"


def _is_item(part: str) -> bool:
    return bool(re.match(r"^\s*([-*+•]|\d+[.)])\s", part))


def to_text(doc: Document) -> str:
    parts = _parts(
        doc,
        "--- page {n} ---",
        "[page {n}: scanned image, no text layer]",
        _text_block,
    )
    return "\n\n".join(parts) + "\n"


def _text_block(block: Block) -> str:
    marker = block.meta.get("marker") if block.kind == LIST_ITEM else None
    return f"{marker} {block.output}" if marker else block.output
