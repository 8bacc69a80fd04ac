"""``llmapps kb …`` through Typer's CliRunner against the real store."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from llmapps.cli import app

runner = CliRunner()


def test_kb_commands_end_to_end(data_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["kb", "create", "faq"])
    assert result.exit_code == 0, result.output
    (tmp_path / "more").mkdir()
    care = tmp_path / "more" / "care.md"
    care.write_text("# Care\nWipe the casing with a soft cloth.", "utf-8")
    result = runner.invoke(
        app, ["kb", "add", "faq", str(data_dir / "starriver_faq_zh.txt"), str(tmp_path / "more")]
    )
    assert result.exit_code == 0, result.output
    assert "added 2 file(s), 17 chunk(s)" in result.output

    result = runner.invoke(app, ["kb", "list"])
    assert result.exit_code == 0 and "faq" in result.output
    result = runner.invoke(app, ["kb", "list", "faq", "--json"])
    info = json.loads(result.output)
    assert {f["name"] for f in info["files"]} == {"starriver_faq_zh.txt", "more/care.md"}

    result = runner.invoke(app, ["kb", "search", "faq", "臭氧", "-k", "2", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert hits[0]["source"] == "starriver_faq_zh.txt"
    assert hits[0]["location"] == "Q 9"
    assert 0 < hits[0]["score"] <= 1

    result = runner.invoke(app, ["kb", "search", "faq", "soft cloth casing"])
    assert "more/care.md, Care" in result.output and "score" in result.output

    result = runner.invoke(app, ["kb", "search", "faq", "who won the world cup"])
    assert result.exit_code == 0
    assert "does not know" in result.output

    result = runner.invoke(app, ["kb", "remove", "faq", "more/care.md"])
    assert result.exit_code == 0 and "1 file(s), 16 chunk(s) left" in result.output
    result = runner.invoke(app, ["kb", "rebuild", "faq"])
    assert result.exit_code == 0 and "added 1 file(s), 16 chunk(s)" in result.output
    result = runner.invoke(app, ["kb", "delete", "faq", "--yes"])
    assert result.exit_code == 0
    assert "no knowledge bases yet" in runner.invoke(app, ["kb", "list"]).output


def test_kb_errors_are_one_line_with_non_zero_exit(tmp_path: Path) -> None:
    result = runner.invoke(app, ["kb", "search", "ghost", "x"])
    assert result.exit_code == 1
    assert "knowledge base 'ghost' not found: create it with 'llmapps kb create ghost'" in (
        result.output
    )
    runner.invoke(app, ["kb", "create", "a"])
    result = runner.invoke(app, ["kb", "add", "a", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "no such file or folder" in result.output
    result = runner.invoke(app, ["kb", "remove", "a", "nothing.md"])
    assert result.exit_code == 1 and "is not in knowledge base 'a'" in result.output
