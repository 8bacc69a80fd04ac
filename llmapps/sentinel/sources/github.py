"""GitHub REST v3 client: windows of merged PRs, issues, commits and releases.

Why hand-written on httpx: we need exactly four list endpoints, but with every courtesy the
API asks for: ``Link`` pagination, conditional requests (``ETag``/``If-None-Match``, a 304 is
free), rate limits (``X-RateLimit-*``, 403/429, ``Retry-After``) waited out when short and
reported with the reset time when long, and GitHub Enterprise base URLs. Fetching is async
with a semaphore so 50 repositories take the time of a few.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from llmapps.config import Settings, secret
from llmapps.scrub import scrub
from llmapps.sentinel.activity import Activity, ActivityItem
from llmapps.sentinel.errors import (
    GitHubAuthError,
    RateLimitError,
    RepoNotFoundError,
    SourceError,
    SubscriptionError,
)
from llmapps.sentinel.sources.http_cache import EtagCache
from llmapps.sentinel.timeutil import in_window, iso, parse_time

log = logging.getLogger("llmapps.sentinel.github")

REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$")
PER_PAGE = 100
BODY_CHARS = 600
_LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')


def check_repo_name(repo: str) -> str:
    """``owner/name`` or a clear error (URLs are accepted and trimmed)."""
    name = repo.strip().removesuffix(".git")
    name = re.sub(r"^(https?://[^/]+/)", "", name).strip("/")
    if not REPO_RE.match(name):
        raise SubscriptionError(
            f"'{repo}' is not a GitHub repository name: use owner/repo "
            "(e.g. langchain-ai/langchain)"
        )
    return name


def parse_link(header: str | None) -> dict[str, str]:
    """``Link: <url>; rel="next", …`` -> ``{"next": url, …}``."""
    return {rel: url for url, rel in _LINK_RE.findall(header or "")}


@dataclass
class FetchStats:
    """Counters for the benchmark and the logs."""

    requests: int = 0
    not_modified: int = 0
    rate_limit_waits: int = 0


class GitHubClient:
    """An async GitHub client bound to one base URL, token, ETag cache and concurrency limit."""

    def __init__(
        self,
        base_url: str = "https://api.github.com",
        token: str | None = None,
        *,
        cache: EtagCache | None = None,
        concurrency: int = 8,
        max_wait: float = 60.0,
        timeout: float = 30.0,
        retries: int = 3,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.cache = cache
        self.max_wait = max_wait
        self.retries = retries
        self.stats = FetchStats()
        self._sem = asyncio.Semaphore(max(1, concurrency))
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "llmapps-sentinel",
        }
        # The token is sent per request and only to the API's own origin (see _auth_for): a
        # Link header pointing elsewhere must not carry it away.
        token = (token or "").strip() or None
        self._auth = {"Authorization": f"Bearer {token}"} if token else {}
        self._origin = httpx.URL(self.base_url).copy_with(path="/", query=None, fragment=None)
        self._client = httpx.AsyncClient(headers=headers, timeout=timeout, trust_env=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, concurrency: int | None = None) -> GitHubClient:
        cfg = settings.sentinel
        return cls(
            cfg.github_api_url,
            secret("GITHUB_TOKEN"),
            cache=EtagCache(settings),
            concurrency=concurrency or cfg.concurrency,
            max_wait=cfg.rate_limit_max_wait,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    # -- one request -------------------------------------------------------------------
    def _auth_for(self, url: str) -> dict[str, str]:
        """The Authorization header, only for URLs on the configured API's scheme/host/port."""
        target = httpx.URL(url)
        same = (target.scheme, target.host, target.port) == (
            self._origin.scheme,
            self._origin.host,
            self._origin.port,
        )
        return self._auth if same else {}

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        full = path if path.startswith("http") else f"{self.base_url}{path}"
        return str(httpx.URL(full, params=params)) if params else full

    async def get_json(self, url: str, *, what: str = "") -> tuple[Any, dict[str, str]]:
        """GET ``url`` -> (decoded JSON, Link rels); 304 answers replay the cached body."""
        cached = self.cache.get(url) if self.cache else None
        headers = {"If-None-Match": cached.etag} if cached else {}
        headers.update(self._auth_for(url))
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._sem:
                    self.stats.requests += 1
                    resp = await self._client.get(url, headers=headers)
            except httpx.TransportError as exc:
                if attempt <= self.retries:
                    await asyncio.sleep(0.5 * attempt)
                    continue
                raise SourceError(
                    f"cannot reach GitHub at {self.base_url} ({type(exc).__name__}): check the "
                    "network or sentinel.github_api_url"
                ) from None
            status = resp.status_code
            if status == 304 and cached is not None:
                self.stats.not_modified += 1
                return json.loads(cached.body), parse_link(cached.link)
            if status == 200:
                etag = resp.headers.get("ETag")
                link = resp.headers.get("Link")
                if etag and self.cache is not None:
                    self.cache.put(url, etag, link, resp.text)
                return resp.json(), parse_link(link)
            if status == 401:
                raise GitHubAuthError(
                    f"GitHub rejected the token (401 at {self.base_url}): set a valid "
                    "GITHUB_TOKEN in the environment or .env"
                )
            if status == 404:
                raise RepoNotFoundError(
                    f"GitHub has no repository {what or url} (404): check owner/repo, or set "
                    "GITHUB_TOKEN with access to a private repository"
                )
            wait = self._rate_limit_wait(resp)
            if wait is not None:
                if wait <= self.max_wait and attempt <= self.retries + 2:
                    self.stats.rate_limit_waits += 1
                    log.warning("GitHub rate limit: waiting %.1fs before retrying", wait)
                    await asyncio.sleep(wait)
                    continue
                reset = datetime.fromtimestamp(time.time() + wait, UTC)
                raise RateLimitError(
                    f"GitHub rate limit exhausted until {iso(reset)} (about {int(wait // 60) + 1}"
                    " min): retry after the reset, or set GITHUB_TOKEN for a higher limit"
                )
            if status >= 500 and attempt <= self.retries:
                await asyncio.sleep(0.5 * attempt)
                continue
            message = _message(resp)
            if status == 403:
                raise SourceError(
                    f"GitHub refused access to {what or url} (403: {message}): check the "
                    "token's permissions"
                )
            raise SourceError(f"GitHub answered {status} for {what or url}: {message}")

    @staticmethod
    def _rate_limit_wait(resp: httpx.Response) -> float | None:
        """Seconds to wait when ``resp`` is a rate-limit answer, else None."""
        if resp.status_code not in (403, 429):
            return None
        retry_after = resp.headers.get("Retry-After")
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                when = parse_time(retry_after)
                return max(0.0, when.timestamp() - time.time()) if when else 60.0
        if resp.headers.get("X-RateLimit-Remaining") == "0":
            reset = resp.headers.get("X-RateLimit-Reset")
            if reset and reset.isdigit():
                return max(0.0, int(reset) - time.time()) + 1.0
            return 60.0
        if resp.status_code == 429:
            return 60.0
        if "rate limit" in _message(resp).lower():  # secondary limit without headers
            return 60.0
        return None

    async def paginate(
        self,
        path: str,
        params: dict[str, Any],
        *,
        what: str = "",
        stop: Callable[[list[Any]], bool] | None = None,
        max_pages: int = 50,
    ) -> list[Any]:
        """Items of a list endpoint following ``Link: rel="next"``; ``stop(page)`` ends early."""
        url: str | None = self.url(path, {**params, "per_page": PER_PAGE})
        items: list[Any] = []
        pages = 0
        while url and pages < max_pages:
            data, links = await self.get_json(url, what=what)
            pages += 1
            page = data if isinstance(data, list) else []
            items.extend(page)
            if not page or (stop is not None and stop(page)):
                break
            url = links.get("next")
        return items

    # -- one repository ----------------------------------------------------------------
    async def fetch_repo(self, repo: str, since: datetime, until: datetime) -> Activity:
        """Merged PRs, issues opened/closed, default-branch commits and releases in the window."""
        repo = check_repo_name(repo)
        info, _ = await self.get_json(self.url(f"/repos/{repo}"), what=repo)
        branch = info.get("default_branch") or "main"
        prs, issues, commits, releases = await asyncio.gather(
            self._merged_prs(repo, since, until),
            self._issues(repo, since, until),
            self._commits(repo, branch, since, until),
            self._releases(repo, since, until),
        )
        items = [*releases, *prs, *issues, *commits]
        items.sort(key=lambda item: item.occurred_at)
        meta = {
            "html_url": info.get("html_url"),
            "default_branch": branch,
            "description": info.get("description"),
        }
        return Activity(repo, "github", since, until, items, meta)

    async def _merged_prs(self, repo: str, since: datetime, until: datetime) -> list[ActivityItem]:
        def older(page: list[Any]) -> bool:
            last = parse_time(page[-1].get("updated_at"))
            return last is not None and last < since

        pulls = await self.paginate(
            f"/repos/{repo}/pulls",
            {"state": "closed", "sort": "updated", "direction": "desc"},
            what=repo,
            stop=older,
        )
        return [
            ActivityItem(
                kind="pr",
                key=str(pr["number"]),
                title=pr.get("title") or "",
                url=pr.get("html_url"),
                author=(pr.get("user") or {}).get("login"),
                occurred_at=iso(parse_time(pr["merged_at"])),  # type: ignore[arg-type]
                body=(pr.get("body") or "")[:BODY_CHARS],
                labels=[label.get("name", "") for label in pr.get("labels") or []],
                extra={"number": pr["number"]},
            )
            for pr in pulls
            if in_window(pr.get("merged_at"), since, until)
        ]

    async def _issues(self, repo: str, since: datetime, until: datetime) -> list[ActivityItem]:
        raw = await self.paginate(
            f"/repos/{repo}/issues",
            {"state": "all", "since": iso(since), "sort": "updated", "direction": "desc"},
            what=repo,
        )
        items: list[ActivityItem] = []
        for issue in raw:
            if "pull_request" in issue:
                continue
            base = {
                "key": str(issue["number"]),
                "title": issue.get("title") or "",
                "url": issue.get("html_url"),
                "author": (issue.get("user") or {}).get("login"),
                "body": (issue.get("body") or "")[:BODY_CHARS],
                "labels": [label.get("name", "") for label in issue.get("labels") or []],
            }
            extra = {
                "number": issue["number"],
                "comments": issue.get("comments", 0),
                "state": issue.get("state"),
                "state_reason": issue.get("state_reason"),
            }
            if in_window(issue.get("created_at"), since, until):
                when = iso(parse_time(issue["created_at"]))  # type: ignore[arg-type]
                items.append(ActivityItem("issue_opened", occurred_at=when, extra=extra, **base))
            if issue.get("state") == "closed" and in_window(issue.get("closed_at"), since, until):
                when = iso(parse_time(issue["closed_at"]))  # type: ignore[arg-type]
                items.append(
                    ActivityItem("issue_closed", occurred_at=when, extra=dict(extra), **base)
                )
        return items

    async def _commits(
        self, repo: str, branch: str, since: datetime, until: datetime
    ) -> list[ActivityItem]:
        raw = await self.paginate(
            f"/repos/{repo}/commits",
            {"sha": branch, "since": iso(since), "until": iso(until)},
            what=repo,
        )
        items = []
        for commit in raw:
            if len(commit.get("parents") or []) > 1:
                continue  # merge commits: the merged PR already tells that story
            detail = commit.get("commit") or {}
            when = (detail.get("committer") or {}).get("date") or (detail.get("author") or {}).get(
                "date"
            )
            if not in_window(when, since, until):
                continue
            message = detail.get("message") or ""
            title, _, body = message.partition("\n")
            author = (commit.get("author") or {}).get("login") or (detail.get("author") or {}).get(
                "name"
            )
            items.append(
                ActivityItem(
                    kind="commit",
                    key=commit["sha"],
                    title=title.strip(),
                    url=commit.get("html_url"),
                    author=author,
                    occurred_at=iso(parse_time(when)),  # type: ignore[arg-type]
                    body=body.strip()[:BODY_CHARS],
                    extra={"sha": commit["sha"][:7]},
                )
            )
        return items

    async def _releases(self, repo: str, since: datetime, until: datetime) -> list[ActivityItem]:
        def older(page: list[Any]) -> bool:
            times = [parse_time(r.get("published_at") or r.get("created_at")) for r in page]
            return all(t is not None and t < since for t in times)

        raw = await self.paginate(f"/repos/{repo}/releases", {}, what=repo, stop=older)
        return [
            ActivityItem(
                kind="release",
                key=rel.get("tag_name") or str(rel.get("id")),
                title=rel.get("name") or rel.get("tag_name") or "",
                url=rel.get("html_url"),
                author=(rel.get("author") or {}).get("login"),
                occurred_at=iso(parse_time(rel["published_at"])),  # type: ignore[arg-type]
                body=(rel.get("body") or "")[:BODY_CHARS],
                extra={"tag": rel.get("tag_name"), "prerelease": rel.get("prerelease", False)},
            )
            for rel in raw
            if not rel.get("draft") and in_window(rel.get("published_at"), since, until)
        ]


def _message(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("message", "")) or resp.reason_phrase
    except (ValueError, AttributeError):
        return scrub(resp.text)[:200] or resp.reason_phrase


async def fetch_many(
    client: GitHubClient,
    repos: Sequence[str],
    since: datetime,
    until: datetime,
    *,
    concurrent: bool = True,
) -> dict[str, Activity | Exception]:
    """Fetch several repositories; one failure is returned in place, never stops the others."""
    results: dict[str, Activity | Exception] = {}

    async def one(repo: str) -> None:
        try:
            results[repo] = await client.fetch_repo(repo, since, until)
        except Exception as exc:  # kept per repository: the caller reports it
            results[repo] = exc

    if concurrent:
        await asyncio.gather(*(one(repo) for repo in repos))
    else:
        for repo in repos:
            await one(repo)
    return results


def fetch_repo_sync(settings: Settings, repo: str, since: datetime, until: datetime) -> Activity:
    """Blocking wrapper for the service layer (CLI, routes, scheduler threads)."""

    async def run() -> Activity:
        async with GitHubClient.from_settings(settings) as client:
            return await client.fetch_repo(repo, since, until)

    return asyncio.run(run())
