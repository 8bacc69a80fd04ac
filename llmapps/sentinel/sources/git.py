"""Local git repositories: commits in a window via ``git log`` (private hosts, offline use).

Why a subprocess: git itself is the authority on its history (packs, worktrees, grafts), and
``git log --since/--until`` filters by committer date exactly like the GitHub commits API.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from llmapps.sentinel.activity import Activity, ActivityItem
from llmapps.sentinel.errors import SourceError, SubscriptionError
from llmapps.sentinel.timeutil import in_window, iso, parse_time

_FIELD = "\x1f"
_RECORD = "\x1e"


def _git(path: Path, *args: str) -> str:
    try:
        proc = subprocess.run(
            ["git", "-C", str(path), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except FileNotFoundError:
        raise SourceError("git is not installed: install git to watch local repositories") from None
    if proc.returncode != 0:
        raise SourceError(f"git failed in {path}: {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout


def check_git_repo(path: str) -> Path:
    """An absolute path to a git work tree (or bare repository), or a clear error."""
    repo = Path(path.removeprefix("git:")).expanduser().resolve()
    if not repo.is_dir():
        raise SubscriptionError(f"{repo}: no such directory: give the path of a git repository")
    probe = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--git-dir"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        raise SubscriptionError(f"{repo}: not a git repository: run 'git init' or fix the path")
    return repo


def _web_base(path: Path) -> str | None:
    """``https://github.com/o/r`` when origin is a GitHub/GitLab-style remote (for links)."""
    try:
        remote = _git(path, "config", "--get", "remote.origin.url").strip()
    except SourceError:
        return None
    return web_base_from_remote(remote)


def web_base_from_remote(remote: str) -> str | None:
    """The web page of a remote, without any credentials it carries.

    Why careful: remotes often embed a token (``https://x-access-token:TOKEN@github.com/o/r``);
    the result goes into report links, stored files and emails, so user info never survives.
    Handles ``https://``/``ssh://`` URLs and scp-like ``git@host:o/r``.
    """
    remote = remote.strip()
    if "://" in remote:
        parts = urlsplit(remote)
        host = parts.hostname
        if parts.scheme in ("http", "https") and parts.port:
            host = f"{host}:{parts.port}"
        path = parts.path.strip("/").removesuffix(".git").strip("/")
    else:
        match = re.match(r"^(?:[^@/]+@)?([^/:@]+):(.+)$", remote)
        if not match:
            return None
        host, path = match.group(1), match.group(2).strip("/").removesuffix(".git").strip("/")
    if not host or not path or "@" in path:
        return None
    return f"https://{host}/{path}"


_MERGE_PR_RE = re.compile(r"^Merge pull request #(\d+) from (\S+)")
_SQUASH_PR_RE = re.compile(r"^(.*\S)\s+\(#(\d+)\)\s*$")
_VERSION = r"v?\d+\.\d+(?:\.\d+)?(?:[-.]?(?:rc|alpha|beta|a|b|post|dev)\.?\d*)?"
_BRACKET_RELEASE_RE = re.compile(rf"^\[({_VERSION})\]", re.IGNORECASE)
_RELEASE_WORD_RE = re.compile(
    rf"\b(?:release[sd]?|bump(?:ed)? version(?: to)?|version)[\s:/_-]*({_VERSION})\b",
    re.IGNORECASE,
)
_RELEASE_BRANCH_RE = re.compile(rf"\brelease[/_-]({_VERSION})\b", re.IGNORECASE)


def release_version(subject: str) -> str | None:
    """The version a release commit or merge names (``[v0.7] …``, ``Release 0.8``,
    ``Merge branch 'release/v0.8'``), or ``None``."""
    for pattern in (_BRACKET_RELEASE_RE, _RELEASE_BRANCH_RE, _RELEASE_WORD_RE):
        match = pattern.search(subject)
        if match:
            version = match.group(1)
            return version if version.lower().startswith("v") else f"v{version}"
    return None


def _is_github(web: str | None) -> bool:
    return bool(web) and urlsplit(web or "").hostname in ("github.com", "www.github.com")


@dataclass
class _Commit:
    sha: str
    author: str
    when: str
    subject: str
    body: str
    parents: list[str]
    changed: int = 0
    files: list[str] = field(default_factory=list)


def _log(repo: Path, *args: str) -> list[_Commit]:
    """``git log`` records with their numstat (lines changed, files touched)."""
    fmt = _RECORD + _FIELD.join(["%H", "%an", "%cI", "%s", "%b", "%P"])
    out = _git(repo, "log", f"--format={fmt}", "--numstat", *args)
    commits = []
    for record in out.split(_RECORD)[1:]:
        parts = record.split(_FIELD)
        if len(parts) < 6:
            continue
        sha, author, when, subject, body = parts[:5]
        parents_line, _, stat = parts[5].partition("\n")
        commit = _Commit(sha, author, when, subject.strip(), body.strip(), parents_line.split())
        for line in stat.splitlines():
            cols = line.split("\t")
            if len(cols) == 3:
                added, deleted, name = cols
                commit.changed += int(added) if added.isdigit() else 0
                commit.changed += int(deleted) if deleted.isdigit() else 0
                commit.files.append(name)
        commits.append(commit)
    return commits


MAX_PR_COMMITS = 1000  # commits listed under one merged PR (a long-lived branch can bring more)


def _brought(repo: Path, merge: _Commit) -> list[_Commit]:
    """The non-merge commits a merge brought (``merge^1..merge^2``); none in a shallow clone
    whose history stops before them."""
    try:
        commits = _log(repo, f"-n{MAX_PR_COMMITS}", f"{merge.parents[0]}..{merge.parents[1]}")
    except SourceError:
        return []
    return [b for b in commits if len(b.parents) <= 1]


def _commit_item(c: _Commit, web: str | None, pr: str | None = None) -> ActivityItem:
    extra: dict[str, object] = {
        "sha": c.sha[:7],
        "local": True,
        "changed": c.changed,
        "files": c.files[:200],
    }
    if pr:
        extra["pr"] = pr
    return ActivityItem(
        kind="commit",
        key=c.sha,
        title=c.subject,
        url=f"{web}/commit/{c.sha}" if web else None,
        author=c.author,
        occurred_at=iso(parse_time(c.when)),  # type: ignore[arg-type]
        body=c.body[:600],
        extra=extra,
    )


def _pr_item(
    number: str, title: str, c: _Commit, web: str | None, brought: list[_Commit], branch: str
) -> ActivityItem:
    return ActivityItem(
        kind="pr",
        key=number,
        title=title,
        url=f"{web}/pull/{number}" if _is_github(web) else None,
        author=c.author,
        occurred_at=iso(parse_time(c.when)),  # type: ignore[arg-type]
        body=c.body[:600],
        extra={
            "number": int(number),
            "local": True,
            "branch": branch,
            "merge_sha": c.sha,
            "commits": [b.sha for b in brought],
            "changed": sum(b.changed for b in brought),
            "files": sorted({f for b in brought for f in b.files})[:500],
        },
    )


def _tags(repo: Path, web: str | None, since: datetime, until: datetime) -> list[ActivityItem]:
    """Tags reachable from HEAD created in the window (tagger date, or commit date)."""
    fmt = _FIELD.join(
        [
            "%(refname:short)",
            "%(creatordate:iso-strict)",
            "%(objectname)",
            "%(*objectname)",
            "%(contents:subject)",
            "%(taggername)",
        ]
    )
    out = _git(repo, "for-each-ref", "--merged=HEAD", f"--format={fmt}", "refs/tags")
    items = []
    for line in out.splitlines():
        parts = line.split(_FIELD)
        if len(parts) < 6 or not in_window(parts[1], since, until):
            continue
        tag, when, obj, peeled, subject, tagger = parts
        title = subject.strip() if peeled else tag  # a lightweight tag's subject is the commit's
        items.append(
            ActivityItem(
                kind="release",
                key=tag,
                title=title or tag,
                url=f"{web}/releases/tag/{tag}" if _is_github(web) else None,
                author=tagger or None,
                occurred_at=iso(parse_time(when)),  # type: ignore[arg-type]
                extra={"tag": tag, "sha": (peeled or obj)[:40], "local": True},
            )
        )
    return items


def fetch_git(path: str, since: datetime, until: datetime) -> Activity:
    """Commits, merged pull requests and releases on ``HEAD`` in ``[since, until)``.

    Merged PRs come from the first-parent history: ``Merge pull request #N from owner/branch``
    merges (the commits they brought are ``merge^1..merge^2``) and squash commits whose subject
    ends in ``(#N)``. Tags (and ``[v0.7]``/``Release 0.8`` commits or release-branch merges
    without a tag) become releases. Every non-merge commit in the window, and every commit a
    PR merged in the window brought, is an item; merges themselves are told by their PR.
    """
    repo = check_git_repo(path)
    has_commits = (
        subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    items: list[ActivityItem] = []
    branch = ""
    web = _web_base(repo)
    if has_commits:
        branch = _git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
        window = [f"--since={iso(since)}", f"--until={iso(until)}"]
        commits = [c for c in _log(repo, "HEAD", *window) if in_window(c.when, since, until)]
        first_parent = [
            c
            for c in _log(repo, "HEAD", "--first-parent", *window)
            if in_window(c.when, since, until)
        ]
        in_pr: dict[str, str] = {}
        prs: dict[str, ActivityItem] = {}
        brought_all: dict[str, _Commit] = {}
        releases: list[tuple[str, _Commit]] = []
        merges: set[str] = set()
        for c in first_parent:
            version = release_version(c.subject)
            if version:
                releases.append((version, c))
            merge = _MERGE_PR_RE.match(c.subject)
            if merge and len(c.parents) != 1:  # none: a shallow clone's boundary merge
                number, source = merge.group(1), merge.group(2)
                brought = _brought(repo, c) if len(c.parents) > 1 else []
                merges.add(c.sha)
                title = c.body.splitlines()[0].strip() if c.body else source
                prs.setdefault(number, _pr_item(number, title, c, web, brought, source))
                for b in brought:
                    in_pr[b.sha] = number
                    brought_all[b.sha] = b
                continue
            squash = _SQUASH_PR_RE.match(c.subject)
            if squash and len(c.parents) <= 1:
                number = squash.group(2)
                prs.setdefault(number, _pr_item(number, squash.group(1), c, web, [c], ""))
                in_pr[c.sha] = number
        listed = {c.sha: c for c in commits if len(c.parents) <= 1 and c.sha not in merges}
        listed.update(brought_all)
        items += [_commit_item(c, web, in_pr.get(sha)) for sha, c in listed.items()]
        items += prs.values()
        tags = _tags(repo, web, since, until)
        tagged = {t.key.lower().lstrip("v") for t in tags}
        for version, c in releases:
            if version.lower().lstrip("v") in tagged:
                continue
            tagged.add(version.lower().lstrip("v"))
            tags.append(
                ActivityItem(
                    kind="release",
                    key=version,
                    title=c.subject,
                    url=None,
                    author=c.author,
                    occurred_at=iso(parse_time(c.when)),  # type: ignore[arg-type]
                    extra={"sha": c.sha, "local": True, "from_commit": True},
                )
            )
        items += tags
    items.sort(key=lambda item: item.occurred_at)
    return Activity(str(repo), "git", since, until, items, {"branch": branch, "web": web})
