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
from llmapps.sentinel.prompts import TEXT, summary_prompt
from llmapps.sentinel.store import sentinel_db
from llmapps.sentinel.timeutil import iso, utcnow

SECTIONS = ("breaking", "features", "improvements", "fixes", "releases", "discussions")
_CONVENTIONAL = re.compile(r"^(\w+)(\([^)]*\))?(!)?:\s*")
_FEATURE_WORDS = ("feat", "feature", "add", "adds", "added", "new", "introduce", "support")
_FIX_WORDS = ("fix", "fixes", "fixed", "bugfix", "hotfix", "bug", "revert", "security")
_FEATURE_LABELS = ("enhancement", "feature", "new feature", "type: feature", "kind/feature")
_FIX_LABELS = ("bug", "fix", "bugfix", "type: bug", "kind/bug", "regression")

ModelFactory = Callable[[], BaseChatModel]


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
        return f"- {_link('#' + item.key, item.url)} {item.title}{who}"
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


def digest_line(item: ActivityItem) -> str:
    """The compact line the model reads (kind, number, title, a little body)."""
    body = re.sub(r"\s+", " ", item.body).strip()[:200]
    ref = f"#{item.key}" if item.kind in ("pr", "issue_opened", "issue_closed") else item.key[:12]
    extra = ""
    if item.kind == "story":
        extra = f" ({item.extra.get('points', 0)} points, {item.extra.get('comments', 0)} comments)"
    elif item.kind.startswith("issue"):
        extra = f" ({item.extra.get('comments', 0)} comments)"
    labels = f" [{', '.join(item.labels)}]" if item.labels else ""
    return f"[{item.kind}] {ref} {item.title}{labels}{extra}" + (f": {body}" if body else "")


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
) -> tuple[str, int]:
    """Summary text and the number of model calls (map-reduce when over ``token_budget``)."""
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
        partials.append(
            map_chain.invoke(
                {**base, "items": "\n".join(chunk), "part": number, "parts": len(chunks)}
            ).strip()
        )
        calls += 1
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
) -> str:
    t = TEXT[lang]
    since, until = _fmt_time(activity.since), _fmt_time(activity.until)
    meta = f"_{t['window']}: {since} → {until} · {len(activity.items)} {t['items']}"
    meta += f" · {t['model']}: {model_name}_" if summary is not None and model_name else "_"
    parts = [f"# {title}", "", meta, ""]
    if not activity.items:
        key = "nothing_hn" if report_type.startswith("hn") else "nothing_repo"
        parts += [
            f"## {t['nothing_title']}",
            "",
            t[key].format(target=activity.target, since=since, until=until),
        ]
        return "\n".join(parts) + "\n"
    parts += [f"## {t['summary']}", "", summary or t["no_summary"], ""]
    if report_type.startswith("hn"):
        parts += [f"## {t['stories']}", ""]
        parts += [item_line(item, lang) for item in activity.items]
        return "\n".join(parts) + "\n"
    for name, items in group(activity.items).items():
        if items:
            parts += [f"## {t[name]}", ""] + [item_line(i, lang) for i in items] + [""]
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
) -> Report:
    """Summarise (unless empty), render, store as a new version, export the raw activity."""
    summary: str | None = None
    if activity.items:
        if model_factory is None:
            raise ValueError("a model is needed for a non-empty window")
        if on_progress:
            on_progress(f"writing the report ({len(activity.items)} items)")
        summary, _calls = summarise(
            model_factory(),
            [digest_line(item) for item in activity.items],
            report_type="hn" if report_type.startswith("hn") else "repo",
            lang=lang,
            target=activity.target,
            since=_fmt_time(activity.since),
            until=_fmt_time(activity.until),
            token_budget=token_budget or effective_budget(settings, model_name),
            on_progress=on_progress,
        )
    markdown = build_markdown(
        activity,
        report_type=report_type,
        lang=lang,
        title=title,
        summary=summary,
        model_name=model_name,
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
