"""Sentinel benchmark: 50 repositories from a loopback GitHub, concurrent vs sequential, and
the share of API calls answered ``304 Not Modified`` on a second run (conditional requests)
when a fifth of the repositories had new activity in between.

Run: ``.venv/bin/python bench/sentinel.py [--repos 50] [--latency-ms 20] [--concurrency 16]``

The loopback server (``http.server``, one thread per connection) answers in GitHub's wire
format: JSON shapes, ``Link`` pagination, weak ETags and ``304`` on a matching
``If-None-Match``, ``X-RateLimit-*`` headers; every request waits ``--latency-ms`` first, like
a real round trip. Both modes fetch the same window of the same repositories with the same
client; only the concurrency limit differs. The conditional-request part runs twice with the
SQLite ETag cache: the first run stores ETags, the second sends ``If-None-Match``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sentinel.sentinel_emulator import GitHubEmulator  # noqa: E402

SINCE = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 2, tzinfo=UTC)


def populate(emu: GitHubEmulator, repos: int) -> list[str]:
    """Each repository: 150 closed PRs (2 pages), 40 issues, 60 commits, 6 releases."""
    names = []
    for r in range(repos):
        name = f"org{r % 5}/project-{r}"
        repo = emu.repo(name)
        for n in range(1, 151):
            t = SINCE + timedelta(minutes=9 * n)
            repo.add_pr(
                n,
                f"feat: change {n}",
                merged=t if n % 2 else None,
                updated=t,
                body="A realistic description of the change. " * 4,
            )
        for n in range(200, 240):
            repo.add_issue(
                n, f"Issue {n}", created=SINCE + timedelta(minutes=30 * (n - 200)), comments=n % 17
            )
        for n in range(60):
            repo.add_commit(f"fix: commit {n} in {name}", SINCE + timedelta(minutes=20 * n))
        for n in range(6):
            repo.add_release(f"v1.{n}.0", f"Release 1.{n}", SINCE - timedelta(days=10 - n))
        names.append(name)
    return names


def serve(emu: GitHubEmulator) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            status, headers, body = emu.handle("GET", self.path, dict(self.headers), base)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, base


def run(
    base: str, repos: list[str], *, concurrency: int, cache: object | None, concurrent: bool
) -> tuple[float, int, int, int]:
    """Seconds, requests, 304 answers, repositories that failed."""
    from llmapps.sentinel.sources.github import GitHubClient, fetch_many

    async def go() -> tuple[float, int, int, int]:
        client = GitHubClient(base, None, cache=cache, concurrency=concurrency)  # type: ignore[arg-type]
        start = time.perf_counter()
        try:
            results = await fetch_many(client, repos, SINCE, UNTIL, concurrent=concurrent)
        finally:
            await client.aclose()
        seconds = time.perf_counter() - start
        failed = sum(1 for r in results.values() if isinstance(r, Exception))
        return seconds, client.stats.requests, client.stats.not_modified, failed

    return asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--changed",
        type=float,
        default=0.2,
        help="share of repositories that get a new issue between the two conditional runs",
    )
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="sentinel-bench-")
    os.environ["LLMAPPS_HOME"] = home
    from llmapps.config import get_settings
    from llmapps.sentinel.sources.http_cache import EtagCache

    emu = GitHubEmulator(latency=args.latency_ms / 1000)
    repos = populate(emu, args.repos)
    server, base = serve(emu)
    print(
        f"loopback GitHub at {base}: {len(repos)} repositories, "
        f"{args.latency_ms:g} ms per request, concurrency {args.concurrency}"
    )

    seq_s, seq_req, _, seq_fail = run(base, repos, concurrency=1, cache=None, concurrent=False)
    con_s, con_req, _, con_fail = run(
        base, repos, concurrency=args.concurrency, cache=None, concurrent=True
    )
    assert seq_req == con_req and not seq_fail and not con_fail
    print(f"sequential : {seq_s:6.2f} s  ({seq_req} requests)")
    print(f"concurrent : {con_s:6.2f} s  ({con_req} requests)")
    print(f"ratio      : concurrent is {seq_s / con_s:.1f}x faster than sequential")

    cache = EtagCache(get_settings())
    first_s, first_req, first_304, _ = run(
        base, repos, concurrency=args.concurrency, cache=cache, concurrent=True
    )
    changed = repos[: int(len(repos) * args.changed)]
    for name in changed:  # new activity: these repositories' issue lists change
        emu.repos[name].add_issue(999, "New bug report", created=SINCE + timedelta(hours=20))
    second_s, second_req, second_304, second_fail = run(
        base, repos, concurrency=args.concurrency, cache=cache, concurrent=True
    )
    assert not second_fail
    print(f"conditional: run 1 {first_req} requests, {first_304} answered 304 ({first_s:.2f} s)")
    print(
        f"conditional: run 2 {second_req} requests, {second_304} answered 304 "
        f"({second_s:.2f} s); {len(changed)} of {len(repos)} repositories had new issues"
    )
    print(
        f"ratio      : {second_304 / second_req:.0%} of API calls on the second run were "
        "304 Not Modified (free against GitHub's rate limit)"
    )
    server.shutdown()


if __name__ == "__main__":
    main()
