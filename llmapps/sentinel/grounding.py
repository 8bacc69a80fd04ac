"""Grounded summaries: numbered items in, cited sentences out, every citation checked.

Why: a model (small or large) may invent commit hashes, pull-request numbers or whole changes.
The prompt gives each item a short id (``[PR21]`` a pull request by number, ``[I5]`` an issue
by number, ``[C3]`` the third commit, ``[R2]`` the second release, ``[S8001]`` a Hacker News
story by its id) and asks for the ids after every sentence. After the model answers, code
keeps only sentences whose ids all exist and that name no commit hash or ``#N`` absent from
the activity; repeated sentences go too. When most sentences are lost the summary is replaced
by an extractive one built from the data (top items by section, size of change, discussion).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from llmapps.sentinel.activity import ActivityItem
from llmapps.sentinel.prompts import EXAMPLE

# Citation ids: letters then digits, in square brackets; several may share a bracket.
_ID = r"(?:PR|C|I|R|S)\d+"
CITATION_RE = re.compile(rf"\[\s*({_ID}(?:\s*[,;，、]\s*{_ID})*)\s*\]", re.IGNORECASE)
_LOOSE_CITE_RE = re.compile(r"\[\s*(PR|C|I|R|S)\s*[-#]?\s*(\d+)\s*\]", re.IGNORECASE)
_NUMBER_RE = re.compile(r"(?:#|\bPR\s*#?|\bpull request\s*#?|\bissue\s*#?)(\d+)\b", re.IGNORECASE)
_TOKEN_RE = re.compile(r"(?<![\w/.-])[0-9a-zA-Z]{7,40}(?![\w/-])")
_HEX = set("0123456789abcdef")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[^\s\[(])|(?<=[。！？])(?=[^\s\[(（])")
_BULLET_RE = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s+")
_KIND_PREFIX = {"pr": "PR", "commit": "C", "release": "R", "story": "S"}


def looks_like_hash(token: str) -> bool:
    """Seven to forty characters, a digit among them, nearly all hex: a commit hash or a
    garbled one (``2febbeefeeecr``); ordinary words and identifiers like ``b64decode`` pass."""
    low = token.lower()
    if not any(ch.isdigit() for ch in low) or not any(ch.isalpha() for ch in low):
        return False
    hex_share = sum(ch in _HEX for ch in low) / len(low)
    return hex_share >= 0.9


@dataclass
class Catalog:
    """The citable items of one activity: id -> item, plus real numbers and hashes."""

    ids: dict[str, ActivityItem] = field(default_factory=dict)
    numbers: set[str] = field(default_factory=set)
    shas: list[str] = field(default_factory=list)

    def id_of(self, item: ActivityItem) -> str:
        return str(item.extra.get("_cite", ""))

    def known_sha(self, token: str) -> bool:
        low = token.lower()
        return any(sha.startswith(low) for sha in self.shas)

    def link(self, cite: str) -> str:
        item = self.ids.get(cite)
        return f"[{cite}]({item.url})" if item is not None and item.url else f"[{cite}]"


def build_catalog(items: list[ActivityItem]) -> Catalog:
    """Give every item its id (stored in ``extra['_cite']``); numbering follows item order."""
    catalog = Catalog()
    counters = {"C": 0, "R": 0}
    for item in items:
        if item.kind == "pr":
            cite = f"PR{item.key}"
            catalog.numbers.add(item.key)
        elif item.kind in ("issue_opened", "issue_closed"):
            cite = f"I{item.key}"
            catalog.numbers.add(item.key)
        elif item.kind == "story":
            cite = f"S{item.key}"
        else:
            prefix = "R" if item.kind == "release" else "C"
            counters[prefix] += 1
            cite = f"{prefix}{counters[prefix]}"
        if item.kind == "commit":
            catalog.shas.append(item.key.lower())
        # "#17" written in the activity itself (a commit closing an issue) is a real number
        catalog.numbers.update(re.findall(r"#(\d+)", f"{item.title} {item.body}"))
        if item.kind == "pr":
            catalog.shas.extend(s.lower() for s in item.extra.get("commits", []))
            if item.extra.get("merge_sha"):
                catalog.shas.append(str(item.extra["merge_sha"]).lower())
        if item.kind == "release" and item.extra.get("sha"):
            catalog.shas.append(str(item.extra["sha"]).lower())
        item.extra["_cite"] = cite
        catalog.ids[cite] = item
    return catalog


def cited_ids(sentence: str) -> list[str]:
    """The ids a sentence cites, normalised (``[pr 21]`` and ``[PR21, C3]`` both read)."""
    found: list[str] = []
    for group in CITATION_RE.findall(sentence):
        found += [re.sub(r"\s+", "", part).upper() for part in re.split(r"[,;，、]", group)]
    for prefix, number in _LOOSE_CITE_RE.findall(sentence):
        cite = f"{prefix.upper()}{number}"
        if cite not in found:
            found.append(cite)
    return found


def _strip_citations(sentence: str) -> str:
    text = _LOOSE_CITE_RE.sub("", CITATION_RE.sub("", sentence))
    return re.sub(r"\s+", " ", text).strip(" .;,，。")


def split_sentences(line: str) -> list[str]:
    """One line -> sentences; a trailing ``[C3]`` stays with the sentence it follows."""
    return [part.strip() for part in _SENTENCE_SPLIT.split(line) if part.strip()]


_EXAMPLES = {text.lower() for text in EXAMPLE.values()}


def problem(sentence: str, catalog: Catalog) -> str | None:
    """Why a sentence may not stay (``None``: it is grounded)."""
    cites = cited_ids(sentence)
    if not cites:
        return "uncited"
    if _strip_citations(sentence).lower() in _EXAMPLES:
        return "copied example"
    if any(cite not in catalog.ids for cite in cites):
        return "unknown id"
    body = CITATION_RE.sub(" ", sentence)
    for number in _NUMBER_RE.findall(body):
        if number not in catalog.numbers:
            return "unknown number"
    for token in _TOKEN_RE.findall(body):
        if looks_like_hash(token) and not catalog.known_sha(token):
            return "unknown hash"
    return None


@dataclass
class Checked:
    """The outcome of checking one answer: kept lines (citations as written) and counts."""

    lines: list[str]
    sentences: int = 0
    dropped: int = 0
    repeated: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def kept(self) -> int:
        return self.sentences - self.dropped - self.repeated

    @property
    def mostly_lost(self) -> bool:
        """No sentence survived, or more were dropped than kept."""
        return self.kept <= 0 or self.dropped > self.kept

    def to_dict(self) -> dict[str, Any]:
        return {
            "sentences": self.sentences,
            "dropped": self.dropped,
            "repeated": self.repeated,
            "kept": self.kept,
            "reasons": dict(self.reasons),
        }


def _is_heading(raw: str, line: str) -> bool:
    """A Markdown heading, or a short uncited lead-in (``**Fixes**``, ``Here is the summary:``)."""
    if raw.startswith("#"):
        return True
    if cited_ids(line) or len(line.split()) > 8:
        return False
    bare = _BULLET_RE.sub("", raw)
    return line.endswith((":", "：")) or (bare.startswith("**") and bare.endswith("**"))


def normalise_citations(text: str, catalog: Catalog) -> str:
    """``[#21]`` (a common habit) -> ``[PR21]`` or ``[I21]``, whichever the activity has."""

    def one(match: re.Match[str]) -> str:
        number = match.group(1)
        for cite in (f"PR{number}", f"I{number}"):
            if cite in catalog.ids:
                return f"[{cite}]"
        return match.group(0)

    return re.sub(r"\[\s*#(\d+)\s*\]", one, text)


def check_answer(answer: str, catalog: Catalog) -> Checked:
    """Keep the grounded sentences of ``answer`` (one bullet per line that keeps any)."""
    out = Checked(lines=[])
    seen: set[str] = set()
    for raw_line in normalise_citations(answer, catalog).splitlines():
        line = _BULLET_RE.sub("", raw_line).strip().strip("*_ ").strip()
        if not line or set(line) <= set("-=#*_ "):
            continue
        if _is_heading(raw_line.strip(), line):  # "**Fixes**", "Summary:": not claims
            continue
        kept: list[str] = []
        for sentence in split_sentences(line):
            out.sentences += 1
            norm = _strip_citations(sentence).lower()
            if norm in seen:
                out.repeated += 1
                continue
            seen.add(norm)
            reason = problem(sentence, catalog)
            if reason is not None:
                out.dropped += 1
                out.reasons[reason] = out.reasons.get(reason, 0) + 1
                continue
            kept.append(sentence)
        if kept:
            out.lines.append(_join(kept))
    return out


def _join(sentences: list[str]) -> str:
    """Sentences back into one line: a space after Latin text, none after CJK punctuation."""
    text = sentences[0]
    for sentence in sentences[1:]:
        text += sentence if text.endswith(("。", "！", "？")) else f" {sentence}"
    return text


def link_citations(text: str, catalog: Catalog) -> str:
    """``[PR21]`` -> ``[PR21](url)`` so a reader can open every cited item."""

    def one(match: re.Match[str]) -> str:
        parts = [re.sub(r"\s+", "", p).upper() for p in re.split(r"[,;，、]", match.group(1))]
        return " ".join(catalog.link(p) for p in parts)

    linked = CITATION_RE.sub(one, text)
    return re.sub(r"\)\[(?=(?:PR|C|I|R|S)\d+\]\()", ") [", linked)  # [R1](…) [R2](…)


def render_lines(lines: list[str], catalog: Catalog) -> str:
    return "\n".join(f"- {link_citations(line, catalog)}" for line in lines)


# -- the extractive fallback ----------------------------------------------------------------
def weight(item: ActivityItem) -> float:
    """How much an item matters for a summary: size of change, discussion, points."""
    extra = item.extra
    size = float(extra.get("changed") or 0)
    commits = len(extra.get("commits") or [])
    comments = float(extra.get("comments") or 0)
    points = float(extra.get("points") or 0)
    base = {"release": 1e6, "pr": 1e3}.get(item.kind, 0.0)
    return base + size + 50 * commits + 20 * comments + points


def extractive(
    groups: list[tuple[str, list[ActivityItem]]],
    catalog: Catalog,
    *,
    counts: str,
    words: dict[str, str],
    limit: int = 6,
    per_section: int = 2,
) -> str:
    """Bullets built by code: a count line, then the heaviest items of each section."""
    lines = [counts] if counts else []
    picked = 0
    for label, items in groups:
        for item in sorted(items, key=weight, reverse=True)[:per_section]:
            if picked >= limit:
                break
            title = re.sub(r"\s+", " ", item.title).strip()
            facts = _facts(item, words)
            lines.append(
                f"{label}{words['colon']}{title}{' (' + facts + ')' if facts else ''} "
                f"[{catalog.id_of(item)}]"
            )
            picked += 1
    return render_lines(lines, catalog)


def _facts(item: ActivityItem, words: dict[str, str]) -> str:
    """Points and comments of a story; commits, lines changed, comments of a change."""
    extra = item.extra
    if item.kind == "story":
        return (
            f"{extra.get('points', 0)} {words['points']}, "
            f"{extra.get('comments', 0)} {words['comments']}"
        )
    parts = []
    if item.kind == "pr" and extra.get("commits"):
        n = len(extra["commits"])
        parts.append(words["commits_in_pr_1"] if n == 1 else words["commits_in_pr"].format(n=n))
    if extra.get("changed"):
        parts.append(words["changed"].format(n=extra["changed"]))
    if item.kind.startswith("issue") and extra.get("comments"):
        parts.append(f"{extra['comments']} {words['comments']}")
    return ", ".join(parts)
