"""Local git repositories: commits in a window via ``git log`` (private hosts, offline use).

Why a subprocess: git itself is the authority on its history (packs, worktrees, grafts), and
``git log --since/--until`` filters by committer date exactly like the GitHub commits API.
"""

from __future__ import annotations

import re
import subprocess
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from llmapps.sentinel.activity import Activity, ActivityItem
from llmapps.sentinel.errors import SourceError, SubscriptionError
from llmapps.sentinel.timeutil import in_window, iso, parse_time

_FIELD = "\x1f"
_RECORD = "\x1e"
_FORMAT = _FIELD.join(["%H", "%an", "%cI", "%s", "%b", "%P"]) + _RECORD


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


def fetch_git(path: str, since: datetime, until: datetime) -> Activity:
    """Commits on ``HEAD`` whose committer date is in ``[since, until)``; merges left out."""
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
        out = _git(
            repo,
            "log",
            "HEAD",
            f"--since={iso(since)}",
            f"--until={iso(until)}",
            f"--format={_FORMAT}",
        )
        for record in out.split(_RECORD):
            parts = record.strip("\n").split(_FIELD)
            if len(parts) < 6:
                continue
            sha, author, when, subject, body, parents = parts[:6]
            if len(parents.split()) > 1 or not in_window(when, since, until):
                continue
            items.append(
                ActivityItem(
                    kind="commit",
                    key=sha,
                    title=subject.strip(),
                    url=f"{web}/commit/{sha}" if web else None,
                    author=author,
                    occurred_at=iso(parse_time(when)),  # type: ignore[arg-type]
                    body=body.strip()[:600],
                    extra={"sha": sha[:7], "local": True},
                )
            )
    items.sort(key=lambda item: item.occurred_at)
    return Activity(str(repo), "git", since, until, items, {"branch": branch, "web": web})
