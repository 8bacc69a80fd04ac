"""Knowledge bases for the chat assistant (RAG): files -> chunks -> BM25 (+ vectors) -> hits.

Why this package: the chat turn, the ``kb`` CLI, the HTTP routes and the web tab all call the
same functions here. Hits carry their citation (``source`` file and ``location``: ``"p. 3"``
for PDF pages, the section title for Markdown/DOCX, ``"Q 3"`` for Q&A pairs) and a score
normalised to 0..1 so a threshold can turn weak retrieval into "I don't know".
"""

from __future__ import annotations

from llmapps.chat.kb.manager import (
    AddReport,
    add_paths,
    create_kb,
    delete_kb,
    kb_info,
    list_kbs,
    rebuild,
    remove_file,
    search,
)
from llmapps.chat.kb.types import FileInfo, Hit, KbInfo, KnowledgeBaseError

__all__ = [
    "AddReport",
    "FileInfo",
    "Hit",
    "KbInfo",
    "KnowledgeBaseError",
    "add_paths",
    "create_kb",
    "delete_kb",
    "kb_info",
    "list_kbs",
    "rebuild",
    "remove_file",
    "search",
]
