"""Fixtures of the translator tests: generated documents and fast retry settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.translate.translate_pdfs import make_rich_pdf, make_scanned_pdf, make_simple_pdf

SAMPLE_MD = """# User Guide

This guide explains how the translator keeps the layout of a document.

## Install

- Download the package.
- Run the installer.

| Option | Meaning |
|---|---|
| workers | parallel calls |
| 42 | 3.14 |

```python
print("do not translate")
```

Visit https://example.org for more.
"""


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """No backoff sleeps in tests; small answers from the embedded model."""
    monkeypatch.setenv("LLMAPPS_TRANSLATE__RETRY_WAIT_S", "0")
    monkeypatch.setenv("LLMAPPS_TRANSLATE__MAX_TOKENS", "64")


@pytest.fixture
def rich_pdf(tmp_path: Path) -> Path:
    return make_rich_pdf(tmp_path / "paper.pdf")


@pytest.fixture
def simple_pdf(tmp_path: Path) -> Path:
    return make_simple_pdf(tmp_path / "book.pdf", pages=3, paragraphs=2)


@pytest.fixture
def scanned_pdf(tmp_path: Path) -> Path:
    return make_scanned_pdf(tmp_path / "scan.pdf")


@pytest.fixture
def sample_md(tmp_path: Path) -> Path:
    path = tmp_path / "guide.md"
    path.write_text(SAMPLE_MD, encoding="utf-8")
    return path
