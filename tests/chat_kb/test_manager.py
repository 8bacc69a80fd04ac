"""Knowledge-base life cycle against the real SQLite file and index files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from llmapps.chat.kb import (
    KnowledgeBaseError,
    add_paths,
    create_kb,
    delete_kb,
    kb_info,
    list_kbs,
    rebuild,
    remove_file,
    search,
)
from llmapps.config import get_settings

from .test_loaders import make_docx, make_pdf


def _folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "guide.md").write_text(
        "# Filters\nThe HEPA filter lasts six months.\n## Pre-filter\nRinse the mesh.\n", "utf-8"
    )
    (root / "sub" / "notes.txt").write_text("The night light dims after ten minutes.", "utf-8")
    (root / "sub" / "deeper" / "faq.txt").write_text(
        "问：保修多久？\n答：两年。\n问：可以水洗吗？\n答：预过滤网可以。\n", "utf-8"
    )
    make_pdf(root / "sub" / "manual.pdf", ["Cover page", "The ozone output is zero."])
    make_docx(root / "manual.docx")
    (root / ".hidden" / "secret.md").write_text("# Hidden\nnever indexed", "utf-8")
    (root / "image.png").write_bytes(b"\x89PNG")
    return root


def test_add_folder_recursively_with_citations(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    create_kb("docs")
    progress: list[tuple[int, int, str]] = []
    report = add_paths("docs", [root], progress=lambda d, t, n: progress.append((d, t, n)))
    assert sorted(report.added) == [
        "docs/guide.md",
        "docs/manual.docx",
        "docs/sub/deeper/faq.txt",
        "docs/sub/manual.pdf",
        "docs/sub/notes.txt",
    ]
    assert report.failed == []
    assert progress[-1] == (5, 5, "")
    pdf_hit = search("docs", "ozone output", 1)[0]
    assert (pdf_hit.source, pdf_hit.location) == ("docs/sub/manual.pdf", "p. 2")
    md_hit = search("docs", "rinse the mesh", 1)[0]
    assert (md_hit.source, md_hit.location) == ("docs/guide.md", "Filters > Pre-filter")
    docx_hit = search("docs", "bracket screws", 1)[0]
    assert docx_hit.location == "Installation > Wall mounting"
    text_hit = search("docs", "night light dims", 1)[0]
    assert text_hit.source == "docs/sub/notes.txt" and text_hit.location == "line 1"
    assert search("docs", "never indexed hidden", 3) == []


def test_readding_skips_unchanged_and_replaces_changed_files(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    create_kb("docs")
    add_paths("docs", [root])
    again = add_paths("docs", [root])
    assert again.added == [] and len(again.unchanged) == 5
    (root / "sub" / "notes.txt").write_text("The display brightness has three levels.", "utf-8")
    third = add_paths("docs", [root])
    assert third.added == ["docs/sub/notes.txt"]
    assert all(h.source != "docs/sub/notes.txt" for h in search("docs", "night light dims", 3))
    assert search("docs", "display brightness levels", 1)[0].source == "docs/sub/notes.txt"
    assert len(kb_info("docs").files) == 5


def test_remove_file_and_rebuild(tmp_path: Path) -> None:
    root = _folder(tmp_path)
    create_kb("docs")
    add_paths("docs", [root])
    info = remove_file("docs", "manual.pdf")  # unique base name is enough
    assert "docs/sub/manual.pdf" not in [f.name for f in info.files]
    assert search("docs", "ozone output", 3) == []
    with pytest.raises(KnowledgeBaseError, match="not in knowledge base"):
        remove_file("docs", "manual.pdf")
    # rebuild re-reads changed files and keeps the chunks of vanished ones
    (root / "guide.md").write_text("# Filters\nThe carbon layer absorbs odours.\n", "utf-8")
    (root / "sub" / "notes.txt").unlink()
    report = rebuild("docs")
    assert [name for name, _ in report.failed] == ["docs/sub/notes.txt"]
    assert search("docs", "carbon layer odours", 1)[0].source == "docs/guide.md"
    assert search("docs", "night light dims", 1)[0].source == "docs/sub/notes.txt"


def test_lost_index_files_are_rebuilt_from_sqlite(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Timer\nThe timer runs up to 12 hours.", "utf-8")
    create_kb("k")
    add_paths("k", [tmp_path / "a.md"])
    for index in (get_settings().home / "kb").rglob("bm25.npz"):
        index.unlink()
    assert search("k", "timer hours", 1)[0].location == "Timer"


def test_broken_file_is_reported_and_the_rest_is_added(tmp_path: Path) -> None:
    root = tmp_path / "mixed"
    root.mkdir()
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (root / "good.md").write_text("# Good\nThe timer runs up to 12 hours.", "utf-8")
    create_kb("mixed")
    report = add_paths("mixed", [root])
    assert report.added == ["mixed/good.md"]
    assert [name for name, _ in report.failed] == ["mixed/broken.pdf"]
    assert search("mixed", "timer hours", 1)[0].source == "mixed/good.md"


def test_names_errors_and_delete(tmp_path: Path) -> None:
    create_kb("产品手册")
    create_kb("b-2")
    assert list_kbs() == ["b-2", "产品手册"]
    with pytest.raises(KnowledgeBaseError, match="already exists"):
        create_kb("b-2")
    with pytest.raises(KnowledgeBaseError, match="invalid knowledge base name"):
        create_kb("../evil")
    with pytest.raises(KnowledgeBaseError, match="not found: create it"):
        search("missing", "x")
    with pytest.raises(KnowledgeBaseError, match="no such file or folder"):
        add_paths("b-2", [tmp_path / "nope.md"])
    with pytest.raises(KnowledgeBaseError, match="unsupported file type"):
        (tmp_path / "a.png").write_bytes(b"x")
        add_paths("b-2", [tmp_path / "a.png"])
    (tmp_path / "a.md").write_text("# A\nalpha beta", "utf-8")
    add_paths("b-2", [tmp_path / "a.md"])
    folder = get_settings().home / "kb"
    assert any(folder.iterdir())
    delete_kb("b-2")
    assert list_kbs() == ["产品手册"]
    assert (tmp_path / "a.md").exists()  # sources are never touched


def test_bm25_index_is_fast_enough_to_search_many_chunks(tmp_path: Path) -> None:
    """Not a benchmark: a sanity check that search does not scan chunks in Python."""
    from llmapps.chat.kb.bm25 import Bm25Index

    docs = [(i, [f"w{i % 97}", f"v{i % 89}", "common", f"u{i}"]) for i in range(50_000)]
    index = Bm25Index.build(docs)
    start = time.perf_counter()
    for _ in range(20):
        hits = index.search(["w5", "v7", "common"], 5)
    assert time.perf_counter() - start < 5.0
    assert hits[0][1] <= 1.0 and hits[0][0] % 97 == 5 and hits[0][0] % 89 == 7
