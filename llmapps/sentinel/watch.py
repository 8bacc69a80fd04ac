"""Watch filters and report options of a subscription: tame noisy sources.

Why per subscription: one busy repository is only interesting for its releases, another only
for changes under ``src/``, a Hacker News digest only for stories about a few topics. The
settings live with the subscription (one JSON column) and apply to its scheduled and ad-hoc
reports alike; the report says which filters left how many items out.

- ``releases_only``: releases and tags only;
- ``labels``: pull requests and issues carrying one of these labels (GitHub), plus releases;
- ``paths``: gitignore-style patterns (``src/**``, ``*.py``): changes touching a matching file
  (local git, where the files of every commit are known), plus releases;
- ``keywords``: items whose title (or body) names a keyword or one of its aliases
  (``rust=rustlang,cargo``), whole words, any case;
- ``include_seen``: repeat items an earlier report of the subscription already covered;
- ``per_item``: add one grounded line per significant item.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import pathspec

from llmapps.sentinel.activity import ActivityItem
from llmapps.sentinel.errors import SubscriptionError

MAX_FILTERS = 50  # patterns, labels or keywords per subscription


@dataclass
class Watch:
    releases_only: bool = False
    labels: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    keywords: dict[str, list[str]] = field(default_factory=dict)
    include_seen: bool = False
    per_item: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | None) -> Watch:
        data = json.loads(text or "{}")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def filters(self) -> bool:
        return bool(self.releases_only or self.labels or self.paths or self.keywords)

    def describe(self) -> str:
        """``releases only; labels: bug; paths: src/**; keywords: rust (rustlang, cargo)``."""
        parts = []
        if self.releases_only:
            parts.append("releases only")
        if self.labels:
            parts.append("labels: " + ", ".join(self.labels))
        if self.paths:
            parts.append("paths: " + ", ".join(self.paths))
        if self.keywords:
            words = [f"{k} ({', '.join(v)})" if v else k for k, v in sorted(self.keywords.items())]
            parts.append("keywords: " + ", ".join(words))
        return "; ".join(parts)

    def summary(self) -> str:
        """The filters and the switches that are on (a listing's one cell)."""
        switches = [("include seen", self.include_seen), ("per item", self.per_item)]
        parts = [self.describe(), *(name for name, on in switches if on)]
        return "; ".join(part for part in parts if part)


def parse_keywords(values: list[str]) -> dict[str, list[str]]:
    """``["rust=rustlang,cargo", "llm"]`` -> ``{"rust": ["rustlang", "cargo"], "llm": []}``."""
    out: dict[str, list[str]] = {}
    for value in values:
        for part in re.split(r"[;\n]", value):
            key, _, aliases = part.partition("=")
            key = key.strip()
            if not key:
                continue
            if len(key) > 100:
                raise SubscriptionError(f"keyword '{key[:20]}…' is too long: at most 100 chars")
            out[key] = [a.strip() for a in aliases.split(",") if a.strip()]
    return out


def check_watch(kind: str, watch: Watch) -> Watch:
    """Refuse filters that cannot work for this kind of source, with the reason."""
    watch.labels = _clean(watch.labels, "labels")
    watch.paths = _clean(watch.paths, "path patterns")
    if len(watch.keywords) > MAX_FILTERS or any(
        len(aliases) > MAX_FILTERS for aliases in watch.keywords.values()
    ):
        raise SubscriptionError(f"too many keywords or aliases: at most {MAX_FILTERS} each")
    if watch.paths and kind != "git":
        raise SubscriptionError(
            "path filters need a local git repository (the files a change touched are known "
            "there): remove --path or watch a local clone"
        )
    if watch.labels and kind != "github":
        raise SubscriptionError(
            "label filters need a GitHub repository (labels live on GitHub pull requests and "
            "issues): remove --label"
        )
    if watch.releases_only and kind == "hn":
        raise SubscriptionError("--releases-only is for repositories: Hacker News has no releases")
    for pattern in watch.paths:
        try:
            pathspec.PathSpec.from_lines("gitignore", [pattern])
        except (ValueError, TypeError) as exc:
            raise SubscriptionError(
                f"bad path pattern '{pattern}' ({exc}): use e.g. src/**"
            ) from None
    return watch


def _clean(values: list[str], what: str) -> list[str]:
    out = [v.strip() for value in values for v in value.split(",") if v.strip()]
    if len(out) > MAX_FILTERS:
        raise SubscriptionError(f"too many {what}: at most {MAX_FILTERS}")
    for value in out:
        if len(value) > 200:
            raise SubscriptionError(f"{what}: '{value[:20]}…' is too long (at most 200 chars)")
    return out


def _keyword_re(keywords: dict[str, list[str]]) -> re.Pattern[str] | None:
    words = [w for key, aliases in keywords.items() for w in (key, *aliases)]
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def apply(watch: Watch, items: list[ActivityItem]) -> tuple[list[ActivityItem], int]:
    """The items the filters keep, and how many they left out."""
    if not watch.filters:
        return items, 0
    spec = pathspec.PathSpec.from_lines("gitignore", watch.paths) if watch.paths else None
    labels = {label.lower() for label in watch.labels}
    keyword_re = _keyword_re(watch.keywords)

    def keep(item: ActivityItem) -> bool:
        if watch.releases_only and item.kind != "release":
            return False
        if (
            labels
            and item.kind != "release"
            and not labels & {label.lower() for label in item.labels}
        ):
            return False
        if spec is not None and item.kind != "release":
            files = item.extra.get("files") or []
            if not any(spec.match_file(name) for name in files):
                return False
        if keyword_re is not None:
            text = item.title if item.kind == "story" else f"{item.title}\n{item.body}"
            if not keyword_re.search(text):
                return False
        return True

    kept = [item for item in items if keep(item)]
    # a merged PR kept by a filter keeps the commits it brought (they are listed under it)
    prs = {item.key for item in kept if item.kind == "pr"}
    kept_keys = {(i.kind, i.key) for i in kept}
    kept += [
        i
        for i in items
        if i.kind == "commit"
        and str(i.extra.get("pr") or "") in prs
        and (i.kind, i.key) not in kept_keys
    ]
    kept.sort(key=lambda item: item.occurred_at)
    return kept, len(items) - len(kept)
