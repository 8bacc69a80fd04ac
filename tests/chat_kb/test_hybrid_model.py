"""Hybrid retrieval with the real embedded model's embeddings (slow: few, short chunks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmapps.chat.kb import add_paths, create_kb, kb_info, remove_file, search
from llmapps.config import get_settings


@pytest.mark.model
def test_hybrid_search_with_local_embeddings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMAPPS_CHAT__KB_VECTORS", "true")
    (tmp_path / "a.md").write_text(
        "# Warranty\nThe purifier has a two year warranty.\n"
        "# Filter\nReplace the HEPA filter every six months.\n",
        "utf-8",
    )
    (tmp_path / "b.txt").write_text("Ozone output is zero because there is no ionizer.", "utf-8")
    create_kb("h")
    report = add_paths("h", [tmp_path / "a.md", tmp_path / "b.txt"])
    info = kb_info("h")
    assert report.chunks == 3
    assert info.vectors == 3, info.note
    assert info.embed_spec == "local:smollm2"
    assert (get_settings().home / "kb").rglob("vectors.faiss")

    hybrid = search("h", "How often do I replace the HEPA filter?", 3, threshold=0, mode="hybrid")
    assert hybrid[0].location == "Filter"
    assert all(0.0 <= h.score <= 1.0 for h in hybrid)
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)
    vector_only = search("h", "warranty", 3, threshold=0, mode="vector")
    assert len(vector_only) == 3  # every chunk has a vector
    assert search("h", "quantum chromodynamics lattice gauge", 3) == []  # below threshold

    remove_file("h", "b.txt")
    assert kb_info("h").vectors == 2


def test_vectors_auto_leaves_out_the_bundled_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By default the slow, weak SmolLM2 vectors are skipped (BM25 only) and the KB says why."""
    monkeypatch.delenv("LLMAPPS_CHAT__KB_VECTORS")
    (tmp_path / "a.md").write_text("# Filter\nReplace the HEPA filter every six months.\n", "utf-8")
    create_kb("auto")
    report = add_paths("auto", [tmp_path / "a.md"])
    info = kb_info("auto")
    assert report.chunks == 1
    assert info.vectors == 0
    assert info.note is not None and "chat.kb_vectors = true" in info.note
    assert not list((get_settings().home / "kb").rglob("vectors.faiss"))
    assert search("auto", "How often do I replace the HEPA filter?", 1)[0].location == "Filter"
