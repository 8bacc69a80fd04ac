"""Loaders keep citations: PDF pages, Markdown/DOCX sections, text lines, Q&A pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmapps.chat.kb import KnowledgeBaseError
from llmapps.chat.kb.loaders import load_file, parse_qa
from llmapps.chat.kb.text import chunk_text, split_sentences, tokenize


def make_pdf(path: Path, pages: list[str]) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    for text in pages:
        y = 800
        for line in text.splitlines():
            pdf.drawString(72, y, line)
            y -= 16
        pdf.showPage()
    pdf.save()
    return path


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Installation", level=1)
    document.add_paragraph("Unpack the purifier and remove the plastic film from the filter.")
    document.add_heading("Wall mounting", level=2)
    document.add_paragraph("Use the two screws in the accessory bag to mount the bracket.")
    document.add_heading("Maintenance", level=1)
    document.add_paragraph("Clean the sensor window every month with a dry cloth.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Filter"
    table.rows[0].cells[1].text = "SR-F3"
    document.save(str(path))
    return path


def test_pdf_sections_carry_page_numbers(tmp_path: Path) -> None:
    pages = ["Welcome to the X3.", "Filter change: every 6 months."]
    path = make_pdf(tmp_path / "manual.pdf", pages)
    kind, sections = load_file(path)
    assert kind == "pdf"
    assert [s.location for s in sections] == ["p. 1", "p. 2"]
    assert "every 6 months" in sections[1].text


def test_markdown_sections_carry_heading_paths(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(
        "# Setup\nPlug it in.\n## Wi-Fi\nHold the button.\n```\n# not a heading\n```\n"
        "# Care\nDust it.\n",
        encoding="utf-8",
    )
    kind, sections = load_file(path)
    assert kind == "markdown"
    assert [s.location for s in sections] == ["Setup", "Setup > Wi-Fi", "Care"]
    assert "# not a heading" in sections[1].text


def test_docx_headings_become_sections(tmp_path: Path) -> None:
    kind, sections = load_file(make_docx(tmp_path / "manual.docx"))
    assert kind == "docx"
    locations = [s.location for s in sections]
    assert locations == ["Installation", "Installation > Wall mounting", "Maintenance"]
    assert "two screws" in sections[1].text
    assert "Filter | SR-F3" in sections[2].text  # tables are kept


def test_text_file_and_gb18030_encoding(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes("第一行说明。\n第二行说明。".encode("gb18030"))
    kind, sections = load_file(path)
    assert kind == "text"
    assert sections[0].text.startswith("第一行说明")
    assert sections[0].line_base == 1


def test_qa_formats() -> None:
    explicit = parse_qa("1. Q: How long? A: Two years.\n2. Q: Washable?\nA: Yes, in cold water.\n")
    assert [s.text for s in explicit] == [
        "Q: How long?\nA: Two years.",
        "Q: Washable?\nA: Yes, in cold water.",
    ]
    chinese = parse_qa("问：保修多久？\n答：两年。\n问题：能水洗吗？\n回答：可以。\n")
    assert [s.location for s in chinese] == ["Q 1", "Q 2"]
    assert chinese[1].text == "Q: 能水洗吗？\nA: 可以。"
    numbered = parse_qa("1. 保修多久？\n两年。\n2. How do I reset it?\nHold power for 10 s.\n")
    assert [s.text for s in numbered][1] == "Q: How do I reset it?\nA: Hold power for 10 s."
    assert all(s.atomic for s in numbered)


def test_docx_made_of_question_answer_pairs_is_a_qa_file(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    for q, a in [
        ("保修多久？", "两年。"),
        ("能水洗吗？", "预过滤网可以。"),
        ("哪里买？", "官方商城。"),
    ]:
        document.add_paragraph(f"问：{q}")
        document.add_paragraph(f"答：{a}")
    document.save(str(tmp_path / "faq.docx"))
    kind, sections = load_file(tmp_path / "faq.docx")
    assert kind == "qa"
    assert [s.text for s in sections][2] == "Q: 哪里买？\nA: 官方商城。"


def test_csv_question_answer_columns(tmp_path: Path) -> None:
    (tmp_path / "faq.csv").write_text(
        'id,问题,答案\n1,保修多久？,两年\n2,"Can I wash it, gently?","Yes, cold water"\n',
        encoding="utf-8",
    )
    kind, sections = load_file(tmp_path / "faq.csv")
    assert kind == "qa"
    assert [s.text for s in sections] == [
        "Q: 保修多久？\nA: 两年",
        "Q: Can I wash it, gently?\nA: Yes, cold water",
    ]
    (tmp_path / "plain.csv").write_text("How long?,Two years\nWhere?,Suzhou\n", "utf-8")
    assert [s.location for s in load_file(tmp_path / "plain.csv")[1]] == ["Q 1", "Q 2"]


def test_a_document_with_one_question_is_not_a_qa_file() -> None:
    text = "Q: why?\nA: because.\n" + "This is a long ordinary paragraph about purifiers. " * 20
    assert parse_qa(text) == []


def test_unsupported_and_empty_qa_files_fail_clearly(tmp_path: Path) -> None:
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(KnowledgeBaseError, match="unsupported file type"):
        load_file(tmp_path / "x.xlsx")
    (tmp_path / "x.qa").write_text("just text", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="no question/answer pairs"):
        load_file(tmp_path / "x.qa")


def test_sentences_and_chunks_respect_chinese_and_english_boundaries() -> None:
    assert split_sentences("第一句。第二句！Third one. Fourth?") == [
        "第一句。",
        "第二句！",
        "Third one.",
        " Fourth?",
    ]
    text = "".join(f"这是第{i}句话，用来测试分块。" for i in range(60))
    chunks = chunk_text(text, max_chars=120, overlap_chars=30)
    assert len(chunks) > 5
    assert all(len(c.text) <= 120 for c in chunks)
    assert all(c.text.endswith("。") for c in chunks)  # never cut inside a sentence
    overlap = chunks[1].text.split("。")[0] + "。"
    assert overlap in chunks[0].text[-30:]  # overlap: trailing sentences repeat
    english = " ".join(f"Sentence number {i} is here." for i in range(40))
    assert all(c.text.endswith(".") for c in chunk_text(english, max_chars=100, overlap_chars=0))


def test_tokens_mix_jieba_words_and_lowercase_english() -> None:
    tokens = tokenize("星河净化器的HEPA滤网 Replace the Filter")
    assert "滤网" in tokens and "净化器" in tokens
    assert "hepa" in tokens and "filter" in tokens and "replace" in tokens
    assert "的" not in tokens and "the" not in tokens
