"""Over HTTP, local git repositories are confined to ``sentinel.git_roots``; the CLI is not.

Anyone who reaches the API must not be able to read the history of an arbitrary repository on
the machine: no roots = refused (403), paths are resolved (``..``, symlinks) before the check.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from llmapps.cli import app as cli_app
from llmapps.config import get_settings
from llmapps.sentinel.store import sentinel_db

EMPTY = {"since": "2020-01-01", "until": "2020-01-02"}  # no commits: no model call needed


def client(monkeypatch: pytest.MonkeyPatch, roots: list[str] | None = None) -> TestClient:
    from llmapps.app import create_app

    if roots is not None:
        monkeypatch.setenv("LLMAPPS_SENTINEL__GIT_ROOTS", json.dumps(roots))
    return TestClient(create_app(get_settings(), ui=False), base_url="http://127.0.0.1")


def test_no_roots_means_local_git_is_refused_over_http(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = client(monkeypatch)
    for target in (str(git_repo), f"git:{git_repo}", "/etc", "/definitely/not/here"):
        resp = http.post("/sentinel/reports", json={"target": target, **EMPTY})
        assert resp.status_code == 403, (target, resp.text)
        message = resp.json()["error"]["message"]
        assert "sentinel.git_roots" in message and "\n" not in message
        resp = http.post("/sentinel/subscriptions", json={"target": target})
        assert resp.status_code == 403, (target, resp.text)
    assert http.get("/sentinel/subscriptions").json() == []
    assert sentinel_db(get_settings()).query("SELECT id FROM sentinel_reports") == []
    # GitHub targets and Hacker News are unaffected by the setting
    assert http.post("/sentinel/subscriptions", json={"target": "acme/x"}).status_code == 201


def test_repository_under_a_root_is_allowed(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = client(monkeypatch, [str(git_repo.parent)])
    resp = http.post("/sentinel/reports", json={"target": str(git_repo), **EMPTY})
    assert resp.status_code == 201, resp.text
    assert resp.json()["target"] == str(git_repo) and resp.json()["item_count"] == 0
    resp = http.post("/sentinel/subscriptions", json={"target": f"git:{git_repo}"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["kind"] == "git"
    # the root itself may be the repository
    http = client(monkeypatch, [str(git_repo)])
    assert http.post("/sentinel/reports", json={"target": str(git_repo), **EMPTY}).is_success


def test_escapes_from_the_root_are_refused(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "link").symlink_to(git_repo)  # a symlink inside the root pointing outside
    http = client(monkeypatch, [str(allowed), str(tmp_path / "local")])
    attempts = [
        f"{allowed}/../{git_repo.name}",  # .. out of the root
        f"git:{allowed}/../{git_repo.name}",
        f"{allowed}/link",  # symlink escape
        f"{allowed}/link/.git/..",
        str(git_repo),  # 'localrepo' starts with the root 'local' but is not under it
    ]
    for target in attempts:
        for path in ("/sentinel/reports", "/sentinel/subscriptions"):
            resp = http.post(path, json={"target": target, **EMPTY})
            assert resp.status_code == 403, (target, path, resp.text)
            message = resp.json()["error"]["message"]
            assert "outside sentinel.git_roots" in message
            if "link" in target:  # where the symlink points is not revealed
                assert str(git_repo) not in message
    assert http.get("/sentinel/subscriptions").json() == []


def test_the_command_line_stays_unrestricted(git_repo: Path) -> None:
    assert get_settings().sentinel.git_roots == []
    result = CliRunner().invoke(
        cli_app,
        ["sentinel", "report", str(git_repo), "--since", "2020-01-01", "--until", "2020-01-02"],
    )
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli_app, ["sentinel", "add", str(git_repo)])
    assert result.exit_code == 0, result.output


def test_lookups_by_path_find_reports_without_confinement_leaks(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing reports by a path is a lookup: it finds stored reports, refuses nothing, and
    answers the same for a path that exists and one that does not."""
    result = CliRunner().invoke(
        cli_app,
        ["sentinel", "report", f"git:{git_repo}", "--since", "2020-01-01", "--until", "2020-01-02"],
    )
    assert result.exit_code == 0, result.output
    http = client(monkeypatch)
    found = http.get("/sentinel/reports", params={"target": f"{git_repo}/../{git_repo.name}"})
    assert [r["target"] for r in found.json()] == [str(git_repo)]
    for probe in ("/etc", "/definitely/not/here", "../../"):
        resp = http.get("/sentinel/reports", params={"target": probe})
        assert resp.status_code == 200 and resp.json() == []
