"""A compact BM25 index over per-term postings arrays (numpy), saved as one ``.npz`` file.

Why our own: ``rank-bm25`` scores every document in Python for every query, which is far too
slow at 100k chunks. Here each term owns a slice of two flat arrays (document numbers and term
frequencies), so a query touches only the postings of its own terms and scores them with a few
vectorised numpy operations.

Scores are also turned into an absolute 0..1 relevance: the BM25 score divided by the sum of
the query terms' IDFs (what a document containing every query term once, at average length,
would score), clipped to 1. Query words that appear nowhere in the knowledge base count as
missing, so an unrelated question scores low even when its best chunk is ranked first.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from llmapps.chat.kb.filecache import StampedCache

K1 = 1.2
B = 0.75


class Bm25Index:
    """Postings for ``N`` documents; ``chunk_ids[i]`` is the chunk behind document ``i``."""

    def __init__(
        self,
        vocab: dict[str, int],
        offsets: np.ndarray,
        docs: np.ndarray,
        tfs: np.ndarray,
        doc_len: np.ndarray,
        chunk_ids: np.ndarray,
    ) -> None:
        self.vocab = vocab
        self.offsets = offsets
        self.docs = docs
        self.tfs = tfs
        self.doc_len = doc_len
        self.chunk_ids = chunk_ids
        n = len(doc_len)
        self.n_docs = n
        df = np.diff(offsets).astype(np.float64)
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self.max_idf = math.log1p((n + 0.5) / 0.5) if n else 1.0
        avgdl = float(doc_len.mean()) if n else 1.0
        self.norm = (K1 * (1 - B + B * doc_len / max(avgdl, 1e-9))).astype(np.float32)

    @classmethod
    def build(cls, documents: Iterable[tuple[int, list[str]]]) -> Bm25Index:
        """Index ``(chunk_id, tokens)`` pairs."""
        vocab: dict[str, int] = {}
        term_parts: list[np.ndarray] = []
        doc_parts: list[np.ndarray] = []
        tf_parts: list[np.ndarray] = []
        lengths: list[int] = []
        chunk_ids: list[int] = []
        for number, (chunk_id, tokens) in enumerate(documents):
            counts = Counter(tokens)
            ids = [vocab.setdefault(t, len(vocab)) for t in counts]
            term_parts.append(np.asarray(ids, dtype=np.int32))
            tf_parts.append(np.asarray(list(counts.values()), dtype=np.float32))
            doc_parts.append(np.full(len(ids), number, dtype=np.int32))
            lengths.append(len(tokens))
            chunk_ids.append(chunk_id)
        if term_parts:
            terms = np.concatenate(term_parts)
            docs = np.concatenate(doc_parts)
            tfs = np.concatenate(tf_parts)
        else:
            terms = np.zeros(0, np.int32)
            docs = np.zeros(0, np.int32)
            tfs = np.zeros(0, np.float32)
        order = np.argsort(terms, kind="stable")
        counts_per_term = np.bincount(terms, minlength=len(vocab)) if len(vocab) else np.zeros(0)
        offsets = np.zeros(len(vocab) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(counts_per_term)
        return cls(
            vocab,
            offsets,
            docs[order],
            tfs[order],
            np.asarray(lengths, dtype=np.float32),
            np.asarray(chunk_ids, dtype=np.int64),
        )

    def scores(self, tokens: list[str]) -> tuple[np.ndarray, float]:
        """Raw BM25 score of every document and the query's normaliser (sum of IDFs)."""
        scores = np.zeros(self.n_docs, dtype=np.float32)
        normaliser = 0.0
        for token in dict.fromkeys(tokens):  # unique, order kept
            term = self.vocab.get(token)
            if term is None:
                normaliser += self.max_idf
                continue
            idf = float(self.idf[term])
            normaliser += idf
            lo, hi = self.offsets[term], self.offsets[term + 1]
            docs = self.docs[lo:hi]
            tf = self.tfs[lo:hi]
            scores[docs] += idf * tf * (K1 + 1) / (tf + self.norm[docs])
        return scores, normaliser

    def search(self, tokens: list[str], k: int) -> list[tuple[int, float]]:
        """Top ``k`` ``(chunk_id, relevance 0..1)`` pairs, best first; only matching chunks."""
        if not self.n_docs or not tokens:
            return []
        scores, normaliser = self.scores(tokens)
        k = min(k, self.n_docs)
        top = np.argpartition(-scores, k - 1)[:k] if k < self.n_docs else np.arange(self.n_docs)
        top = top[np.argsort(-scores[top], kind="stable")]
        return [
            (int(self.chunk_ids[i]), min(1.0, float(scores[i]) / normaliser))
            for i in top
            if scores[i] > 0
        ]

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename) so readers never see half an index."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        terms = [""] * len(self.vocab)
        for term, idx in self.vocab.items():
            terms[idx] = term
        np.savez(
            tmp,
            vocab=np.frombuffer(json.dumps(terms, ensure_ascii=False).encode(), dtype=np.uint8),
            offsets=self.offsets,
            docs=self.docs,
            tfs=self.tfs,
            doc_len=self.doc_len,
            chunk_ids=self.chunk_ids,
        )
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Bm25Index:
        with np.load(path) as data:
            terms = json.loads(data["vocab"].tobytes().decode())
            return cls(
                {t: i for i, t in enumerate(terms)},
                data["offsets"],
                data["docs"],
                data["tfs"],
                data["doc_len"],
                data["chunk_ids"],
            )


_cache: StampedCache[Bm25Index] = StampedCache(Bm25Index.load)


def load_cached(path: Path) -> Bm25Index | None:
    """The index at ``path``, re-read only when the file changed; ``None`` if it is missing."""
    return _cache.get(path, path)
