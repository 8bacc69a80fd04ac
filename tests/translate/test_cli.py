"""``llmapps translate``: errors as one line, and one run on the real embedded model."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest
from typer.testing import CliRunner

from llmapps.cli import app

runner = CliRunner()


def test_encrypted_pdf_needs_password(simple_pdf: Path, tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=str(simple_pdf))
    writer.encrypt("pw")
    locked = tmp_path / "locked.pdf"
    writer.write(locked)
    result = runner.invoke(app, ["translate", str(locked), "--to", "zh"])
    assert result.exit_code == 1
    assert "encrypted" in result.output and "--password" in result.output


def test_corrupt_and_bad_options(tmp_path: Path, simple_pdf: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 nonsense")
    result = runner.invoke(app, ["translate", str(broken), "--to", "zh"])
    assert result.exit_code == 1 and "not a readable PDF" in result.output
    result = runner.invoke(app, ["translate", str(simple_pdf), "--to", "zh", "--pages", "9-"])
    assert result.exit_code == 1 and "past the end" in result.output
    result = runner.invoke(app, ["translate", str(simple_pdf), "--format", "docx"])
    assert result.exit_code == 1 and "unknown output format" in result.output


@pytest.mark.model
def test_cli_translates_with_embedded_model(tmp_path: Path) -> None:
    doc = tmp_path / "note.md"
    doc.write_text("# Greeting\n\nGood morning, friends.\n", encoding="utf-8")
    out = tmp_path / "out"
    args = ["translate", str(doc), "--to", "zh", "--format", "md,txt", "-o", str(out)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "model call(s)" in first.output and "0 from cache" in first.output
    md = (out / "note.zh.md").read_text(encoding="utf-8")
    assert md.startswith("# ") and (out / "note.zh.txt").is_file()
    assert doc.read_text(encoding="utf-8").startswith("# Greeting")  # input untouched
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "2 from cache, 0 model call(s)" in again.output
