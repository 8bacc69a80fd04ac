"""Knowledge-base operations: create, add files/folders, remove, rebuild, search.

Why one module: the CLI, the HTTP routes, the web tab and the chat turn all call these
functions, so the rules (what a file's name is, when an unchanged file is skipped, how the
indexes stay in step with SQLite) live in one place.

Storage: KBs, files and chunks (text, citation location, BM25 tokens) live in SQLite; the BM25
index (``bm25.npz``) and the vector index (``vectors.faiss``) are files under
``<home>/kb/<kb id>/``, rebuilt from SQLite whenever the chunks change, so SQLite is the truth
and the index files can always be recreated with ``rebuild``.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from llmapps.chat.kb import bm25, vectors
from llmapps.chat.kb.loaders import kind_of, load_file
from llmapps.chat.kb.text import chunk_text, tokenize
from llmapps.chat.kb.types import FileInfo, Hit, KbInfo, KnowledgeBaseError, UnknownKbError
from llmapps.config import Settings, get_settings
from llmapps.store import get_db
from llmapps.store.db import Database

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]

RRF_K = 60  # the usual reciprocal-rank-fusion constant
_NAME = re.compile(r"^[\w][\w .\-]{0,63}$", re.UNICODE)

MIGRATIONS = [
    """
    CREATE TABLE IF NOT EXISTS chat_kb_bases (
        id INTEGER PRIMARY KEY,
        name VARCHAR(64) NOT NULL UNIQUE,
        created_at VARCHAR(40) NOT NULL,
        embed_spec TEXT,
        note TEXT
    );
    CREATE TABLE IF NOT EXISTS chat_kb_files (
        id INTEGER PRIMARY KEY,
        kb_id INTEGER NOT NULL REFERENCES chat_kb_bases(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        name TEXT NOT NULL,
        kind VARCHAR(16) NOT NULL,
        sha256 VARCHAR(64) NOT NULL,
        size INTEGER NOT NULL,
        chunks INTEGER NOT NULL DEFAULT 0,
        added_at VARCHAR(40) NOT NULL,
        UNIQUE (kb_id, path)
    );
    CREATE TABLE IF NOT EXISTS chat_kb_chunks (
        id INTEGER PRIMARY KEY,
        kb_id INTEGER NOT NULL REFERENCES chat_kb_bases(id) ON DELETE CASCADE,
        file_id INTEGER NOT NULL REFERENCES chat_kb_files(id) ON DELETE CASCADE,
        ord INTEGER NOT NULL,
        text TEXT NOT NULL,
        location TEXT NOT NULL,
        tokens TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS chat_kb_chunks_kb ON chat_kb_chunks(kb_id);
    CREATE INDEX IF NOT EXISTS chat_kb_chunks_file ON chat_kb_chunks(file_id);
    """
]

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass
class AddReport:
    """What ``add_paths`` did; failed files do not stop the others (partial work is kept)."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    info: KbInfo | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape the upload endpoint and the web tab share."""
        return {
            "added": self.added,
            "unchanged": self.unchanged,
            "failed": [{"file": f, "error": e} for f, e in self.failed],
            "chunks": self.chunks,
        }


def _db(settings: Settings) -> Database:
    db = get_db(settings)
    db.migrate("chat_kb", MIGRATIONS)
    return db


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def _lock(settings: Settings, name: str) -> Iterator[None]:
    """One writer per KB: a thread lock in this process plus an ``flock`` on a lock file, so
    the CLI and a running server adding to the same KB do not interleave index rebuilds."""
    key = f"{settings.db_path}:{name}"
    with _locks_guard:
        thread_lock = _locks.setdefault(key, threading.Lock())
    folder = settings.home / "kb" / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:16]
    with thread_lock, open(folder / f"{digest}.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _folder(settings: Settings, kb_id: int) -> Path:
    return settings.home / "kb" / str(kb_id)


def _row(db: Database, name: str) -> Any:
    row = db.query_one("SELECT * FROM chat_kb_bases WHERE name = ?", (name,))
    if row is None:
        raise UnknownKbError(
            f"knowledge base '{name}' not found: create it with 'llmapps kb create {name}'"
        )
    return row


# --- create / list / info / delete -------------------------------------------------------


def create_kb(name: str, *, settings: Settings | None = None) -> KbInfo:
    """Create an empty knowledge base; the name is what users type (Chinese is fine)."""
    settings = settings or get_settings()
    name = name.strip()
    if not _NAME.match(name):
        raise KnowledgeBaseError(
            f"invalid knowledge base name {name!r}: use letters, digits, spaces, '.', '-' or '_' "
            "(at most 64 characters)"
        )
    db = _db(settings)
    with db.transaction() as conn:
        if conn.execute("SELECT 1 FROM chat_kb_bases WHERE name = ?", (name,)).fetchone():
            raise KnowledgeBaseError(
                f"knowledge base '{name}' already exists: "
                f"add files with 'llmapps kb add {name} PATH'"
            )
        conn.execute("INSERT INTO chat_kb_bases(name, created_at) VALUES (?, ?)", (name, _now()))
    return kb_info(name, settings=settings)


def list_kbs(settings: Settings | None = None) -> list[str]:
    """Names of all knowledge bases, sorted."""
    db = _db(settings or get_settings())
    return [r["name"] for r in db.query("SELECT name FROM chat_kb_bases ORDER BY name")]


def kb_info(name: str, *, settings: Settings | None = None) -> KbInfo:
    """A knowledge base with its files and index sizes."""
    settings = settings or get_settings()
    db = _db(settings)
    row = _row(db, name)
    files = [
        FileInfo(
            id=r["id"],
            name=r["name"],
            path=r["path"],
            kind=r["kind"],
            chunks=r["chunks"],
            size=r["size"],
            added_at=r["added_at"],
        )
        for r in db.query("SELECT * FROM chat_kb_files WHERE kb_id = ? ORDER BY name", (row["id"],))
    ]
    vec = vectors.load_cached(_folder(settings, row["id"]))
    return KbInfo(
        name=row["name"],
        created_at=row["created_at"],
        files=files,
        chunks=sum(f.chunks for f in files),
        vectors=len(vec.chunk_ids) if vec else 0,
        embed_spec=row["embed_spec"],
        note=row["note"] or "",
    )


def delete_kb(name: str, *, settings: Settings | None = None) -> None:
    """Delete a knowledge base, its chunks and index files (the source files stay untouched)."""
    settings = settings or get_settings()
    db = _db(settings)
    with _lock(settings, name):
        row = _row(db, name)
        with db.transaction() as conn:
            conn.execute("DELETE FROM chat_kb_chunks WHERE kb_id = ?", (row["id"],))
            conn.execute("DELETE FROM chat_kb_files WHERE kb_id = ?", (row["id"],))
            conn.execute("DELETE FROM chat_kb_bases WHERE id = ?", (row["id"],))
        shutil.rmtree(_folder(settings, row["id"]), ignore_errors=True)


# --- adding files ------------------------------------------------------------------------


def _expand(paths: Iterable[str | Path]) -> list[tuple[Path, str]]:
    """Files to add with their display names; folders are walked recursively (hidden skipped).

    Every path is checked before any work starts, so a typo fails fast with nothing changed.
    """
    found: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise KnowledgeBaseError(f"{raw}: no such file or folder; check the path")
        if path.is_dir():
            root = path.resolve()
            for file in sorted(root.rglob("*")):
                rel = file.relative_to(root)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if file.is_file() and kind_of(file):
                    found.append((file, f"{root.name}/{rel.as_posix()}"))
        elif kind_of(path) is None:
            raise KnowledgeBaseError(
                f"{raw}: unsupported file type; add PDF, Markdown, text, DOCX or Q&A files"
            )
        else:
            found.append((path.resolve(), path.name))
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _chunks_of(path: Path, settings: Settings) -> tuple[str, list[tuple[str, str]]]:
    """``(kind, [(text, location), …])`` for a file."""
    kind, sections = load_file(path)
    out: list[tuple[str, str]] = []
    for section in sections:
        if section.atomic:
            out.append((section.text.strip(), section.location))
            continue
        for piece in chunk_text(
            section.text,
            max_chars=settings.chat.kb_chunk_chars,
            overlap_chars=settings.chat.kb_chunk_overlap,
        ):
            location = section.location
            if not location and section.line_base is not None:
                location = f"line {section.line_base + section.text.count(chr(10), 0, piece.start)}"
            out.append((piece.text, location))
    return kind, out


# The embedded SmolLM2: its vectors are used only when chat.kb_vectors = true says so.
BUNDLED_EMBEDDINGS = "local:smollm2"


class _Embedder:
    """Embeds chunks for one KB with the KB's own embeddings spec; remembers why it cannot."""

    _cache: ClassVar[dict[tuple[str, str], Any]] = {}

    def __init__(self, settings: Settings, spec: str | None) -> None:
        self.settings = settings
        self.spec = spec
        self.error = ""
        self.model: Any = None
        if settings.chat.kb_vectors is False:
            self.error = "vectors off (chat.kb_vectors = false)"
            return
        try:
            from llmapps.models import get_embeddings, resolve_spec

            self.spec = spec or str(
                resolve_spec(settings.models.embeddings or settings.models.default, settings)
            )
            if settings.chat.kb_vectors is None and self.spec == BUNDLED_EMBEDDINGS:
                self.error = (
                    "vectors off: the bundled model's are slow and weak; set models.embeddings "
                    "to a real embeddings model, or chat.kb_vectors = true to force them"
                )
                return
            key = (str(settings.home), self.spec)
            if key not in self._cache:
                self._cache[key] = get_embeddings(self.spec, settings=settings)
            self.model = self._cache[key]
        except Exception as exc:
            self.error = f"no embeddings ({exc}); BM25 only"

    def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        if self.model is None or not texts:
            return None
        try:
            return vectors.normalise(np.asarray(self.model.embed_documents(list(texts))))
        except Exception as exc:
            self.error = f"embedding failed ({exc}); BM25 only"
            self.model = None
            return None

    def embed_query(self, text: str) -> np.ndarray | None:
        if self.model is None:
            return None
        try:
            return vectors.normalise(np.asarray(self.model.embed_query(text)))
        except Exception as exc:
            log.warning("query embedding failed, using BM25 only: %s", exc)
            return None


@dataclass
class _NewVectors:
    """Vectors embedded during one add or rebuild, in step with the chunk ids they belong to."""

    vectors: list[np.ndarray] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)

    def add(self, embedder: _Embedder, chunks: list[tuple[str, str]], ids: list[int]) -> None:
        emb = embedder.embed([t for t, _ in chunks])
        if emb is not None:
            self.vectors.append(emb)
            self.ids.extend(ids)


def add_paths(
    name: str,
    paths: Iterable[str | Path],
    *,
    progress: ProgressCallback | None = None,
    settings: Settings | None = None,
) -> AddReport:
    """Add files and folders (recursively); unchanged files are skipped, changed ones replaced.

    ``progress(done, total, current_name)`` is called before each file and once at the end.
    A file that cannot be read is reported in ``failed`` and the others still go in.
    """
    settings = settings or get_settings()
    db = _db(settings)
    files = _expand(paths)
    report = AddReport()
    with _lock(settings, name):
        row = _row(db, name)
        kb_id = row["id"]
        embedder = _Embedder(settings, row["embed_spec"])
        vec_index = vectors.load_cached(_folder(settings, kb_id)) if embedder.model else None
        new = _NewVectors()
        try:
            for done, (path, display) in enumerate(files):
                if progress:
                    progress(done, len(files), display)
                try:
                    digest = _sha256(path)
                    old = db.query_one(
                        "SELECT id, sha256 FROM chat_kb_files WHERE kb_id = ? AND path = ?",
                        (kb_id, str(path)),
                    )
                    if old is not None and old["sha256"] == digest:
                        report.unchanged.append(display)
                        continue
                    kind, chunks = _chunks_of(path, settings)
                except KnowledgeBaseError as exc:
                    report.failed.append((display, str(exc)))
                    continue
                except OSError as exc:
                    report.failed.append((display, f"{display}: cannot read ({exc})"))
                    continue
                chunk_ids = _store_file(db, kb_id, path, display, kind, digest, chunks, old)
                report.added.append(display)
                report.chunks += len(chunk_ids)
                new.add(embedder, chunks, chunk_ids)
        finally:
            _save_indexes(db, settings, kb_id, embedder, vec_index, new.vectors, new.ids)
            if progress:
                progress(len(files), len(files), "")
        report.info = kb_info(name, settings=settings)
    return report


def _store_file(
    db: Database,
    kb_id: int,
    path: Path,
    display: str,
    kind: str,
    digest: str,
    chunks: list[tuple[str, str]],
    old: Any,
) -> list[int]:
    """Replace the file's row and chunks in one transaction; returns the new chunk ids."""
    ids: list[int] = []
    with db.transaction() as conn:
        if old is not None:
            conn.execute("DELETE FROM chat_kb_chunks WHERE file_id = ?", (old["id"],))
            conn.execute("DELETE FROM chat_kb_files WHERE id = ?", (old["id"],))
        cur = conn.execute(
            "INSERT INTO chat_kb_files(kb_id, path, name, kind, sha256, size, chunks, added_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (kb_id, str(path), display, kind, digest, path.stat().st_size, len(chunks), _now()),
        )
        file_id = cur.lastrowid
        for order, (text, location) in enumerate(chunks):
            cur = conn.execute(
                "INSERT INTO chat_kb_chunks(kb_id, file_id, ord, text, location, tokens) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (kb_id, file_id, order, text, location, " ".join(_index_tokens(text, location))),
            )
            ids.append(int(cur.lastrowid or 0))
    return ids


def _index_tokens(text: str, location: str) -> list[str]:
    """BM25 tokens of a chunk: its text plus its heading path (not page or pair numbers)."""
    if location and not re.match(r"^(p\. |Q |line )\d+$", location):
        return tokenize(f"{location}\n{text}")
    return tokenize(text)


def _save_indexes(
    db: Database,
    settings: Settings,
    kb_id: int,
    embedder: _Embedder | None,
    vec_index: vectors.VectorIndex | None,
    new_vectors: list[np.ndarray],
    new_ids: list[int],
    *,
    replace_vectors: bool = False,
) -> None:
    """Rebuild BM25 from SQLite; update the vector index (dropping rows of deleted chunks)."""
    folder = _folder(settings, kb_id)
    folder.mkdir(parents=True, exist_ok=True)
    rows = db.query("SELECT id, tokens FROM chat_kb_chunks WHERE kb_id = ? ORDER BY id", (kb_id,))
    bm25.Bm25Index.build((r["id"], r["tokens"].split()) for r in rows).save(folder / "bm25.npz")
    live = np.asarray([r["id"] for r in rows], dtype=np.int64)
    if embedder is None:  # removal only: keep the rows of chunks that still exist
        vec_index = vectors.load_cached(folder)
        if vec_index is not None:
            keep = np.isin(vec_index.chunk_ids, live)
            if not keep.all():
                vectors.VectorIndex(vec_index.vectors()[keep], vec_index.chunk_ids[keep]).save(
                    folder
                )
        return
    if new_ids:
        old_vecs = None if (vec_index is None or replace_vectors) else vec_index.vectors()
        old_ids = None if (vec_index is None or replace_vectors) else vec_index.chunk_ids
        parts = ([old_vecs] if old_vecs is not None and len(old_vecs) else []) + new_vectors
        ids = np.concatenate(
            ([old_ids] if old_ids is not None and len(old_ids) else [])
            + [np.asarray(new_ids, dtype=np.int64)]
        )
        all_vecs = np.concatenate(parts)
        keep = np.isin(ids, live)
        vectors.VectorIndex(all_vecs[keep], ids[keep]).save(folder)
        db.execute(
            "UPDATE chat_kb_bases SET embed_spec = ?, note = ? WHERE id = ?",
            (embedder.spec, embedder.error or None, kb_id),
        )
    else:
        if replace_vectors:
            vectors.remove_files(folder)
        elif vec_index is not None:
            keep = np.isin(vec_index.chunk_ids, live)
            if not keep.all():
                vectors.VectorIndex(vec_index.vectors()[keep], vec_index.chunk_ids[keep]).save(
                    folder
                )
        db.execute(
            "UPDATE chat_kb_bases SET note = ? WHERE id = ?", (embedder.error or None, kb_id)
        )


# --- removing / rebuilding ---------------------------------------------------------------


def _find_file(db: Database, kb_id: int, name: str, file: str) -> Any:
    rows = db.query("SELECT * FROM chat_kb_files WHERE kb_id = ?", (kb_id,))
    candidate = str(Path(file).expanduser().resolve()) if file else ""
    exact = [r for r in rows if r["name"] == file or r["path"] == candidate]
    if not exact:
        exact = [r for r in rows if Path(r["name"]).name == file]
    if len(exact) == 1:
        return exact[0]
    if not exact:
        raise KnowledgeBaseError(
            f"'{file}' is not in knowledge base '{name}': "
            f"see its files with 'llmapps kb list {name}'"
        )
    names = ", ".join(r["name"] for r in exact)
    raise KnowledgeBaseError(f"'{file}' matches several files ({names}): give the full name")


def remove_file(name: str, file: str, *, settings: Settings | None = None) -> KbInfo:
    """Remove one file (by its name as listed, its path, or its base name when unique)."""
    settings = settings or get_settings()
    db = _db(settings)
    with _lock(settings, name):
        row = _row(db, name)
        target = _find_file(db, row["id"], name, file)
        with db.transaction() as conn:
            conn.execute("DELETE FROM chat_kb_chunks WHERE file_id = ?", (target["id"],))
            conn.execute("DELETE FROM chat_kb_files WHERE id = ?", (target["id"],))
        _save_indexes(db, settings, row["id"], None, None, [], [])
    return kb_info(name, settings=settings)


def rebuild(
    name: str, *, progress: ProgressCallback | None = None, settings: Settings | None = None
) -> AddReport:
    """Re-read every file still on disk, re-chunk, re-embed (current settings) and re-index.

    Files that vanished keep their chunks (reported in ``failed``) so nothing is lost.
    """
    settings = settings or get_settings()
    db = _db(settings)
    report = AddReport()
    with _lock(settings, name):
        row = _row(db, name)
        kb_id = row["id"]
        files = db.query("SELECT * FROM chat_kb_files WHERE kb_id = ? ORDER BY name", (kb_id,))
        embedder = _Embedder(settings, None)  # rebuild adopts the current embeddings spec
        new = _NewVectors()
        try:
            for done, old in enumerate(files):
                if progress:
                    progress(done, len(files), old["name"])
                path = Path(old["path"])
                try:
                    if not path.is_file():
                        raise KnowledgeBaseError(f"{old['name']}: file is gone; chunks kept")
                    digest = _sha256(path)
                    kind, chunks = _chunks_of(path, settings)
                    ids = _store_file(db, kb_id, path, old["name"], kind, digest, chunks, old)
                except (KnowledgeBaseError, OSError) as exc:
                    report.failed.append((old["name"], str(exc)))
                    kept = db.query(
                        "SELECT id, text FROM chat_kb_chunks WHERE file_id = ? ORDER BY ord",
                        (old["id"],),
                    )
                    chunks = [(r["text"], "") for r in kept]
                    ids = [r["id"] for r in kept]
                else:
                    report.added.append(old["name"])
                report.chunks += len(ids)
                new.add(embedder, chunks, ids)
        finally:
            _save_indexes(
                db, settings, kb_id, embedder, None, new.vectors, new.ids, replace_vectors=True
            )
            if progress:
                progress(len(files), len(files), "")
        report.info = kb_info(name, settings=settings)
    return report


# --- search ------------------------------------------------------------------------------


def search(
    kb: str,
    query: str,
    k: int = 4,
    *,
    settings: Settings | None = None,
    threshold: float | None = None,
    mode: str = "auto",
    query_vector: np.ndarray | None = None,
) -> list[Hit]:
    """The ``k`` best chunks for ``query``, best first, with scores normalised to 0..1.

    ``mode``: ``auto`` (hybrid when the KB has vectors, else BM25), ``bm25``, ``vector`` or
    ``hybrid``. Hybrid ranks by reciprocal rank fusion of both lists; its score is the fused
    rank score (1 = first in both lists) times the best absolute relevance either method saw
    (a vector match counts ``chat.kb_vector_trust`` times its relevance), so an unrelated
    question scores low even though something always ranks first. Hits below
    ``threshold`` (default ``chat.kb_threshold``; pass 0 to keep all) are dropped: an empty
    list means "the knowledge base does not know". ``query_vector``: the query's embedding
    when the caller already has it (batch evaluation, benchmarks), else it is computed.
    """
    settings = settings or get_settings()
    if mode not in {"auto", "bm25", "vector", "hybrid"}:
        raise KnowledgeBaseError(f"unknown search mode {mode!r}: use auto, bm25, vector or hybrid")
    if k < 1:
        raise KnowledgeBaseError(f"k must be at least 1 (got {k})")
    threshold = settings.chat.kb_threshold if threshold is None else threshold
    # How far a vector match alone may vouch for an answer: small embedding models rate
    # unrelated texts as similar, so by default lexical evidence (BM25) carries the threshold.
    trust = settings.chat.kb_vector_trust
    db = _db(settings)
    row = _row(db, kb)
    folder = _folder(settings, row["id"])
    pool = max(k * 5, 20)

    lexical: list[tuple[int, float]] = []
    if mode in {"auto", "bm25", "hybrid"}:
        index = bm25.load_cached(folder / "bm25.npz")
        if index is None and db.query_one(
            "SELECT 1 FROM chat_kb_chunks WHERE kb_id = ? LIMIT 1", (row["id"],)
        ):  # the index file was lost (copied data dir, disk cleanup): rebuild it from SQLite
            with _lock(settings, kb):
                _save_indexes(db, settings, row["id"], None, None, [], [])
            index = bm25.load_cached(folder / "bm25.npz")
        if index is not None:
            lexical = index.search(tokenize(query), pool)

    semantic: list[tuple[int, float, float]] = []
    if mode in {"auto", "vector", "hybrid"}:
        vec_index = vectors.load_cached(folder)
        if vec_index is not None and row["embed_spec"]:
            qvec = (
                vectors.normalise(query_vector)
                if query_vector is not None
                else _Embedder(settings, row["embed_spec"]).embed_query(query)
            )
            if qvec is not None and qvec.shape[1] == vec_index.dim:
                semantic = vec_index.search(qvec, pool)
        elif mode == "vector":
            raise KnowledgeBaseError(
                f"knowledge base '{kb}' has no vectors: enable embeddings and run "
                f"'llmapps kb rebuild {kb}'"
            )

    scored: list[tuple[int, float]]
    if lexical and semantic:
        fused: dict[int, float] = {}
        for ranking in ([c for c, _ in lexical], [c for c, _, _ in semantic]):
            for rank, chunk_id in enumerate(ranking, start=1):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
        best = 2.0 / (RRF_K + 1)
        confidence = max(lexical[0][1], trust * semantic[0][2])
        scored = sorted(
            ((c, min(1.0, s / best) * confidence) for c, s in fused.items()),
            key=lambda item: -item[1],
        )
    elif semantic:  # vectors alone: trusted fully only when asked for (mode="vector")
        weight = 1.0 if mode == "vector" else trust
        scored = [(c, weight * rel) for c, _, rel in semantic]
    else:
        scored = lexical
    scored = [(c, s) for c, s in scored if s >= threshold][:k]
    return _hits(db, scored)


def _hits(db: Database, scored: list[tuple[int, float]]) -> list[Hit]:
    if not scored:
        return []
    marks = ",".join("?" * len(scored))
    rows = db.query(
        "SELECT c.id, c.text, c.location, f.name FROM chat_kb_chunks c "
        f"JOIN chat_kb_files f ON f.id = c.file_id WHERE c.id IN ({marks})",
        [c for c, _ in scored],
    )
    by_id = {r["id"]: r for r in rows}
    return [
        Hit(
            text=by_id[c]["text"],
            source=by_id[c]["name"],
            location=by_id[c]["location"],
            score=round(float(s), 4),
            chunk_id=c,
        )
        for c, s in scored
        if c in by_id  # a chunk deleted since the index was read
    ]
