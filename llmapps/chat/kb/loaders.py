"""File loaders: a file -> sections of text, each with its citation location.

Why sections: a citation must point at something a reader can open, so loaders keep the page
(PDF), the heading path (Markdown, DOCX) or the pair number (Q&A files) with the text, and the
chunker never merges text across sections. Q&A files ("1. Q: … A: …", "问：… 答：…",
numbered questions followed by their answers) become one chunk per pair, whatever their
extension, because a pair split in half answers nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from llmapps.chat.kb.types import KnowledgeBaseError

SUPPORTED = {
    ".pdf": "pdf",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".docx": "docx",
    ".qa": "qa",
    ".csv": "qa",
}


@dataclass
class Section:
    """Text with its location; ``atomic`` sections (Q&A pairs) are never split."""

    text: str
    location: str = ""
    atomic: bool = False
    line_base: int | None = None  # first line of the section, for "line N" locations


def kind_of(path: Path) -> str | None:
    """The loader kind for a file name, or ``None`` when the type is not supported."""
    return SUPPORTED.get(path.suffix.lower())


def load_file(path: Path) -> tuple[str, list[Section]]:
    """Read ``path`` into sections; returns ``(kind, sections)``. Q&A content wins over type."""
    kind = kind_of(path)
    if kind is None:
        raise KnowledgeBaseError(
            f"{path.name}: unsupported file type; use one of {', '.join(sorted(SUPPORTED))}"
        )
    try:
        if path.suffix.lower() == ".csv":
            return "qa", load_qa_csv(path)
        if kind == "pdf":
            return kind, load_pdf(path)
        if kind == "docx":
            sections = load_docx(path)
            pairs = parse_qa("\n".join(s.text for s in sections))
            return ("qa", pairs) if pairs else (kind, sections)
        text = read_text(path)
    except KnowledgeBaseError:
        raise
    except Exception as exc:  # a broken file must not stop a whole folder
        raise KnowledgeBaseError(f"{path.name}: cannot read ({exc}); check the file") from exc
    pairs = parse_qa(text)
    if pairs:
        return "qa", pairs
    if kind == "qa":
        raise KnowledgeBaseError(
            f"{path.name}: no question/answer pairs found; "
            "write them as 'Q: … A: …' or '问：… 答：…'"
        )
    if kind == "markdown":
        return kind, load_markdown_text(text)
    return kind, [Section(text=text, line_base=1)]


def read_text(path: Path) -> str:
    """Text in UTF-8 (with or without BOM), else GB18030 (common for Chinese files)."""
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def load_pdf(path: Path) -> list[Section]:
    """One section per page, located as ``p. N``; scanned pages (images, no text layer) are
    read by OCR (the translator's recognizer, word boundaries restored)."""
    import pdfplumber

    sections: list[Section] = []
    with pdfplumber.open(path) as pdf:
        for number, page in enumerate(pdf.pages, start=1):
            text = page.extract_text() or ""
            if not text.strip() and page.images:
                from llmapps.ocr import lines_text, ocr_pdf_page

                text = lines_text(*ocr_pdf_page(str(path), number - 1))
            page.close()
            if text.strip():
                sections.append(Section(text=text, location=f"p. {number}"))
    return sections


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def load_markdown_text(text: str) -> list[Section]:
    """Sections under each heading, located by the heading path (``Setup > Linux``)."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    buffer: list[str] = []
    start_line = 1
    in_fence = False

    def flush() -> None:
        body = "\n".join(buffer).strip()
        if body:
            title = " > ".join(t for _, t in path)
            sections.append(Section(text=body, location=title, line_base=start_line))

    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            level, title = len(match.group(1)), match.group(2).strip()
            path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, title)]
            buffer = [title]  # the heading words help BM25 find the section
            start_line = number
        else:
            buffer.append(line)
    flush()
    return sections


def load_docx(path: Path) -> list[Section]:
    """Paragraphs grouped under their headings (``Heading N`` / ``标题 N`` styles); tables too."""
    import docx

    document = docx.Document(str(path))
    sections: list[Section] = []
    titles: list[tuple[int, str]] = []
    buffer: list[str] = []

    def flush() -> None:
        body = "\n".join(buffer).strip()
        if body:
            sections.append(Section(text=body, location=" > ".join(t for _, t in titles)))

    for para in document.paragraphs:
        style = (para.style.name if para.style is not None else "") or ""
        level = _heading_level(style)
        text = para.text.strip()
        if level and text:
            flush()
            titles = [(lvl, t) for lvl, t in titles if lvl < level] + [(level, text)]
            buffer = [text]
        elif text:
            buffer.append(text)
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                buffer.append(" | ".join(cells))
    flush()
    return sections


def _heading_level(style: str) -> int:
    match = re.match(r"^(?:Heading|标题)\s*(\d)$", style.strip(), re.IGNORECASE)
    if match:
        return int(match.group(1))
    return 1 if style.strip().lower() in {"title", "标题"} else 0


# --- Q&A pair files ---------------------------------------------------------------------

_Q_HEADERS = {"question", "questions", "q", "问题", "问", "提问"}
_A_HEADERS = {"answer", "answers", "a", "答案", "回答", "答", "解答"}


def load_qa_csv(path: Path) -> list[Section]:
    """A CSV of pairs (FAQ exports): columns named question/answer (问题/答案), else the first
    two columns; one atomic section per row."""
    import csv
    import io

    rows = [r for r in csv.reader(io.StringIO(read_text(path))) if any(c.strip() for c in r)]
    if not rows:
        raise KnowledgeBaseError(f"{path.name}: empty CSV; put a question and an answer per row")
    header = [c.strip().lower() for c in rows[0]]
    q_col = next((i for i, h in enumerate(header) if h in _Q_HEADERS), None)
    a_col = next((i for i, h in enumerate(header) if h in _A_HEADERS), None)
    if q_col is not None and a_col is not None:
        rows = rows[1:]
    else:
        q_col, a_col = 0, 1
    pairs = [
        _pair(n, row[q_col], row[a_col])
        for n, row in enumerate(
            (r for r in rows if len(r) > max(q_col, a_col) and r[q_col].strip()), start=1
        )
    ]
    if not pairs:
        raise KnowledgeBaseError(
            f"{path.name}: no question/answer rows; use two columns: question,answer"
        )
    return pairs


_NUM = r"(?:\d+\s*[.、)）:：]\s*|[(（]\d+[)）]\s*)?"
_Q = re.compile(rf"^\s*{_NUM}(?:Q\d*|Question|问题?|问)\s*[:：.、]\s*(.*)$", re.IGNORECASE)
_A = re.compile(r"^\s*(?:A\d*|Answer|答案?|回答|答)\s*[:：.、]\s*(.*)$", re.IGNORECASE)
_NUMBERED_QUESTION = re.compile(r"^\s*(\d+)\s*[.、)）]\s*(.+[?？])\s*$")


def parse_qa(text: str) -> list[Section]:
    """Question/answer pairs, one atomic section each; ``[]`` when ``text`` is not a Q&A file.

    Two shapes: explicit markers (``Q:``/``A:``, ``问：``/``答：``, optionally numbered) and
    numbered questions ending in ``?``/``？`` followed by answer lines. The pairs must cover
    most of the text, so an ordinary document with one "Q:" line stays a document.
    """
    pairs = _parse_marked(text) or _parse_numbered(text)
    if len(pairs) < 2:
        return []
    covered = sum(len(re.sub(r"\s", "", s.text)) for s in pairs)
    total = len(re.sub(r"\s", "", text)) or 1
    return pairs if covered >= 0.6 * total else []


def _pair(number: int, question: str, answer: str) -> Section:
    question, answer = question.strip(), answer.strip()
    return Section(text=f"Q: {question}\nA: {answer}", location=f"Q {number}", atomic=True)


def _parse_marked(text: str) -> list[Section]:
    pairs: list[Section] = []
    question: list[str] | None = None
    answer: list[str] | None = None

    def flush() -> None:
        if question is not None and answer is not None and "".join(answer).strip():
            pairs.append(_pair(len(pairs) + 1, "\n".join(question), "\n".join(answer)))

    for line in text.splitlines():
        q = _Q.match(line)
        a = _A.match(line) if not q else None
        # "Q: … A: …" on one line
        if q and (inline := re.search(r"\s(?:A|答|回答|Answer)\s*[:：]\s*", q.group(1))):
            flush()
            body = q.group(1)
            question, answer = [body[: inline.start()]], [body[inline.end() :]]
            continue
        if q:
            flush()
            question, answer = [q.group(1)], None
        elif a and question is not None:
            answer = [a.group(1)]
        elif answer is not None:
            answer.append(line)
        elif question is not None:
            question.append(line)
    flush()
    return pairs


def _parse_numbered(text: str) -> list[Section]:
    pairs: list[Section] = []
    question: str | None = None
    answer: list[str] = []
    for line in text.splitlines():
        match = _NUMBERED_QUESTION.match(line)
        if match:
            if question is not None and "".join(answer).strip():
                pairs.append(_pair(len(pairs) + 1, question, "\n".join(answer)))
            question, answer = match.group(2), []
        elif question is not None:
            answer.append(line)
    if question is not None and "".join(answer).strip():
        pairs.append(_pair(len(pairs) + 1, question, "\n".join(answer)))
    return pairs
