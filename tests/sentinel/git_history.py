"""A real git history with merged pull requests, a squash merge, a release branch and tags.

Built with the ``git`` command itself (branches, ``merge --no-ff`` with GitHub's merge
message, annotated and lightweight tags), dated so a one-day window holds most of it.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path


@dataclass
class History:
    repo: Path
    shas: dict[str, str] = field(default_factory=dict)  # commit subject -> sha


def build_history(repo: Path, start: datetime, remote: str | None = None) -> History:
    """Commits at ``start + hours``; one commit before ``start`` and one a day after."""
    repo.mkdir(parents=True)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null"}
    history = History(repo)
    clock = {"t": start - timedelta(days=2)}

    def git(*args: str, hours: float | None = None) -> str:
        if hours is not None:
            clock["t"] = start + timedelta(hours=hours)
        stamp = clock["t"].strftime("%Y-%m-%dT%H:%M:%S+0000")
        extra = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        proc = subprocess.run(
            ["git", *args],
            cwd=repo,
            env={**env, **extra},
            check=True,
            capture_output=True,
            text=True,
        )
        return proc.stdout.strip()

    def commit(subject: str, hours: float, path: str, body: str = "", author: str = "") -> str:
        file = repo / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f"{subject}\n" * 3)
        git("add", ".")
        args = ["commit", "-q", "-m", subject] + (["-m", body] if body else [])
        if author:
            args += ["--author", author]
        git(*args, hours=hours)
        sha = git("rev-parse", "HEAD")
        history.shas[subject] = sha
        return sha

    git("init", "-q", "-b", "main")
    git("config", "user.name", "Dana Dev")
    git("config", "user.email", "dana@example.com")
    if remote:
        git("remote", "add", "origin", remote)
    commit("chore: initial import", -48, "README.md")
    commit("feat: add export command", 1, "src/export.py")
    # a feature branch merged through a pull request (GitHub's merge message and body)
    git("checkout", "-q", "-b", "alice/plugins")
    commit("feat: plugin loader", 2, "src/plugins/loader.py", author="Alice <alice@example.com>")
    commit("test: cover the plugin loader", 3, "tests/test_loader.py", author="Alice <a@x.org>")
    git("checkout", "-q", "main")
    commit("docs: explain the config file (closes #17)", 4, "docs/config.md")
    git(
        "merge",
        "--no-ff",
        "-q",
        "-m",
        "Merge pull request #21 from alice/plugins",
        "-m",
        "Add a plugin loader",
        "alice/plugins",
        hours=5,
    )
    history.shas["merge #21"] = git("rev-parse", "HEAD")
    # a squash merge: one commit whose subject ends in (#22)
    commit("fix: crash on empty input (#22)", 6, "src/parse.py", body="Guard the empty case.")
    git("tag", "-a", "v0.7", "-m", "Version 0.7", hours=7)
    # a release branch merged through a pull request, then tagged (lightweight)
    git("checkout", "-q", "-b", "release/v0.8")
    commit("chore: bump version to 0.8", 8, "VERSION")
    git("checkout", "-q", "main")
    git(
        "merge",
        "--no-ff",
        "-q",
        "-m",
        "Merge pull request #23 from acme/release/v0.8",
        "-m",
        "Release 0.8",
        "release/v0.8",
        hours=9,
    )
    history.shas["merge #23"] = git("rev-parse", "HEAD")
    git("tag", "v0.8")
    commit("perf: faster startup", 10, "src/main.py")
    commit("feat: tomorrow's work", 30, "src/later.py")
    return history
