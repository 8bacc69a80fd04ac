"""Glossary: terms with a fixed translation, and terms never to translate.

Why both in the prompt and after: the prompt asks the model to use the terms; the check after
each answer catches the model ignoring them, reports each violation, and enforces the term by
replacing the untranslated source term when the model left it verbatim.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from llmapps.translate.errors import TranslateError


@dataclass
class Glossary:
    terms: dict[str, str] = field(default_factory=dict)  # source term -> target term
    keep: list[str] = field(default_factory=list)  # do-not-translate terms

    def __bool__(self) -> bool:
        return bool(self.terms or self.keep)

    @property
    def digest(self) -> str:
        """Part of the cache key: a changed glossary must not reuse old translations."""
        data = json.dumps([sorted(self.terms.items()), sorted(self.keep)], ensure_ascii=False)
        return hashlib.sha256(data.encode()).hexdigest()[:16]

    def relevant(self, text: str) -> Glossary:
        """Only the terms that occur in ``text`` (keeps prompts short)."""
        low = text.lower()
        return Glossary(
            {s: t for s, t in self.terms.items() if s.lower() in low},
            [k for k in self.keep if k.lower() in low],
        )

    def prompt_lines(self) -> str:
        lines = [f"- {s} -> {t}" for s, t in self.terms.items()]
        lines += [f"- {k} -> {k} (do not translate)" for k in self.keep]
        return "\n".join(lines)

    def check(self, source: str, translation: str) -> tuple[str, list[str]]:
        """Enforce the terms on one translation; return it and the violations found."""
        violations: list[str] = []
        low_src = source.lower()
        out = translation
        for src, tgt in self.terms.items():
            if src.lower() in low_src and tgt not in out:
                violations.append(f"'{src}' should be '{tgt}'")
                out = _replace_ci(out, src, tgt)
        for term in self.keep:
            if term.lower() in low_src and term not in out:
                violations.append(f"'{term}' must stay untranslated")
        return out, violations


def _replace_ci(text: str, old: str, new: str) -> str:
    low, needle = text.lower(), old.lower()
    out, start = [], 0
    while (i := low.find(needle, start)) >= 0:
        out.append(text[start:i] + new)
        start = i + len(old)
    out.append(text[start:])
    return "".join(out)


def parse_glossary(text: str, keep_terms: list[str] | None = None) -> Glossary:
    """CSV rows ``source,target``; an empty target (or target = source) means keep as is."""
    glossary = Glossary(keep=[t.strip() for t in keep_terms or [] if t.strip()])
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        source = row[0].strip()
        target = row[1].strip() if len(row) > 1 else ""
        if (
            number == 1
            and source.lower() in ("source", "term", "src")
            and target.lower()
            in (
                "target",
                "translation",
                "tgt",
            )
        ):
            continue  # header row
        if len(row) > 2 and any(c.strip() for c in row[2:]):
            raise TranslateError(
                f"glossary line {number}: expected 'source,target', got {len(row)} columns: "
                "quote terms that contain commas"
            )
        if not target or target == source:
            glossary.keep.append(source)
        else:
            glossary.terms[source] = target
    return glossary


def load_glossary(path: Path | None, keep_terms: list[str] | None = None) -> Glossary:
    if path is None:
        return Glossary(keep=[t for t in keep_terms or [] if t])
    if not path.is_file():
        raise TranslateError(f"glossary {path} not found: give a CSV file with source,target rows")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise TranslateError(f"glossary {path}: not UTF-8 text: save the CSV as UTF-8") from None
    return parse_glossary(text, keep_terms)
