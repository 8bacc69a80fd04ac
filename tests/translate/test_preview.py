"""``llmapps translate X.pdf --preview DIR``: original and translated pages as PNGs, paired.

The model is the bench's pseudo-translator on a real loopback HTTP server reached through an
``openai-compatible:`` spec, as a user would configure a remote model.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from typer.testing import CliRunner

from bench.tools.pseudo_translator import PseudoTranslator
from llmapps.cli import app
from llmapps.translate.preview import render_page_png, write_previews

runner = CliRunner()


@pytest.fixture
def pseudo_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[PseudoTranslator]:
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", "test-key")
    with PseudoTranslator() as server:
        yield server


def _pages_pdf(path: Path) -> Path:
    """Three pages, each with a heading naming its page and a paragraph."""
    c = canvas.Canvas(str(path), pagesize=A4)
    for n in range(1, 4):
        c.setFont("Helvetica-Bold", 18)
        c.drawString(60, 760, f"Chapter number {n}")
        c.setFont("Helvetica", 11)
        c.drawString(60, 730, "Rivers carry water from the mountains to the sea.")
        c.rect(60, 500 - n * 60, 40 * n, 30, fill=1)  # a different mark on every page
        c.showPage()
    c.save()
    return path


def test_preview_writes_paired_pngs_for_the_selected_pages(
    tmp_path: Path, pseudo_model: PseudoTranslator
) -> None:
    pdf = _pages_pdf(tmp_path / "book.pdf")
    previews = tmp_path / "previews"
    args = ["translate", str(pdf), "--to", "zh", "-m", pseudo_model.spec, "--format", "pdf"]
    result = runner.invoke(
        app, [*args, "--pages", "2-3", "-o", str(tmp_path / "out"), "--preview", str(previews)]
    )
    assert result.exit_code == 0, result.output
    assert "preview: 2 page(s)" in result.output
    names = sorted(p.name for p in previews.iterdir())
    assert names == [
        "002.original.png",
        "002.translated.png",
        "003.original.png",
        "003.translated.png",
    ]
    translated = tmp_path / "out" / "book.zh.pdf"
    for number, index in ((2, 0), (3, 1)):
        original_png = (previews / f"{number:03d}.original.png").read_bytes()
        translated_png = (previews / f"{number:03d}.translated.png").read_bytes()
        assert original_png.startswith(b"\x89PNG")
        # The original preview is the original's page of that number, not of the same index.
        assert original_png == render_page_png(pdf, number - 1)
        assert translated_png == render_page_png(translated, index)
        assert translated_png != original_png
        a = Image.open(io.BytesIO(original_png))
        b = Image.open(io.BytesIO(translated_png))
        assert a.size == b.size


def test_preview_refuses_what_it_cannot_render(
    tmp_path: Path, pseudo_model: PseudoTranslator
) -> None:
    note = tmp_path / "note.md"
    note.write_text("# Hello\n\nGood morning.\n", encoding="utf-8")
    base = ["translate", "--to", "zh", "-m", pseudo_model.spec]
    result = runner.invoke(app, [*base, str(note), "--preview", str(tmp_path / "p")])
    assert result.exit_code == 1 and "--preview needs a PDF input" in result.output
    pdf = _pages_pdf(tmp_path / "book.pdf")
    result = runner.invoke(app, [*base, str(pdf), "--format", "md", "--preview", str(tmp_path)])
    assert result.exit_code == 1 and "add pdf to --format" in result.output
    blocker = tmp_path / "file.txt"
    blocker.write_text("x", encoding="utf-8")
    result = runner.invoke(app, [*base, str(pdf), "--preview", str(blocker)])
    assert result.exit_code == 1 and "not a folder" in result.output
    assert pseudo_model.calls == 0  # refused before any model call
    assert len(result.output.strip().splitlines()) == 1


def test_write_previews_rejects_a_page_list_of_the_wrong_length(tmp_path: Path) -> None:
    pdf = _pages_pdf(tmp_path / "book.pdf")
    with pytest.raises(ValueError, match="3 page"):
        write_previews(pdf, pdf, tmp_path / "p", [1, 2])


def _narrow_cells_pdf(path: Path) -> Path:
    """A ruled table whose header cells are far too narrow for any translation."""
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("Helvetica", 10)
    c.drawString(60, 780, "Engine data of the test cars.")
    xs, top = [60, 80, 100, 160], 740
    for k, text in enumerate(["cyl", "am", "1,204"]):
        c.drawString(xs[k] + 2, top - 9, text)
    for x in xs:
        c.line(x, top, x, top - 12)
    c.line(xs[0], top, xs[-1], top)
    c.line(xs[0], top - 12, xs[-1], top - 12)
    c.showPage()
    c.save()
    return path


def test_unfit_units_are_reported_in_the_summary(
    tmp_path: Path, pseudo_model: PseudoTranslator
) -> None:
    pdf = _narrow_cells_pdf(tmp_path / "cars.pdf")
    args = ["translate", str(pdf), "--to", "zh", "-m", pseudo_model.spec, "--format", "pdf"]
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "2 unit(s) did not fit their box and keep the source text (page(s) 1)" in " ".join(
        result.output.split()
    )
