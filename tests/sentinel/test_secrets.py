"""GITHUB_TOKEN never leaks: not into logs, stored reports, raw activity, errors or responses.

A distinctive token is used for real (the loopback GitHub only shows the private repository to
a request carrying it), then every file of the data directory and every output is searched.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from llmapps.config import Settings, get_settings
from llmapps.sentinel import service
from llmapps.sentinel.scheduler import setup_logging
from llmapps.sentinel.sources.github import GitHubClient
from tests.sentinel.conftest import WINDOW_END, WINDOW_START, CountingFakeModel, cli
from tests.sentinel.sentinel_emulator import GitHubEmulator

TOKEN = "ghp_SENTINELleakCHECK7f3a9c2e"  # a test value, searched for below
EMPTY = ["--since", "2020-01-01", "--until", "2020-01-02"]


@pytest.fixture
def daemon_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    path = setup_logging(get_settings())
    yield path
    for name in ("llmapps.sentinel", "apscheduler"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if getattr(handler, "baseFilename", None) == str(path):
                logger.removeHandler(handler)
                handler.close()


def test_the_token_is_used_but_never_written_anywhere(
    github: GitHubEmulator,
    httpserver: HTTPServer,
    git_repo: Path,
    daemon_log: Path,
    fake_model: CountingFakeModel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx/httpcore debug output included
    settings: Settings = get_settings()
    outputs: list[str] = []
    github.token = TOKEN
    now = datetime.now(UTC)
    repo = github.repo("acme/secret")
    repo.private = True  # visible only with the token: proves the token was really sent
    repo.add_pr(
        5,
        "feat: private feature",
        merged=now - timedelta(hours=3),
        updated=now - timedelta(hours=3),
    )
    repo.add_issue(6, "Private bug", created=now - timedelta(hours=2))
    posts: list[str] = []

    def hook(request: Request) -> Response:
        posts.append(request.get_data(as_text=True))
        return Response("ok")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(hook)
    # a local repository whose remote embeds the token (a common CI setup)
    subprocess.run(
        [
            "git",
            "-C",
            str(git_repo),
            "remote",
            "set-url",
            "origin",
            f"https://x-access-token:{TOKEN}@github.com/acme/localrepo.git",
        ],
        check=True,
    )

    # fetch + report: scheduled (with delivery), ad hoc, CLI, HTTP
    service.add_subscription(settings, "acme/secret", webhooks=[httpserver.url_for("/hook")])
    outcomes = service.run_due(settings, everything=True, chat_model=fake_model)
    assert [o.error for o in outcomes] == [None]
    assert outcomes[0].report is not None and outcomes[0].report.item_count == 2
    assert [d.status for d in outcomes[0].deliveries] == ["sent"] and posts
    git_report = service.generate_report(
        settings,
        str(git_repo),
        since=WINDOW_START.isoformat(),
        until=WINDOW_END.isoformat(),
        chat_model=fake_model,
    )
    assert "(https://github.com/acme/localrepo/commit/" in git_report.markdown
    code, out = cli("report", "acme/secret", *EMPTY)
    assert code == 0, out
    outputs.append(out)
    code, out = cli("history")
    outputs.append(out)
    from llmapps.app import create_app

    http = TestClient(create_app(settings, ui=False), base_url="http://127.0.0.1")
    window = {"since": "2020-01-01", "until": "2020-01-02"}
    resp = http.post("/sentinel/reports", json={"target": "acme/secret", **window})
    assert resp.status_code == 201, resp.text
    outputs.append(resp.text)
    for report in service.history(settings):
        outputs.append(json.dumps(http.get(f"/sentinel/reports/{report.id}").json()))
        outputs.append(http.get(f"/sentinel/reports/{report.id}/download?raw=true").text)
    outputs.append(http.get("/sentinel/subscriptions").text)

    # a failing fetch: GitHub now rejects the token (401) everywhere
    github.token = "ghp_rotated_elsewhere"
    code, out = cli("report", "acme/secret", *EMPTY)
    assert code != 0 and "401" in out
    outputs.append(out)
    resp = http.post("/sentinel/reports", json={"target": "acme/secret", **window})
    assert resp.status_code == 401
    outputs.append(resp.text)
    outcomes = service.run_due(settings, everything=True, chat_model=fake_model)
    assert outcomes[0].error is not None and "401" in outcomes[0].error
    code, out = cli("run-now", "--all")
    assert code == 1 and "401" in out
    outputs.append(out)
    outputs.append(http.post("/sentinel/run-now?all=true").text)

    log_text = daemon_log.read_text(encoding="utf-8")
    assert "401" in log_text  # the failure was logged: the search below means something
    outputs += [caplog.text, *posts, *fake_model.prompts]
    for text in outputs:
        assert TOKEN not in text
    files = [p for p in settings.home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" for p in files) and any(p.suffix == ".md" for p in files)
    for path in files:  # reports, raw JSON, logs, the SQLite database and its WAL
        assert TOKEN.encode() not in path.read_bytes(), path


def test_the_token_only_goes_to_the_api_origin(httpserver: HTTPServer) -> None:
    """A ``Link: rel="next"`` pointing at another host is followed without the token."""
    other = HTTPServer(host="127.0.0.1", port=0)
    other.start()
    seen: dict[str, Any] = {}

    def first(request: Request) -> Response:
        seen["api"] = request.headers.get("Authorization")
        link = f'<{other.url_for("/page2")}>; rel="next"'
        return Response("[1]", content_type="application/json", headers={"Link": link})

    def second(request: Request) -> Response:
        seen["other"] = request.headers.get("Authorization")
        return Response("[2]", content_type="application/json")

    httpserver.expect_request("/items").respond_with_handler(first)
    other.expect_request("/page2").respond_with_handler(second)

    async def run() -> list[Any]:
        async with GitHubClient(httpserver.url_for("/"), TOKEN) as client:
            return await client.paginate("/items", {})

    import asyncio

    try:
        assert asyncio.run(run()) == [1, 2]
    finally:
        other.stop()
    assert seen == {"api": f"Bearer {TOKEN}", "other": None}
