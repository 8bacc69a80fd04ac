"""Text handling aware of Chinese and English: BM25 tokens, sentences, chunks.

Why here and not in a library: BM25 needs the same tokens at index and query time, and
Chinese has no spaces, so words come from jieba's search-mode segmentation (which also emits
the shorter words inside long ones, good for recall); English words are lower-cased, not
stemmed. Chunks end on sentence boundaries (``。！？`` and ``.!?``) so a citation never cuts a
sentence in half, and neighbouring chunks overlap by a sentence or two.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

_jieba_lock = threading.Lock()
_jieba_ready = False

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_WORD = re.compile(rf"[{_CJK}]+|[A-Za-z0-9][A-Za-z0-9_'\-]*", re.UNICODE)
_TOKEN_OK = re.compile(rf"[{_CJK}A-Za-z0-9]")

# Very common words: they match everything and only add noise to BM25.
_STOPWORD_TEXT = """
a an the and or of to in on at for is are was were be been it its this that these those
with as by from do does did how what which who whom when where why can could should would
will i you he she we they me my your our their there here if then than so not no yes
about into up out any all has have had having am may might must shall
的 了 是 在 和 与 及 或 吗 呢 吧 啊 呀 么 什么 怎么 怎样 如何 哪些 哪个 为什么 请问 一个
我 你 您 他 她 它 我们 你们 他们 这 那 这个 那个 有 没有 就 都 也 还 又 被 把 对 从 到 能 会
可以 要 需要 个 之 其 该 并 而 等
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _jieba() -> object:
    """Import jieba once, quietly (it logs its dictionary loading at INFO on stderr)."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                logging.getLogger("jieba").setLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba


def tokenize(text: str) -> list[str]:
    """BM25 tokens: jieba search-mode words for Chinese runs, lower-cased English words."""
    tokens: list[str] = []
    jieba = None
    for match in _WORD.finditer(text):
        word = match.group(0)
        if _HAS_CJK.match(word):
            if jieba is None:
                jieba = _jieba()
            for piece in jieba.lcut_for_search(word, HMM=True):  # type: ignore[attr-defined]
                if piece not in STOPWORDS and _TOKEN_OK.search(piece):
                    tokens.append(piece)
        else:
            low = word.lower().strip("'-_")
            if low and low not in STOPWORDS:
                tokens.append(low)
    return tokens


_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|(?<=[.])(?=\s)|\n\s*\n|(?<=\n)(?=\s*[-*•]\s)")


def split_sentences(text: str) -> list[str]:
    """Split on Chinese/English sentence ends and blank lines; pieces keep their punctuation."""
    pieces = _SENTENCE_END.split(text)
    return [p for p in pieces if p and p.strip()]


@dataclass
class Piece:
    """A chunk of a section: its text and where it starts in the section (for line numbers)."""

    text: str
    start: int


def chunk_text(text: str, *, max_chars: int = 600, overlap_chars: int = 100) -> list[Piece]:
    """Pack sentences into chunks of at most ``max_chars``; consecutive chunks share up to
    ``overlap_chars`` of trailing sentences. A sentence longer than a chunk is cut hard."""
    text = text.strip("\n")
    if not text.strip():
        return []
    if len(text) <= max_chars:
        return [Piece(text.strip(), len(text) - len(text.lstrip()))]
    # Sentences with their offsets in ``text``.
    sentences: list[tuple[int, str]] = []
    pos = 0
    for sentence in split_sentences(text):
        idx = text.find(sentence, pos)
        idx = pos if idx < 0 else idx
        pos = idx + len(sentence)
        while len(sentence) > max_chars:  # hard-cut very long "sentences" (tables, code)
            sentences.append((idx, sentence[:max_chars]))
            idx += max_chars
            sentence = sentence[max_chars:]
        if sentence.strip():
            sentences.append((idx, sentence))
    chunks: list[Piece] = []
    current: list[tuple[int, str]] = []
    size = 0
    for start, sentence in sentences:
        if current and size + len(sentence) > max_chars:
            chunks.append(_join(current))
            # Carry trailing sentences into the next chunk as overlap.
            carry: list[tuple[int, str]] = []
            carried = 0
            for item in reversed(current):
                if carried + len(item[1]) > overlap_chars or len(carry) >= 2:
                    break
                carry.insert(0, item)
                carried += len(item[1])
            if carried + len(sentence) > max_chars:
                carry, carried = [], 0
            current, size = carry, carried
        current.append((start, sentence))
        size += len(sentence)
    if current:
        chunks.append(_join(current))
    return [c for c in chunks if c.text]


def _join(items: list[tuple[int, str]]) -> Piece:
    joined = "".join(s for _, s in items)
    lead = len(joined) - len(joined.lstrip())
    return Piece(joined.strip(), items[0][0] + lead)
