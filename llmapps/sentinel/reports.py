"""Reports: activity -> grouped Markdown with a model-written summary -> SQLite + files.

Why this shape: sections (features, improvements, fixes, breaking changes, releases, notable
discussions) and the link to every item come straight from the data, so nothing is lost or
invented; the LangChain chain writes the summary, map-reduce when the activity exceeds the
token budget. An empty window never calls a model. Every run is stored as a new version with
its raw activity exported as JSON beside the Markdown file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from llmapps.config import Settings
from llmapps.sentinel.activity import Activity, ActivityItem
from llmapps.sentinel.errors import NotFoundError
from llmapps.sentinel.grounding import (
    CITATION_RE,
    Catalog,
    Checked,
    build_catalog,
    check_answer,
    cited_ids,
    extractive,
    normalise_citations,
    problem,
    render_lines,
)
from llmapps.sentinel.prompts import TEXT, per_item_prompt, summary_prompt
from llmapps.sentinel.store import sentinel_db
from llmapps.sentinel.timeutil import iso, utcnow

SECTIONS = ("breaking", "features", "improvements", "fixes", "releases", "discussions")
_CONVENTIONAL = re.compile(r"^(\w+)(\([^)]*\))?(!)?:\s*")
_FEATURE_WORDS = ("feat", "feature", "add", "adds", "added", "new", "introduce", "support")
_FIX_WORDS = ("fix", "fixes", "fixed", "bugfix", "hotfix", "bug", "revert", "security")
_FEATURE_LABELS = ("enhancement", "feature", "new feature", "type: feature", "kind/feature")
_FIX_LABELS = ("bug", "fix", "bugfix", "type: bug", "kind/bug", "regression")

ModelFactory = Callable[[], BaseChatModel]
PER_ITEM_MODEL_LIMIT = 40  # items per report whose per-item line the model writes


@dataclass
class Report:
    id: int
    target: str
    report_type: str
    window_start: str
    window_end: str
    version: int
    language: str
    model: str | None
    title: str
    markdown: str
    path: str
    raw_path: str
    item_count: int
    created_at: str
    subscription_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- grouping ---------------------------------------------------------------------------
def classify(item: ActivityItem) -> str:
    """The section an item belongs to (conventional-commit prefixes and labels decide)."""
    if item.kind == "release":
        return "releases"
    if item.kind in ("issue_opened", "issue_closed"):
        return "discussions"
    labels = {label.lower() for label in item.labels}
    title = item.title.strip()
    match = _CONVENTIONAL.match(title)
    if (
        (match and match.group(3))
        or "breaking" in title.lower()
        or "BREAKING CHANGE" in item.body
        or any("breaking" in label for label in labels)
    ):
        return "breaking"
    first = (match.group(1) if match else title.split(" ", 1)[0]).lower().strip("[]:")
    if first in _FIX_WORDS or labels & set(_FIX_LABELS):
        return "fixes"
    if first in _FEATURE_WORDS or labels & set(_FEATURE_LABELS):
        return "features"
    return "improvements"


def group(items: list[ActivityItem]) -> dict[str, list[ActivityItem]]:
    groups: dict[str, list[ActivityItem]] = {name: [] for name in SECTIONS}
    for item in items:
        groups[classify(item)].append(item)
    groups["discussions"].sort(key=lambda i: -int(i.extra.get("comments") or 0))
    return groups


def _link(text: str, url: str | None) -> str:
    safe = text.replace("[", "(").replace("]", ")")
    return f"[{safe}]({url})" if url else safe


def item_line(item: ActivityItem, lang: str) -> str:
    """One Markdown bullet with the item's link (every item in a report has one)."""
    t = TEXT[lang]
    at = "" if item.extra.get("local") else "@"  # git author names are not GitHub logins
    who = f" — {at}{item.author}" if item.author else ""
    if item.kind == "pr":
        facts = []
        if item.extra.get("branch"):
            facts.append(t["branch"].format(branch=item.extra["branch"]))
        if item.extra.get("commits"):
            n = len(item.extra["commits"])
            facts.append(t["commits_in_pr_1"] if n == 1 else t["commits_in_pr"].format(n=n))
        tail = f" · {' · '.join(facts)}" if facts else ""
        return f"- {_link('#' + item.key, item.url)} {item.title}{who}{tail}"
    if item.kind in ("issue_opened", "issue_closed"):
        state = t["opened"] if item.kind == "issue_opened" else t["closed"]
        comments = int(item.extra.get("comments") or 0)
        return (
            f"- {_link('#' + item.key, item.url)} {item.title} ({state}, {comments} "
            f"{t['comments']}){who}"
        )
    if item.kind == "commit":
        sha = item.extra.get("sha") or item.key[:7]
        return f"- {_link('`' + sha + '`', item.url)} {item.title}{who}"
    if item.kind == "release":
        name = item.title if item.title != item.key else ""
        return f"- {_link(item.key, item.url)} {name} ({item.occurred_at[:10]}){who}".replace(
            "  ", " "
        )
    points = item.extra.get("points", 0)
    comments = item.extra.get("comments", 0)
    extra = ""
    if item.extra.get("snapshots", 0) > 1:
        extra = f" · {t['snapshots'].format(n=item.extra['snapshots'])}"
        if item.extra.get("gained"):
            extra += f" · {t['gained'].format(n=item.extra['gained'])}"
    return (
        f"- {_link(item.title, item.url)} — {points} {t['points']} · "
        f"{_link(f'{comments} ' + t['comments'], item.extra.get('hn_url'))}"
        f"{' · ' + t['by'] + ' @' + item.author if item.author else ''}{extra}"
    )


def section_lines(items: list[ActivityItem], all_items: list[ActivityItem], lang: str) -> list[str]:
    """Bullets of one section; a merged PR from git history lists its commits under it.

    Commits brought by a PR of this activity appear once, indented under that PR, so every
    commit is in the report without being listed twice.
    """
    prs = {i.key for i in all_items if i.kind == "pr"}
    by_pr: dict[str, list[ActivityItem]] = {}
    for item in all_items:
        if item.kind == "commit" and str(item.extra.get("pr") or "") in prs:
            by_pr.setdefault(str(item.extra["pr"]), []).append(item)
    lines: list[str] = []
    for item in items:
        if item.kind == "commit" and str(item.extra.get("pr") or "") in prs:
            continue
        lines.append(item_line(item, lang))
        if item.kind == "pr":
            lines += ["  " + item_line(c, lang) for c in by_pr.get(item.key, [])]
    return lines


def digest_line(item: ActivityItem) -> str:
    """The compact line the model reads: its citation id, kind, number, title, some body."""
    body = re.sub(r"\s+", " ", item.body).strip()[:200]
    cite = item.extra.get("_cite")
    ref = f"#{item.key}" if item.kind in ("pr", "issue_opened", "issue_closed") else ""
    if item.kind == "release":
        ref = item.key
    extra = ""
    if item.kind == "story":
        extra = f" ({item.extra.get('points', 0)} points, {item.extra.get('comments', 0)} comments)"
    elif item.kind.startswith("issue"):
        extra = f" ({item.extra.get('comments', 0)} comments)"
    elif item.kind == "pr" and item.extra.get("commits"):
        extra = f" ({len(item.extra['commits'])} commits"
        extra += f", {item.extra['changed']} lines changed)" if item.extra.get("changed") else ")"
    elif item.kind == "commit" and item.extra.get("pr"):
        extra = f" (in PR{item.extra['pr']})"
    labels = f" [{', '.join(item.labels)}]" if item.labels else ""
    kind = {"pr": "merged PR", "issue_opened": "issue opened", "issue_closed": "issue closed"}.get(
        item.kind, item.kind
    )
    head = f"[{cite}] " if cite else ""
    text = f"{head}{kind}{' ' + ref if ref else ''}: {item.title}{labels}{extra}"
    return text + (f" — {body}" if body else "")


# -- the summary chain --------------------------------------------------------------------
def estimate_tokens(text: str) -> int:
    """Rough token count without a tokenizer download: CJK ~1/char, other text ~1 per 4."""
    cjk = sum(1 for ch in text if "\u3000" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")
    return cjk + (len(text) - cjk) // 4 + 1


def effective_budget(settings: Settings, model_name: str | None) -> int:
    """``report_token_budget``, capped for embedded models so prompt + answer fit ``n_ctx``.

    Remote context windows are unknown here (and large); a local GGUF runs with
    ``models.n_ctx``, so a chunk may use what is left after the answer and the prompt text,
    with a margin for the rough token estimate.
    """
    budget = settings.sentinel.report_token_budget
    if model_name and model_name.startswith("local:"):
        room = settings.models.n_ctx - settings.sentinel.report_max_tokens - 400
        budget = min(budget, int(room * 0.75))
    return max(200, budget)


def chunk_lines(lines: list[str], budget: int) -> list[list[str]]:
    """Split lines into consecutive chunks of at most ``budget`` estimated tokens."""
    chunks: list[list[str]] = [[]]
    used = 0
    for line in lines:
        cost = estimate_tokens(line) + 1
        if chunks[-1] and used + cost > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(line)
        used += cost
    return chunks


def summarise(
    model: BaseChatModel,
    lines: list[str],
    *,
    report_type: str,
    lang: str,
    target: str,
    since: str,
    until: str,
    token_budget: int,
    on_progress: Callable[[str], None] | None = None,
    catalog: Catalog | None = None,
) -> tuple[str, int]:
    """Summary text and the number of model calls (map-reduce when over ``token_budget``).

    With a ``catalog`` each partial summary keeps only its grounded sentences before the
    reduce step, so the citations survive map-reduce and invented ones never reach it.
    """
    parser = StrOutputParser()
    base = {"target": target, "since": since, "until": until}
    budget = max(200, token_budget)
    chunks = chunk_lines(lines, budget)
    if len(chunks) == 1:
        chain = summary_prompt(report_type, lang) | model | parser
        return chain.invoke({**base, "items": "\n".join(lines)}).strip(), 1
    calls = 0
    map_chain = summary_prompt(report_type, lang, "map") | model | parser
    partials: list[str] = []
    for number, chunk in enumerate(chunks, start=1):
        if on_progress:
            on_progress(f"summarising part {number}/{len(chunks)}")
        answer = map_chain.invoke(
            {**base, "items": "\n".join(chunk), "part": number, "parts": len(chunks)}
        ).strip()
        calls += 1
        if catalog is not None:
            answer = "\n".join(f"- {line}" for line in check_answer(answer, catalog).lines)
        if answer:
            partials.append(answer)
    if not partials:  # nothing grounded survived the map step: the caller falls back
        return "", calls
    reduce_chain = summary_prompt(report_type, lang, "reduce") | model | parser
    while True:  # reduce until the partial summaries fit the budget together
        groups = chunk_lines(partials, budget)
        if len(groups) == 1:
            break
        partials = [reduce_chain.invoke({**base, "items": "\n\n".join(g)}).strip() for g in groups]
        calls += len(groups)
    if on_progress:
        on_progress("combining the summaries")
    return reduce_chain.invoke({**base, "items": "\n\n".join(partials)}).strip(), calls + 1


@dataclass
class Summary:
    """The summary shown in a report and what the check against the activity found."""

    text: str
    note: str
    check: Checked
    fallback: bool
    calls: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.check.to_dict(), "fallback": self.fallback, "calls": self.calls}


def grounded_summary(
    model: BaseChatModel,
    activity: Activity,
    catalog: Catalog,
    *,
    report_type: str,
    lang: str,
    token_budget: int,
    on_progress: Callable[[str], None] | None = None,
) -> Summary:
    """Ask the model, keep only grounded sentences, fall back to code when most are lost."""
    t = TEXT[lang]
    answer, calls = summarise(
        model,
        [digest_line(item) for item in activity.items],
        report_type=report_type,
        lang=lang,
        target=activity.target,
        since=_fmt_time(activity.since),
        until=_fmt_time(activity.until),
        token_budget=token_budget,
        on_progress=on_progress,
        catalog=catalog,
    )
    check = check_answer(answer, catalog)
    if check.mostly_lost:
        text = extractive(
            extract_groups(activity.items, report_type, lang),
            catalog,
            counts=counts_line(activity, lang),
            words=t,
        )
        note = (
            t["fallback"].format(dropped=check.dropped + check.repeated, total=check.sentences)
            if check.sentences
            else t["fallback_empty"]
        )
        return Summary(text, note, check, True, calls)
    repeats = t["repeats"].format(n=check.repeated) if check.repeated else ""
    note = t["checked"].format(dropped=check.dropped, total=check.sentences, repeats=repeats)
    return Summary(render_lines(check.lines, catalog), note, check, False, calls)


def extract_groups(
    items: list[ActivityItem], report_type: str, lang: str
) -> list[tuple[str, list[ActivityItem]]]:
    """Sections for the extractive summary (HN: the stories; repos: breaking first)."""
    t = TEXT[lang]
    if report_type == "hn":
        return [(t["stories"], items)]
    order = ("breaking", "releases", "features", "fixes", "improvements", "discussions")
    prs = {i.key for i in items if i.kind == "pr"}  # a PR's commits are told by the PR
    groups = group([i for i in items if str(i.extra.get("pr") or "") not in prs])
    return [(t[name], groups[name]) for name in order if groups[name]]


def counts_line(activity: Activity, lang: str) -> str:
    """``In this window: 12 commits, 2 merged pull requests, 1 release`` (cited)."""
    t = TEXT[lang]
    kinds = [("commit", "C"), ("pr", "PR"), ("release", "R"), ("issue", "I"), ("story", "S")]
    parts = []
    cites: list[str] = []
    for kind, _prefix in kinds:
        matching = [i for i in activity.items if i.kind.startswith(kind)]
        if matching:
            parts.append(t[f"count_{kind}"].format(n=len(matching)))
            cites.append(str(matching[0].extra.get("_cite")))
    if not parts:
        return ""
    return t["counts"].format(parts=", ".join(parts)) + " " + " ".join(f"[{c}]" for c in cites)


def per_item_lines(
    model: BaseChatModel,
    items: list[ActivityItem],
    catalog: Catalog,
    *,
    lang: str,
    token_budget: int,
    model_limit: int = PER_ITEM_MODEL_LIMIT,
) -> tuple[list[str], int]:
    """One grounded line per significant item; items the model got wrong get the data's line.

    Returns the Markdown lines and how many were written by the model (the rest, lines whose
    sentence failed the check or was missing, are built from the item itself). Only the first
    ``model_limit`` items go to the model, so a huge window costs a bounded number of calls.
    """
    chain = per_item_prompt(lang) | model | StrOutputParser()
    written: dict[str, str] = {}
    asked = [digest_line(i) for i in items[:model_limit]]
    for chunk in chunk_lines(asked, max(200, token_budget)):
        answer = normalise_citations(chain.invoke({"items": "\n".join(chunk)}), catalog)
        for raw in answer.splitlines():
            line = re.sub(r"^\s*(?:[-*•+]|\d+[.)])\s+", "", raw).strip()
            cites = cited_ids(line[:24])
            if not cites or not line.startswith("[") or cites[0] in written:
                continue
            cite = cites[0]
            sentence = CITATION_RE.sub("", line, count=1).strip(" :-—")
            if cite not in catalog.ids or not sentence:
                continue
            if problem(f"{sentence} [{cite}]", catalog) is None:
                written[cite] = sentence
    lines = []
    for item in items:
        cite = catalog.id_of(item)
        text = written.get(cite) or item.title
        lines.append(f"- {catalog.link(cite)} {text}")
    return lines, sum(1 for i in items if catalog.id_of(i) in written)


def significant(
    items: list[ActivityItem], report_type: str, top_stories: int = 10
) -> list[ActivityItem]:
    """PRs and releases of a repository; the top stories of a digest."""
    if report_type == "hn":
        return [i for i in items if i.kind == "story"][:top_stories]
    return [i for i in items if i.kind in ("release", "pr")]


# -- building and storing -----------------------------------------------------------------
def _fmt_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def build_markdown(
    activity: Activity,
    *,
    report_type: str,
    lang: str,
    title: str,
    summary: str | None,
    model_name: str | None,
    note: str | None = None,
    notes: list[str] | None = None,
    per_item: list[str] | None = None,
) -> str:
    """Title, meta line (window, counts, model, notes), summary, per-item lines, sections."""
    t = TEXT[lang]
    since, until = _fmt_time(activity.since), _fmt_time(activity.until)
    meta = f"_{t['window']}: {since} → {until} · {len(activity.items)} {t['items']}"
    meta += f" · {t['model']}: {model_name}_" if summary is not None and model_name else "_"
    parts = [f"# {title}", "", meta, ""]
    for extra in notes or []:
        parts += [f"_{extra}_", ""]
    if not activity.items:
        key = "nothing_hn" if report_type.startswith("hn") else "nothing_repo"
        if activity.meta.get("already_covered") or activity.meta.get("filtered_out"):
            key = "nothing_left"  # the notes above say what was left out and why
        parts += [
            f"## {t['nothing_title']}",
            "",
            t[key].format(target=activity.target, since=since, until=until),
        ]
        return "\n".join(parts) + "\n"
    parts += [f"## {t['summary']}", "", summary or t["no_summary"], ""]
    if note:
        parts += [note, ""]
    if per_item:
        parts += [f"## {t['per_item']}", "", *per_item, ""]
    if report_type.startswith("hn"):
        parts += [f"## {t['stories']}", ""]
        parts += [item_line(item, lang) for item in activity.items]
        return "\n".join(parts) + "\n"
    for name, items in group(activity.items).items():
        lines = section_lines(items, activity.items, lang)
        if lines:
            parts += [f"## {t[name]}", "", *lines, ""]
    return "\n".join(parts).rstrip() + "\n"


def _slug(target: str) -> str:
    if target.startswith("/"):
        digest = hashlib.sha1(target.encode()).hexdigest()[:8]
        return (
            f"git-{re.sub(r'[^A-Za-z0-9._-]', '_', target.rstrip('/').rsplit('/', 1)[-1])}-{digest}"
        )
    return re.sub(r"[^A-Za-z0-9._-]", "__", target)


def make_report(
    settings: Settings,
    activity: Activity,
    *,
    report_type: str,
    lang: str,
    title: str,
    model_factory: ModelFactory | None,
    model_name: str | None,
    subscription_id: int | None = None,
    token_budget: int | None = None,
    on_progress: Callable[[str], None] | None = None,
    per_item: bool = False,
    notes: list[str] | None = None,
) -> Report:
    """Summarise (unless empty), check the summary, render, store as a new version.

    The raw export carries the check's counts in ``meta['summary_check']`` and each item's
    citation id in ``extra['_cite']`` (so ``[C3]`` in a stored report can be looked up).
    """
    summary: Summary | None = None
    lines: list[str] | None = None
    if activity.items:
        if model_factory is None:
            raise ValueError("a model is needed for a non-empty window")
        if on_progress:
            on_progress(f"writing the report ({len(activity.items)} items)")
        model = model_factory()
        kind = "hn" if report_type.startswith("hn") else "repo"
        budget = token_budget or effective_budget(settings, model_name)
        catalog = build_catalog(activity.items)
        summary = grounded_summary(
            model,
            activity,
            catalog,
            report_type=kind,
            lang=lang,
            token_budget=budget,
            on_progress=on_progress,
        )
        activity.meta["summary_check"] = summary.to_dict()
        chosen = significant(activity.items, kind) if per_item else []
        if chosen:
            if on_progress:
                on_progress(f"one line per item ({len(chosen)} items)")
            lines, by_model = per_item_lines(model, chosen, catalog, lang=lang, token_budget=budget)
            activity.meta["per_item"] = {"items": len(chosen), "by_model": by_model}
    markdown = build_markdown(
        activity,
        report_type=report_type,
        lang=lang,
        title=title,
        summary=summary.text if summary else None,
        model_name=model_name,
        note=summary.note if summary else None,
        notes=notes,
        per_item=lines,
    )
    return store_report(
        settings,
        activity,
        report_type=report_type,
        lang=lang,
        title=title,
        markdown=markdown,
        model_name=model_name if summary is not None else None,
        subscription_id=subscription_id,
    )


def store_report(
    settings: Settings,
    activity: Activity,
    *,
    report_type: str,
    lang: str,
    title: str,
    markdown: str,
    model_name: str | None,
    subscription_id: int | None,
) -> Report:
    db = sentinel_db(settings)
    start, end = iso(activity.since), iso(activity.until)
    stamp = f"{activity.since:%Y%m%dT%H%M%S}_{activity.until:%Y%m%dT%H%M%S}"
    folder = settings.data_path("sentinel", "reports", _slug(activity.target))
    folder.mkdir(parents=True, exist_ok=True)
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT MAX(version) AS v FROM sentinel_reports WHERE target=? AND report_type=? "
            "AND window_start=? AND window_end=?",
            (activity.target, report_type, start, end),
        ).fetchone()
        version = int(row["v"] or 0) + 1
        path = folder / f"{stamp}_v{version}.md"
        raw_path = folder / f"{stamp}_v{version}.json"
        path.write_text(markdown, encoding="utf-8")
        raw_path.write_text(
            json.dumps(activity.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
        )
        cur = conn.execute(
            "INSERT INTO sentinel_reports(subscription_id, target, report_type, window_start, "
            "window_end, version, language, model, title, markdown, path, raw_path, item_count, "
            "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                subscription_id,
                activity.target,
                report_type,
                start,
                end,
                version,
                lang,
                model_name,
                title,
                markdown,
                str(path),
                str(raw_path),
                len(activity.items),
                iso(utcnow()),
            ),
        )
        report_id = int(cur.lastrowid or 0)
    return get_report(settings, report_id)


def _report(row: Any) -> Report:
    return Report(
        id=row["id"],
        target=row["target"],
        report_type=row["report_type"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        version=row["version"],
        language=row["language"],
        model=row["model"],
        title=row["title"],
        markdown=row["markdown"],
        path=row["path"],
        raw_path=row["raw_path"],
        item_count=row["item_count"],
        created_at=row["created_at"],
        subscription_id=row["subscription_id"],
    )


def get_report(settings: Settings, report_id: int) -> Report:
    row = sentinel_db(settings).query_one("SELECT * FROM sentinel_reports WHERE id=?", (report_id,))
    if row is None:
        raise NotFoundError(f"no report {report_id}: see 'llmapps sentinel history' for report ids")
    return _report(row)


def list_reports(settings: Settings, target: str | None = None, limit: int = 100) -> list[Report]:
    db = sentinel_db(settings)
    if target:
        rows = db.query(
            "SELECT * FROM sentinel_reports WHERE target=? ORDER BY id DESC LIMIT ?",
            (target, limit),
        )
    else:
        rows = db.query("SELECT * FROM sentinel_reports ORDER BY id DESC LIMIT ?", (limit,))
    return [_report(r) for r in rows]
