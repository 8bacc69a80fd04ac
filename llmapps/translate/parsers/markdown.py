"""Markdown -> blocks: headings, paragraphs, list items, table cells, code kept as is.

Why line-based and not a Markdown library: we must write the same structure back with only
the text swapped, so each block records the syntax around it (level, list marker, indent,
table position) in ``meta``; a renderer's HTML tree would lose that.
"""

from __future__ import annotations

import re
from pathlib import Path

from llmapps.translate.document import (
    CODE,
    HEADING,
    LIST_ITEM,
    PARAGRAPH,
    TABLE_CELL,
    Block,
    Document,
    Page,
)
from llmapps.translate.paragraphs import join_lines

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_LIST = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def _cells(row: str) -> list[str]:
    inner = row.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return [c.strip() for c in re.split(r"(?<!\\)\|", inner)]


def parse_markdown(path: Path, text: str) -> Document:
    lines = text.splitlines()
    blocks: list[Block] = []
    para: list[str] = []
    table_id = 0
    i = 0

    def flush() -> None:
        if para:
            blocks.append(Block(join_lines(para), kind=PARAGRAPH))
            para.clear()

    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            flush()
            fence = _FENCE.match(line).group(1)  # type: ignore[union-attr]
            body = [line]
            i += 1
            while i < len(lines):
                body.append(lines[i])
                i += 1
                if lines[i - 1].strip().startswith(fence):
                    break
            blocks.append(Block("\n".join(body), kind=CODE))
            continue
        if _TABLE_ROW.match(line) and i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1]):
            flush()
            table_id += 1
            rows = [line] + [r for r in _take_rows(lines, i + 2)]
            for r_index, row in enumerate(rows):
                for c_index, cell in enumerate(_cells(row)):
                    blocks.append(
                        Block(
                            cell,
                            kind=TABLE_CELL,
                            meta={"table": table_id, "row": r_index, "col": c_index},
                        )
                    )
            i += 1 + len(rows)
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            blocks.append(Block(heading.group(2), kind=HEADING, meta={"level": level}))
        elif (item := _LIST.match(line)) is not None:
            flush()
            text_lines = [item.group(3)]
            while (
                i + 1 < len(lines)
                and lines[i + 1].strip()
                and not _LIST.match(lines[i + 1])
                and lines[i + 1].startswith((" ", "\t"))
            ):
                i += 1
                text_lines.append(lines[i])
            blocks.append(
                Block(
                    join_lines(text_lines),
                    kind=LIST_ITEM,
                    meta={"indent": item.group(1), "marker": item.group(2)},
                )
            )
        elif not line.strip():
            flush()
        else:
            para.append(line)
        i += 1
    flush()
    title = next((b.text for b in blocks if b.kind == HEADING), path.stem)
    page = Page(number=1, blocks=blocks)
    for block in blocks:
        block.page = 1
    return Document(path=path, kind="md", pages=[page], title=title, page_count=1)


def _take_rows(lines: list[str], start: int) -> list[str]:
    rows = []
    j = start
    while j < len(lines) and _TABLE_ROW.match(lines[j]):
        rows.append(lines[j])
        j += 1
    return rows
