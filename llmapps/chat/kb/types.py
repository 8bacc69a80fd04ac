"""Value types and the error of the knowledge-base package."""

from __future__ import annotations

from dataclasses import dataclass, field

from llmapps.errors import LlmappsError


class KnowledgeBaseError(LlmappsError):
    """A knowledge-base problem (unknown KB, unreadable file, …) named with its fix."""

    status_code = 400


class UnknownKbError(KnowledgeBaseError):
    status_code = 404


@dataclass
class Hit:
    """One retrieved chunk with its citation; ``score`` is normalised to 0..1 (1 = best)."""

    text: str
    source: str  # the file's name as added (relative to the folder added)
    location: str  # "p. 3", a section title, "Q 3", "line 12" or ""
    score: float
    chunk_id: int


@dataclass
class FileInfo:
    """A file of a knowledge base."""

    id: int
    name: str
    path: str
    kind: str
    chunks: int
    size: int
    added_at: str


@dataclass
class KbInfo:
    """A knowledge base and its files (``kb list NAME``, the web tab, the HTTP routes)."""

    name: str
    created_at: str
    files: list[FileInfo] = field(default_factory=list)
    chunks: int = 0
    vectors: int = 0
    embed_spec: str | None = None
    note: str = ""  # e.g. why vectors are not available
