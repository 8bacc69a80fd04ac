"""Merged pull requests, squash merges, release merges and tags from a real git history.

The histories are real: one built here with ``git`` itself (branches, ``merge --no-ff`` with
GitHub's "Merge pull request #N from owner/branch" message, a "(#N)" squash commit, annotated
and lightweight tags), and this project's own repository.
"""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from llmapps.config import Settings
from llmapps.sentinel import service
from llmapps.sentinel.activity import ActivityItem
from llmapps.sentinel.sources.git import fetch_git, release_version
from tests.sentinel.conftest import WINDOW_END, WINDOW_START, CountingFakeModel
from tests.sentinel.git_history import History, build_history

IN_WINDOW = [
    "feat: add export command",
    "feat: plugin loader",
    "test: cover the plugin loader",
    "docs: explain the config file (closes #17)",
    "fix: crash on empty input (#22)",
    "chore: bump version to 0.8",
    "perf: faster startup",
]


@pytest.fixture
def history(tmp_path: Path) -> History:
    return build_history(tmp_path / "rocket", WINDOW_START, "git@github.com:acme/rocket.git")


def report_for(settings: Settings, repo: Path, model: CountingFakeModel, **kw: object) -> str:
    report = service.generate_report(
        settings,
        str(repo),
        since=WINDOW_START.isoformat(),
        until=WINDOW_END.isoformat(),
        lang="en",
        chat_model=model,
        **kw,  # type: ignore[arg-type]
    )
    return report.markdown


def test_merged_prs_squash_merges_and_tags_become_items(history: History) -> None:
    activity = fetch_git(str(history.repo), WINDOW_START, WINDOW_END)
    by_kind: dict[str, dict[str, ActivityItem]] = {}
    for item in activity.items:
        by_kind.setdefault(item.kind, {})[item.key] = item
    prs = by_kind["pr"]
    assert sorted(prs) == ["21", "22", "23"]
    pr21 = prs["21"]
    assert pr21.title == "Add a plugin loader"
    assert pr21.extra["branch"] == "alice/plugins"
    assert pr21.url == "https://github.com/acme/rocket/pull/21"
    assert set(pr21.extra["commits"]) == {
        history.shas["feat: plugin loader"],
        history.shas["test: cover the plugin loader"],
    }
    assert pr21.extra["merge_sha"] == history.shas["merge #21"]
    pr22 = prs["22"]
    assert pr22.title == "fix: crash on empty input"
    assert pr22.extra["commits"] == [history.shas["fix: crash on empty input (#22)"]]
    releases = by_kind["release"]
    assert sorted(releases) == ["v0.7", "v0.8"]
    assert releases["v0.7"].title == "Version 0.7"
    assert releases["v0.8"].url == "https://github.com/acme/rocket/releases/tag/v0.8"
    # every non-merge commit in the window is an item; the merges are told by their PRs
    assert {i.title for i in by_kind["commit"].values()} == set(IN_WINDOW)
    assert history.shas["merge #21"] not in by_kind["commit"]


def test_report_lists_every_commit_and_merged_pr(
    history: History, settings: Settings, fake_model: CountingFakeModel
) -> None:
    md = report_for(settings, history.repo, fake_model)
    for subject in IN_WINDOW:
        sha = history.shas[subject]
        assert f"[`{sha[:7]}`](https://github.com/acme/rocket/commit/{sha})" in md, subject
    assert "initial import" not in md and "tomorrow's work" not in md
    pr_line = next(line for line in md.splitlines() if line.startswith("- [#21]"))
    assert pr_line.startswith("- [#21](https://github.com/acme/rocket/pull/21) Add a plugin loader")
    assert "from alice/plugins · 2 commits" in pr_line
    # the commits a PR brought are listed once, under it
    after = md.split(pr_line, 1)[1].splitlines()[1:3]
    assert all(line.startswith("  - [`") for line in after)
    assert md.count(history.shas["feat: plugin loader"][:7] + "`]") == 1
    assert "- [#22](https://github.com/acme/rocket/pull/22) fix: crash on empty input" in md
    assert "- [#23](https://github.com/acme/rocket/pull/23) Release 0.8" in md
    releases = md.split("## Releases")[1].split("## ")[0]
    assert "[v0.7](https://github.com/acme/rocket/releases/tag/v0.7) Version 0.7" in releases
    assert "[v0.8](https://github.com/acme/rocket/releases/tag/v0.8)" in releases
    # the model read numbered items: PRs by number, commits and releases by position
    prompt = fake_model.prompts[0]
    assert "[PR21] merged PR #21: Add a plugin loader (2 commits" in prompt
    assert "(in PR21)" in prompt and "[R1] release v0.7: Version 0.7" in prompt


def test_links_only_where_the_remote_is_github(tmp_path: Path, settings: Settings) -> None:
    history = build_history(tmp_path / "r", WINDOW_START, "https://gitlab.example.com/acme/r.git")
    activity = fetch_git(str(history.repo), WINDOW_START, WINDOW_END)
    pr = next(i for i in activity.items if i.kind == "pr")
    commit = next(i for i in activity.items if i.kind == "commit")
    assert pr.url is None  # GitLab has merge requests, not /pull/N
    assert commit.url and commit.url.startswith("https://gitlab.example.com/acme/r/commit/")


def test_release_subjects_without_a_tag_become_releases(tmp_path: Path) -> None:
    assert release_version("[v0.7] Release notes and version bump") == "v0.7"
    assert release_version("Merge branch 'release/0.9.1'") == "v0.9.1"
    assert release_version("Release 1.2.0rc1") == "v1.2.0rc1"
    assert release_version("fix: release the lock on exit") is None
    history = build_history(tmp_path / "r", WINDOW_START)
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null"}
    (history.repo / "CHANGES").write_text("0.9\n")
    stamp = (WINDOW_START + timedelta(hours=11)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    for args in (["add", "."], ["commit", "-q", "-m", "[v0.9] Release 0.9"]):
        subprocess.run(
            ["git", *args],
            cwd=history.repo,
            check=True,
            capture_output=True,
            env={
                "PATH": "/usr/bin:/bin",
                **env,
                "GIT_COMMITTER_DATE": stamp,
                "GIT_AUTHOR_DATE": stamp,
            },
        )
    activity = fetch_git(str(history.repo), WINDOW_START, WINDOW_END)
    releases = {i.key: i for i in activity.items if i.kind == "release"}
    assert sorted(releases) == ["v0.7", "v0.8", "v0.9"]  # v0.8's merge is not counted twice
    assert releases["v0.9"].title == "[v0.9] Release 0.9"


def test_a_shallow_clone_still_reports(history: History, tmp_path: Path) -> None:
    """CI checkouts are often shallow: a merge at the boundary has no visible parents."""
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "3", f"file://{history.repo}", str(clone)],
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "GIT_CONFIG_GLOBAL": "/dev/null"},
    )
    activity = fetch_git(str(clone), WINDOW_START, WINDOW_END)
    prs = {i.key for i in activity.items if i.kind == "pr"}
    assert prs == {"23"}  # the boundary merge: its PR without the commits cut off
    titles = {i.title for i in activity.items if i.kind == "commit"}
    assert "perf: faster startup" in titles
    assert not any(t.startswith("Merge pull request") for t in titles)


def test_this_projects_own_history_is_complete() -> None:
    """A real history not made for the test: every commit of the last 40 is in the report."""
    root = Path(__file__).resolve().parents[2]
    probe = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--show-toplevel"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip("the tests do not run from a git checkout of the project")
    log = subprocess.run(
        ["git", "-C", str(root), "log", "-n", "40", "--format=%H %cI %P"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    rows = [line.split(" ") for line in log if line]
    from llmapps.sentinel.timeutil import parse_time

    times = [parse_time(r[1]) for r in rows]
    since = min(t for t in times if t is not None)
    until = max(t for t in times if t is not None) + timedelta(seconds=1)
    activity = fetch_git(str(root), since, until)
    keys = {i.key for i in activity.items if i.kind == "commit"}
    expected = {r[0] for r in rows if len(r) <= 3}  # non-merge commits (one parent)
    assert expected <= keys
    assert all(re.fullmatch(r"[0-9a-f]{40}", key) for key in keys)
