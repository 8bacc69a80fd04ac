"""Source-language detection by script, and language names for prompts.

Why a heuristic: the translator only needs to know the source language well enough to name
it in the prompt and to skip text already in the target script; counting characters per
Unicode script does that offline, instantly, with no model or extra package.
"""

from __future__ import annotations

NAMES: dict[str, str] = {
    "en": "English",
    "zh": "Simplified Chinese",
    "zh-tw": "Traditional Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "ru": "Russian",
    "ar": "Arabic",
}


def language_name(code: str) -> str:
    """``zh`` -> ``Simplified Chinese``; unknown codes are used as given (``Dutch`` works)."""
    return NAMES.get(code.lower(), code)


def _script(ch: str) -> str | None:
    o = ord(ch)
    if 0x3040 <= o <= 0x30FF:
        return "ja"
    if 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF:
        return "ko"
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
        return "han"
    if 0x0400 <= o <= 0x04FF:
        return "ru"
    if 0x0600 <= o <= 0x06FF:
        return "ar"
    if ch.isalpha():
        return "latin"
    return None


def script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        s = _script(ch)
        if s:
            counts[s] = counts.get(s, 0) + 1
    return counts


def detect_language(text: str) -> str:
    """Best guess of the language code of ``text`` (``en`` for Latin script)."""
    counts = script_counts(text)
    if not counts:
        return "en"
    if counts.get("ja", 0) > 0 and counts.get("ja", 0) >= 0.1 * counts.get("han", 0):
        return "ja"
    # Han characters carry more meaning per character than letters: weight them up.
    weighted = dict(counts)
    weighted["han"] = weighted.get("han", 0) * 3
    best = max(weighted, key=lambda k: weighted[k])
    return {"han": "zh", "latin": "en"}.get(best, best)


def in_target_script(text: str, target: str) -> bool:
    """True when ``text`` is already written in the target's script (nothing to translate)."""
    counts = script_counts(text)
    total = sum(counts.values())
    if total == 0:
        return False
    base = target.lower().split("-")[0]
    if base == "zh":
        if counts.get("ja", 0):
            return False  # kana: Japanese written with kanji, not Chinese
        return counts.get("han", 0) * 3 >= total * 2  # mostly Han (letters count less)
    if base in ("ja", "ko", "ru", "ar"):
        return counts.get(base, 0) >= total * 0.6
    return False
