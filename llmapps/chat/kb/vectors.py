"""Vector search: an exhaustive faiss inner-product index over L2-normalised embeddings.

Why exhaustive: inner product over normalised vectors is cosine similarity, needs no
training and no tuning, and a scan is fast enough for 100k chunks on a CPU. Vectors are stored
as float16 (``IndexScalarQuantizer`` fp16): a scan is memory-bound, so half the bytes is about
twice the speed, for a similarity error around 1e-3; the chunk id of each row lives in a
``.npy`` beside it. The 90th percentile similarity of random chunk pairs (``baseline``) is
kept to turn a cosine into a 0..1 relevance: small embedding models put every text at a high
cosine of every other, so "0.7" only means something relative to what unrelated chunks score.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from llmapps.chat.kb.filecache import StampedCache

SMALL_INDEX = 50_000
_DEFAULT_THREADS = max(1, min(4, os.cpu_count() or 1))


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms)


class VectorIndex:
    """Rows of normalised vectors with their chunk ids."""

    def __init__(self, vectors: np.ndarray, chunk_ids: np.ndarray) -> None:
        import faiss

        self.dim = int(vectors.shape[1]) if vectors.ndim == 2 and vectors.size else 0
        self.chunk_ids = np.asarray(chunk_ids, dtype=np.int64)
        self.index = faiss.IndexScalarQuantizer(
            max(self.dim, 1), faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        if len(self.chunk_ids):
            self.index.add(normalise(vectors))
        self.baseline = self._baseline()

    def _baseline(self) -> float:
        n = len(self.chunk_ids)
        if n < 4:
            return 0.0
        rng = np.random.default_rng(0)
        a = rng.integers(0, n, 256)
        b = rng.integers(0, n, 256)
        keep = a != b
        va = self.index.reconstruct_batch(a[keep])
        vb = self.index.reconstruct_batch(b[keep])
        return float(np.clip(np.percentile(np.sum(va * vb, axis=1), 90), 0.0, 0.95))

    def vectors(self) -> np.ndarray:
        if not len(self.chunk_ids):
            return np.zeros((0, self.dim), np.float32)
        return self.index.reconstruct_n(0, len(self.chunk_ids))

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float, float]]:
        """Top ``k`` ``(chunk_id, cosine, relevance 0..1)``, best first."""
        if not len(self.chunk_ids):
            return []
        import faiss

        # One query over a small index: OpenMP threads cost more than they save (and spin on
        # a busy machine); large indexes are memory-bound scans that threads do help.
        faiss.omp_set_num_threads(1 if len(self.chunk_ids) < SMALL_INDEX else _DEFAULT_THREADS)
        sims, rows = self.index.search(normalise(query), min(k, len(self.chunk_ids)))
        out = []
        for sim, row in zip(sims[0], rows[0], strict=True):
            if row < 0:
                continue
            rel = (float(sim) - self.baseline) / (1.0 - self.baseline)
            out.append((int(self.chunk_ids[row]), float(sim), float(np.clip(rel, 0.0, 1.0))))
        return out

    def save(self, folder: Path) -> None:
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        tmp_index = folder / "vectors.faiss.tmp"
        faiss.write_index(self.index, str(tmp_index))
        tmp_ids = folder / "vector_ids.tmp.npy"
        np.save(tmp_ids, self.chunk_ids)
        meta = folder / "vectors.json.tmp"
        meta.write_text(json.dumps({"dim": self.dim, "baseline": self.baseline}))
        os.replace(tmp_ids, folder / "vector_ids.npy")
        os.replace(meta, folder / "vectors.json")
        os.replace(tmp_index, folder / "vectors.faiss")  # last: its mtime marks a new version

    @classmethod
    def load(cls, folder: Path) -> VectorIndex:
        import faiss

        self = cls.__new__(cls)
        self.index = faiss.read_index(str(folder / "vectors.faiss"))  # type: ignore[assignment]
        self.chunk_ids = np.load(folder / "vector_ids.npy")
        meta = json.loads((folder / "vectors.json").read_text())
        self.dim = int(meta["dim"])
        self.baseline = float(meta["baseline"])
        return self


_cache: StampedCache[VectorIndex] = StampedCache(VectorIndex.load)


def load_cached(folder: Path) -> VectorIndex | None:
    return _cache.get(folder, folder / "vectors.faiss")


def remove_files(folder: Path) -> None:
    for name in ("vectors.faiss", "vector_ids.npy", "vectors.json"):
        (folder / name).unlink(missing_ok=True)
