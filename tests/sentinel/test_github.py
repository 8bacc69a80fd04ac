"""GitHub source against the loopback emulator: windows, pagination, ETags, rate limits, errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from llmapps.config import Settings
from llmapps.sentinel.errors import GitHubAuthError, RateLimitError, RepoNotFoundError
from llmapps.sentinel.sources.github import GitHubClient, fetch_many, fetch_repo_sync
from tests.sentinel.sentinel_emulator import GitHubEmulator

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 2, tzinfo=UTC)


def populate(emu: GitHubEmulator, name: str = "acme/rocket") -> dict[str, set[str]]:
    """A busy repository; returns the keys a correct fetch must find in [SINCE, UNTIL)."""
    repo = emu.repo(name, default_branch="develop")
    expected: dict[str, set[str]] = {
        k: set() for k in ("pr", "opened", "closed", "commit", "release")
    }
    # 260 closed PRs updated inside the window (3 pages): every 3rd merged inside the window,
    # every 3rd merged BEFORE the window (but updated inside it), the rest closed unmerged.
    for n in range(1, 261):
        updated = SINCE + timedelta(minutes=5 * n)
        if n % 3 == 0:
            repo.add_pr(
                n,
                f"feat: feature {n}",
                merged=updated - timedelta(minutes=1),
                updated=updated,
                labels=("enhancement",),
            )
            expected["pr"].add(str(n))
        elif n % 3 == 1:
            repo.add_pr(n, f"fix: old merge {n}", merged=SINCE - timedelta(days=3), updated=updated)
        else:
            repo.add_pr(n, f"closed unmerged {n}", merged=None, updated=updated)
    # 150 PRs last touched long before the window: the client must stop paginating early.
    for n in range(1000, 1150):
        old = SINCE - timedelta(days=30, minutes=n)
        repo.add_pr(n, f"ancient {n}", merged=old, updated=old)
    # Issues: opened in window, closed in window (opened before), opened+closed, outside.
    repo.add_issue(301, "Crash on start", created=SINCE + timedelta(hours=1), comments=14)
    expected["opened"].add("301")
    repo.add_issue(
        302, "Docs typo", created=SINCE - timedelta(days=5), closed=SINCE + timedelta(hours=3)
    )
    expected["closed"].add("302")
    repo.add_issue(
        303, "Flaky test", created=SINCE + timedelta(hours=2), closed=SINCE + timedelta(hours=4)
    )
    expected["opened"].add("303")
    expected["closed"].add("303")
    repo.add_issue(304, "Too old", created=SINCE - timedelta(days=9))
    repo.add_issue(305, "Too new", created=UNTIL + timedelta(hours=1))
    # Commits on develop: two in the window, a merge commit, one outside.
    for msg, when, merge in (
        ("feat: faster boot", SINCE + timedelta(hours=6), False),
        ("fix(cli): quote paths\n\nLong body", SINCE + timedelta(hours=7), False),
        ("Merge pull request #3", SINCE + timedelta(hours=8), True),
        ("refactor: outside", SINCE - timedelta(hours=2), False),
    ):
        sha = repo.add_commit(msg, when, merge=merge)
        if SINCE <= when < UNTIL and not merge:
            expected["commit"].add(sha)
    repo.add_release("v2.0.0", "Rocket 2.0", SINCE + timedelta(hours=10))
    expected["release"].add("v2.0.0")
    repo.add_release("v1.9.0", "Rocket 1.9", SINCE - timedelta(days=20))
    repo.add_release("v2.1.0-draft", "Draft", None)
    return expected


def keys(activity, kind: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {i.key for i in activity.items if i.kind == kind}


def test_window_is_exact_and_pagination_stops_early(
    github: GitHubEmulator, settings: Settings
) -> None:
    expected = populate(github)
    activity = fetch_repo_sync(settings, "acme/rocket", SINCE, UNTIL)
    assert keys(activity, "pr") == expected["pr"]
    assert len(expected["pr"]) == 86
    assert keys(activity, "issue_opened") == expected["opened"]
    assert keys(activity, "issue_closed") == expected["closed"]
    assert keys(activity, "commit") == expected["commit"]
    assert keys(activity, "release") == expected["release"]
    assert activity.meta["default_branch"] == "develop"
    pr = next(i for i in activity.items if i.kind == "pr")
    assert pr.url and pr.url.startswith("https://github.com/acme/rocket/pull/")
    assert pr.author == "alice" and pr.labels == ["enhancement"]
    pull_pages = [u for u, _ in github.log if "/pulls" in u]
    # 410 PRs = 5 pages; page 3 holds the first ancient PR, so pages 4 and 5 are never fetched.
    assert len(pull_pages) == 3
    assert any("page=3" in u for u in pull_pages)
    assert len([u for u, _ in github.log if "/issues" in u]) == 3  # 265 issues+PRs: 3 pages
    assert all("sha=develop" in u for u, _ in github.log if "/commits" in u)


def test_second_run_uses_conditional_requests(github: GitHubEmulator, settings: Settings) -> None:
    populate(github)
    first = fetch_repo_sync(settings, "acme/rocket", SINCE, UNTIL)
    calls = github.count()
    assert github.count(304) == 0
    second = fetch_repo_sync(settings, "acme/rocket", SINCE, UNTIL)
    assert github.count() - calls == calls  # same requests...
    assert github.count(304) == calls  # ...every one answered 304 from the stored ETag
    assert [i.to_dict() for i in second.items] == [i.to_dict() for i in first.items]
    # A change invalidates the ETag of that list only.
    github.repos["acme/rocket"].add_release("v2.0.1", "Patch", SINCE + timedelta(hours=11))
    third = fetch_repo_sync(settings, "acme/rocket", SINCE, UNTIL)
    assert "v2.0.1" in keys(third, "release")


def test_unknown_repository_is_a_clear_error(github: GitHubEmulator, settings: Settings) -> None:
    with pytest.raises(RepoNotFoundError, match=r"acme/nope.*404.*GITHUB_TOKEN"):
        fetch_repo_sync(settings, "acme/nope", SINCE, UNTIL)


def test_bad_token_is_a_clear_error(
    github: GitHubEmulator, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    populate(github)
    github.token = "ghp_right"
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_wrong")
    with pytest.raises(GitHubAuthError, match=r"401.*GITHUB_TOKEN"):
        fetch_repo_sync(settings, "acme/rocket", SINCE, UNTIL)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_right")
    github.repos["acme/rocket"].private = True
    assert fetch_repo_sync(settings, "acme/rocket", SINCE, UNTIL).items


def test_short_rate_limit_is_waited_out(github: GitHubEmulator, settings: Settings) -> None:
    populate(github)
    github.limit_now(1.5)
    activity = fetch_repo_sync(settings, "acme/rocket", SINCE, UNTIL)
    assert activity.items
    assert github.count(403) >= 1


def test_long_rate_limit_reports_the_reset_time(github: GitHubEmulator, settings: Settings) -> None:
    populate(github)
    github.limit_now(3600)
    with pytest.raises(RateLimitError, match=r"rate limit exhausted until \d{4}-\d\d-\d\dT"):
        fetch_repo_sync(settings, "acme/rocket", SINCE, UNTIL)


def test_many_repositories_concurrently_one_failure_kept_apart(
    github: GitHubEmulator, settings: Settings
) -> None:
    for i in range(4):
        github.repo(f"acme/r{i}").add_commit(f"feat: r{i}", SINCE + timedelta(hours=1))

    async def run() -> dict[str, object]:
        async with GitHubClient.from_settings(settings, concurrency=3) as client:
            return await fetch_many(
                client, ["acme/r0", "acme/r1", "acme/missing", "acme/r2", "acme/r3"], SINCE, UNTIL
            )

    results = asyncio.run(run())
    assert isinstance(results["acme/missing"], RepoNotFoundError)
    for i in range(4):
        activity = results[f"acme/r{i}"]
        assert [item.title for item in activity.items] == [f"feat: r{i}"]  # type: ignore[union-attr]


def test_enterprise_base_url(github: GitHubEmulator, httpserver, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A GitHub Enterprise server lives under /api/v3; every request goes there."""
    import re

    from werkzeug import Response

    from llmapps.config import get_settings

    github.repo("corp/app").add_release("v1", "One", SINCE + timedelta(hours=1))
    base = httpserver.url_for("/api/v3")

    def handler(request):  # type: ignore[no-untyped-def]
        path = request.path.removeprefix("/api/v3")
        url = path + (f"?{request.query_string.decode()}" if request.query_string else "")
        status, headers, body = github.handle(request.method, url, dict(request.headers), base)
        return Response(body, status=status, headers=headers)

    httpserver.expect_request(re.compile(r"^/api/v3/.*")).respond_with_handler(handler)
    monkeypatch.setenv("LLMAPPS_SENTINEL__GITHUB_API_URL", base)
    activity = fetch_repo_sync(get_settings(), "corp/app", SINCE, UNTIL)
    assert keys(activity, "release") == {"v1"}


def test_secondary_rate_limit_honours_retry_after(
    github: GitHubEmulator, settings: Settings
) -> None:
    import time

    populate(github)
    github.secondary_until = time.time() + 0.8
    started = time.monotonic()
    activity = fetch_repo_sync(settings, "acme/rocket", SINCE, UNTIL)
    assert activity.items and github.count(429) >= 1
    assert time.monotonic() - started >= 0.9  # waited the Retry-After second
