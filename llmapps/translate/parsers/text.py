"""Plain text -> one block per paragraph (paragraphs are separated by blank lines)."""

from __future__ import annotations

import re
from pathlib import Path

from llmapps.translate.document import PARAGRAPH, Block, Document, Page
from llmapps.translate.paragraphs import join_lines


def parse_text(path: Path, text: str) -> Document:
    blocks = []
    for chunk in re.split(r"\n\s*\n", text):
        lines = [line for line in chunk.splitlines() if line.strip()]
        if lines:
            blocks.append(Block(join_lines(lines), kind=PARAGRAPH, page=1))
    title = blocks[0].text[:80] if blocks else path.stem
    return Document(
        path=path, kind="txt", pages=[Page(number=1, blocks=blocks)], title=title, page_count=1
    )
