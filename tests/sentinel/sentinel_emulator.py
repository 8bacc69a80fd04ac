"""Loopback emulators of the GitHub REST v3 and Hacker News Firebase APIs (real wire format).

Used by the sentinel tests (through pytest-httpserver) and by ``bench/sentinel.py`` (through a
threaded ``http.server``): both call :meth:`GitHubEmulator.handle`, which answers like GitHub
does: JSON shapes, ``Link`` pagination, weak ``ETag`` + ``304``, ``X-RateLimit-*`` headers,
401 bad credentials, 404 unknown repository, 403 rate limit with reset headers.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

DOCS = "https://docs.github.com/rest"


def ts(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _user(login: str) -> dict[str, Any]:
    return {
        "login": login,
        "id": abs(hash(login)) % 10_000_000,
        "node_id": "MDQ6VXNlcjE=",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{abs(hash(login)) % 999}?v=4",
        "html_url": f"https://github.com/{login}",
        "type": "User",
        "site_admin": False,
    }


def _label(name: str) -> dict[str, Any]:
    return {"id": abs(hash(name)) % 99999, "name": name, "color": "a2eeef", "default": False}


@dataclass
class RepoData:
    full_name: str
    default_branch: str = "main"
    pulls: list[dict[str, Any]] = field(default_factory=list)
    issues: list[dict[str, Any]] = field(default_factory=list)  # PRs appear here too
    commits: list[dict[str, Any]] = field(default_factory=list)
    releases: list[dict[str, Any]] = field(default_factory=list)
    private: bool = False
    pushed_at: str = field(default_factory=lambda: ts(datetime.now(UTC)))

    @property
    def html_url(self) -> str:
        return f"https://github.com/{self.full_name}"

    def info(self, api: str) -> dict[str, Any]:
        owner, name = self.full_name.split("/")
        return {
            "id": abs(hash(self.full_name)) % 10_000_000,
            "node_id": "R_kgDOA",
            "name": name,
            "full_name": self.full_name,
            "private": self.private,
            "owner": _user(owner),
            "html_url": self.html_url,
            "description": f"The {name} project",
            "fork": False,
            "url": f"{api}/repos/{self.full_name}",
            "default_branch": self.default_branch,
            "stargazers_count": 1234,
            "open_issues_count": 12,
            "pushed_at": self.pushed_at,
        }

    # -- builders (times are datetimes; everything else has GitHub's shape) -------------------
    def add_pr(
        self,
        number: int,
        title: str,
        *,
        merged: datetime | None,
        updated: datetime,
        created: datetime | None = None,
        labels: tuple[str, ...] = (),
        author: str = "alice",
        body: str = "",
    ) -> None:
        created = created or updated - timedelta(days=2)
        closed = merged or updated
        pr = {
            "url": f"https://api.github.com/repos/{self.full_name}/pulls/{number}",
            "id": 1000 + number,
            "html_url": f"{self.html_url}/pull/{number}",
            "number": number,
            "state": "closed",
            "locked": False,
            "title": title,
            "user": _user(author),
            "body": body,
            "labels": [_label(n) for n in labels],
            "created_at": ts(created),
            "updated_at": ts(updated),
            "closed_at": ts(closed),
            "merged_at": ts(merged) if merged else None,
            "merge_commit_sha": hashlib.sha1(f"m{number}".encode()).hexdigest(),
            "draft": False,
            "head": {"ref": f"feature-{number}", "sha": "a" * 40},
            "base": {"ref": self.default_branch, "sha": "b" * 40},
            "author_association": "CONTRIBUTOR",
        }
        self.pulls.append(pr)
        self.issues.append(
            {
                **self._issue_base(number, title, author, created, updated, closed, labels, body),
                "state": "closed",
                "html_url": f"{self.html_url}/pull/{number}",
                "pull_request": {
                    "url": pr["url"],
                    "html_url": pr["html_url"],
                    "merged_at": pr["merged_at"],
                },
            }
        )

    def _issue_base(
        self,
        number: int,
        title: str,
        author: str,
        created: datetime,
        updated: datetime,
        closed: datetime | None,
        labels: tuple[str, ...],
        body: str,
    ) -> dict[str, Any]:
        return {
            "url": f"https://api.github.com/repos/{self.full_name}/issues/{number}",
            "id": 5000 + number,
            "number": number,
            "title": title,
            "user": _user(author),
            "labels": [_label(n) for n in labels],
            "locked": False,
            "comments": 0,
            "created_at": ts(created),
            "updated_at": ts(updated),
            "closed_at": ts(closed) if closed else None,
            "author_association": "NONE",
            "body": body,
            "reactions": {"total_count": 0},
            "state_reason": "completed" if closed else None,
        }

    def add_issue(
        self,
        number: int,
        title: str,
        *,
        created: datetime,
        updated: datetime | None = None,
        closed: datetime | None = None,
        comments: int = 0,
        labels: tuple[str, ...] = (),
        author: str = "bob",
        body: str = "",
    ) -> None:
        updated = updated or closed or created
        issue = self._issue_base(number, title, author, created, updated, closed, labels, body)
        issue.update(
            state="closed" if closed else "open",
            html_url=f"{self.html_url}/issues/{number}",
            comments=comments,
        )
        self.issues.append(issue)

    def add_commit(
        self, message: str, when: datetime, *, author: str = "carol", merge: bool = False
    ) -> str:
        sha = hashlib.sha1(f"{self.full_name}{message}{when}".encode()).hexdigest()
        parents = [{"sha": "c" * 40}] + ([{"sha": "d" * 40}] if merge else [])
        self.commits.append(
            {
                "sha": sha,
                "node_id": "C_kwDO",
                "commit": {
                    "author": {
                        "name": author.title(),
                        "email": f"{author}@example.com",
                        "date": ts(when),
                    },
                    "committer": {
                        "name": "GitHub",
                        "email": "noreply@github.com",
                        "date": ts(when),
                    },
                    "message": message,
                    "tree": {"sha": "e" * 40},
                    "comment_count": 0,
                },
                "url": f"https://api.github.com/repos/{self.full_name}/commits/{sha}",
                "html_url": f"{self.html_url}/commit/{sha}",
                "author": _user(author),
                "committer": _user("web-flow"),
                "parents": parents,
            }
        )
        return sha

    def add_release(
        self,
        tag: str,
        name: str,
        published: datetime | None,
        *,
        body: str = "",
        prerelease: bool = False,
    ) -> None:
        self.releases.append(
            {
                "url": f"https://api.github.com/repos/{self.full_name}/releases/{len(self.releases)}",
                "html_url": f"{self.html_url}/releases/tag/{tag}",
                "id": 9000 + len(self.releases),
                "tag_name": tag,
                "target_commitish": self.default_branch,
                "name": name,
                "draft": published is None,
                "prerelease": prerelease,
                "created_at": ts(published or datetime.now(UTC)),
                "published_at": ts(published) if published else None,
                "author": _user("release-bot"),
                "assets": [],
                "body": body,
            }
        )


class GitHubEmulator:
    """Answers GitHub REST v3 requests for the repositories it holds."""

    def __init__(self, *, token: str | None = None, latency: float = 0.0) -> None:
        self.repos: dict[str, RepoData] = {}
        self.token = token
        self.latency = latency
        self.log: list[tuple[str, int]] = []  # (path?query, status)
        self.rate_limit_for: float | None = None  # seconds: answer 403 until then
        self.rate_limited_until = 0.0
        self.secondary_until = 0.0  # 429 + Retry-After (GitHub's secondary rate limit)
        self.remaining = 5000
        self._lock = threading.Lock()

    def repo(self, full_name: str, default_branch: str = "main") -> RepoData:
        return self.repos.setdefault(full_name, RepoData(full_name, default_branch))

    def limit_now(self, seconds: float) -> None:
        """Answer every request with a 403 rate-limit response for ``seconds``."""
        self.rate_limited_until = time.time() + seconds

    def count(self, status: int | None = None) -> int:
        return sum(1 for _, s in self.log if status is None or s == status)

    # -- the request handler -------------------------------------------------------------------
    def handle(
        self, method: str, url: str, headers: dict[str, str], base: str
    ) -> tuple[int, dict[str, str], bytes]:
        if self.latency:
            time.sleep(self.latency)
        status, out_headers, body = self._handle(
            method, url, {k.lower(): v for k, v in headers.items()}, base
        )
        with self._lock:
            self.log.append((url, status))
        return status, out_headers, body

    def _rate_headers(self) -> dict[str, str]:
        limited = time.time() < self.rate_limited_until
        reset = int(self.rate_limited_until + 0.999) if limited else int(time.time() + 3600)
        with self._lock:
            self.remaining = max(0, self.remaining - 1)
        remaining = 0 if time.time() < self.rate_limited_until else self.remaining
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Used": str(5000 - remaining),
            "X-RateLimit-Resource": "core",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
        }

    def _json(
        self, status: int, data: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps(data).encode()
        out = {"Content-Type": "application/json; charset=utf-8", **self._rate_headers()}
        out.update(headers or {})
        return status, out, body

    def _error(self, status: int, message: str) -> tuple[int, dict[str, str], bytes]:
        return self._json(
            status, {"message": message, "documentation_url": DOCS, "status": str(status)}
        )

    def _handle(
        self, method: str, url: str, headers: dict[str, str], base: str
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if method != "GET":
            return self._error(404, "Not Found")
        auth = headers.get("authorization")
        if self.token is not None and auth is not None and auth != f"Bearer {self.token}":
            return self._error(401, "Bad credentials")
        if time.time() < self.secondary_until:
            status, out, body = self._error(
                429, "You have exceeded a secondary rate limit. Please wait a few minutes."
            )
            return status, {**out, "Retry-After": "1"}, body
        if time.time() < self.rate_limited_until:
            return self._error(
                403,
                "API rate limit exceeded for 127.0.0.1. (But here's the good news: "
                "Authenticated requests get a higher rate limit.)",
            )
        segs = [s for s in path.split("/") if s]
        if len(segs) < 3 or segs[0] != "repos":
            return self._error(404, "Not Found")
        full = f"{segs[1]}/{segs[2]}"
        repo = self.repos.get(full)
        # like GitHub: a private repository is visible only to a request with a valid token
        if repo is None or (repo.private and (self.token is None or auth is None)):
            return self._error(404, "Not Found")
        rest = segs[3:]
        if not rest:
            return self._etagged(repo.info(base), headers)
        kind = rest[0]
        if kind == "pulls":
            items = [p for p in repo.pulls if query.get("state", "open") in (p["state"], "all")]
            items.sort(
                key=lambda p: p["updated_at" if query.get("sort") == "updated" else "created_at"],
                reverse=query.get("direction", "desc") == "desc",
            )
        elif kind == "issues":
            items = [i for i in repo.issues if query.get("state", "open") in (i["state"], "all")]
            if "since" in query:
                since = _parse(query["since"])
                items = [i for i in items if _parse(i["updated_at"]) >= since]
            key = "updated_at" if query.get("sort") == "updated" else "created_at"
            items.sort(key=lambda i: i[key], reverse=query.get("direction", "desc") == "desc")
        elif kind == "commits":
            if query.get("sha", repo.default_branch) != repo.default_branch:
                return self._error(404, f"No commit found for SHA: {query.get('sha')}")
            items = list(repo.commits)
            if "since" in query:
                items = [
                    c
                    for c in items
                    if _parse(c["commit"]["committer"]["date"]) >= _parse(query["since"])
                ]
            if "until" in query:
                items = [
                    c
                    for c in items
                    if _parse(c["commit"]["committer"]["date"]) <= _parse(query["until"])
                ]
            items.sort(key=lambda c: c["commit"]["committer"]["date"], reverse=True)
        elif kind == "releases":
            items = sorted(repo.releases, key=lambda r: r["created_at"], reverse=True)
        else:
            return self._error(404, "Not Found")
        return self._page(items, path, query, base, headers)

    def _etag(self, body: bytes) -> str:
        return 'W/"' + hashlib.sha256(body).hexdigest()[:40] + '"'

    def _etagged(
        self, data: Any, headers: dict[str, str], extra: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps(data).encode()
        etag = self._etag(body)
        if headers.get("if-none-match") == etag:
            return 304, {"ETag": etag, **self._rate_headers(), **(extra or {})}, b""
        out = {"Content-Type": "application/json; charset=utf-8", **self._rate_headers()}
        return 200, {**out, "ETag": etag, **(extra or {})}, body

    def _page(
        self,
        items: list[Any],
        path: str,
        query: dict[str, str],
        base: str,
        headers: dict[str, str],
    ) -> tuple[int, dict[str, str], bytes]:
        per_page = min(100, int(query.get("per_page", 30)))
        page = int(query.get("page", 1))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def link(n: int) -> str:
            return f"{base}{path}?{urlencode({**query, 'page': n})}"

        rels = []
        if page < last:
            rels += [f'<{link(page + 1)}>; rel="next"', f'<{link(last)}>; rel="last"']
        if page > 1:
            rels += [f'<{link(page - 1)}>; rel="prev"', f'<{link(1)}>; rel="first"']
        extra = {"Link": ", ".join(rels)} if rels else {}
        return self._etagged(chunk, headers, extra)


class HackerNewsEmulator:
    """``/v0/{top,best,new}stories.json`` and ``/v0/item/{id}.json`` in Firebase's shapes."""

    def __init__(self) -> None:
        self.items: dict[int, dict[str, Any]] = {}
        self.lists: dict[str, list[int]] = {"topstories": [], "beststories": [], "newstories": []}

    def add_story(
        self,
        item_id: int,
        title: str,
        *,
        score: int,
        comments: int,
        by: str = "pg",
        url: str | None = "auto",
        when: datetime | None = None,
    ) -> None:
        story: dict[str, Any] = {
            "by": by,
            "descendants": comments,
            "id": item_id,
            "kids": list(range(item_id * 10, item_id * 10 + min(comments, 5))),
            "score": score,
            "time": int((when or datetime.now(UTC)).timestamp()),
            "title": title,
            "type": "story",
        }
        if url == "auto":
            story["url"] = f"https://example.com/{item_id}"
        elif url is not None:
            story["url"] = url
        else:
            story["text"] = "Ask HN body"
        self.items[item_id] = story
        self.lists["topstories"].append(item_id)
        self.lists["newstories"].insert(0, item_id)
        self.lists["beststories"] = sorted(
            self.lists["topstories"], key=lambda i: -self.items[i]["score"]
        )

    def handle(self, path: str) -> tuple[int, Any]:
        name = path.rsplit("/", 1)[-1].removesuffix(".json")
        if name in self.lists:
            return 200, self.lists[name]
        if "/item/" in path:
            return 200, self.items.get(int(name))  # Firebase answers `null` for unknown ids
        return 404, {"error": "Permission denied"}
