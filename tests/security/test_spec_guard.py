"""Model specs from remote users: no arbitrary files (``local:/path``), no arbitrary hosts.

The guard itself is exercised directly (URL tricks, symlinks, ``..``), then every HTTP route
file and the web tabs that take a spec are checked over real HTTP / through their handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from llmapps.config import get_settings
from llmapps.models import SpecError, SpecNotAllowedError, check_spec_allowed
from llmapps.models.guard import url_allowed

EVIL_URL = "openai-compatible:m@http://10.9.8.7:8000/v1"


def _refused(spec: str) -> str:
    with pytest.raises(SpecNotAllowedError) as err:
        check_spec_allowed(spec, get_settings())
    assert err.value.status_code == 403
    return str(err.value)


def test_local_specs_are_confined_to_the_gguf_folders(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = tmp_path / "extra-models"
    extra.mkdir()
    monkeypatch.setenv("LLMAPPS_MODELS__GGUF_DIRS", f'["{extra}"]')
    inside = isolated_home / "models" / "gguf"
    inside.mkdir(parents=True)
    (inside / "tiny.gguf").write_bytes(b"GGUF")
    (extra / "other.gguf").write_bytes(b"GGUF")
    outside = tmp_path / "secret.gguf"
    outside.write_bytes(b"GGUF")
    (inside / "link.gguf").symlink_to(outside)

    settings = get_settings()
    for ok in (
        "local:smollm2",
        "local:tiny",
        f"local:{inside / 'tiny.gguf'}",
        f"local:{extra / 'other.gguf'}",
        f"local:{inside / 'missing.gguf'}",  # inside: the loader's own error may say so
        None,
        "",
    ):
        check_spec_allowed(ok, settings)

    message = _refused("local:/etc/passwd")
    assert "models.gguf_dirs" in message and "\n" not in message
    _refused(f"local:{outside}")
    _refused(f"local:{inside / 'link.gguf'}")  # a symlink out of the folder
    _refused(f"local:{inside}/../../../secret.gguf")  # '..' out of the folder
    _refused("local:secret.gguf")  # relative to the server's cwd
    _refused("local:~/x.gguf")
    # no oracle: an existing and a missing outside file get the same answer
    missing = _refused(f"local:{tmp_path / 'nothing.gguf'}")
    assert missing.replace("nothing", "secret") == _refused(f"local:{outside}")


def test_urls_must_be_configured_or_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    for ok in ("openai:gpt-4o-mini", "ollama:qwen2.5:7b", "ollama:qwen@http://127.0.0.1:11434"):
        check_spec_allowed(ok, settings)
    message = _refused(EVIL_URL)
    assert "models.allowed_base_urls" in message and "10.9.8.7" in message
    _refused("ollama:q@http://127.0.0.1:11435")  # another port
    _refused("ollama:q@http://169.254.169.254")
    _refused("openai-compatible:m@https://api.openai.com.evil.example/v1")
    with pytest.raises(SpecError):
        check_spec_allowed("nonsense", settings)

    monkeypatch.setenv("LLMAPPS_MODELS__ALLOWED_BASE_URLS", '["http://gpu-box:8000/v1"]')
    settings = get_settings()
    check_spec_allowed("openai-compatible:glm-4@http://gpu-box:8000/v1", settings)
    check_spec_allowed("openai-compatible:glm-4@http://GPU-box:8000/v1/", settings)
    _refused("openai-compatible:glm-4@http://gpu-box:8000/v10")  # not under the path
    _refused("openai-compatible:glm-4@http://gpu-box:8000@evil.example/v1")  # user info
    _refused("openai-compatible:glm-4@http://gpu-box:8001/v1")
    _refused("openai-compatible:glm-4@https://gpu-box:8000/v1")  # other scheme

    monkeypatch.setenv("LLMAPPS_SERVER__ALLOW_ANY_MODEL_URL", "true")
    check_spec_allowed(EVIL_URL, get_settings())


def test_configured_default_and_aliases_always_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "LLMAPPS_MODELS__ALIASES", '{glm = "openai-compatible:glm@http://10.1.2.3/v1"}'
    )
    monkeypatch.setenv("LLMAPPS_MODELS__DEFAULT", "local:/opt/models/big.gguf")
    settings = get_settings()
    check_spec_allowed("glm", settings)
    check_spec_allowed("openai-compatible:glm@http://10.1.2.3/v1", settings)
    check_spec_allowed("openai-compatible:other@http://10.1.2.3/v1", settings)  # same host
    check_spec_allowed("local:/opt/models/big.gguf", settings)
    _refused("local:/opt/models/other.gguf")


def test_url_allowed_compares_parts_not_text() -> None:
    allowed = ["http://host:8000/v1"]
    assert url_allowed("http://host:8000/v1/", allowed)
    assert url_allowed("http://host:8000/v1/chat", allowed)
    assert not url_allowed("http://host:8000/v1x", allowed)
    assert not url_allowed("http://host:80001/v1", allowed)
    assert not url_allowed("http://host:8000.evil/v1", allowed)
    assert not url_allowed("http://user:pw@host:8000/v1", allowed)
    assert not url_allowed("ftp://host:8000/v1", allowed)
    assert url_allowed("https://example.com/x", ["https://example.com"])
    assert url_allowed("https://example.com:443/x", ["https://example.com"])


def test_cli_is_not_restricted(tmp_path: Path) -> None:
    """A local user's CLI may name any file: the loader answers, not the guard."""
    from llmapps.cli import app

    result = CliRunner().invoke(app, ["ask", "hi", "-m", f"local:{tmp_path / 'nope.gguf'}"])
    assert result.exit_code != 0
    assert "GGUF file not found" in result.output
    assert "GGUF folders" not in result.output


# --- every route file over HTTP ----------------------------------------------------------
def _server(live_server: Callable[..., Any]) -> httpx.Client:
    from llmapps.app import create_app

    server = live_server(create_app(get_settings(), ui=False))
    return httpx.Client(base_url=server.url, trust_env=False, timeout=60)


def test_translate_route_refuses_forbidden_specs(
    isolated_home: Path, live_server: Callable[..., Any]
) -> None:
    with _server(live_server) as http:
        for spec, word in (("local:/etc/passwd", "models.gguf_dirs"), (EVIL_URL, "allowed_base")):
            resp = http.post(
                "/translate/jobs",
                files={"file": ("a.md", b"# Hello\n\nWorld.\n")},
                data={"to": "zh", "model": spec},
            )
            assert resp.status_code == 403, resp.text
            assert word in resp.json()["error"]["message"]
    jobs = isolated_home / "translate" / "jobs"
    assert not jobs.exists() or not any(jobs.iterdir())  # refused before the upload was kept


def test_sentinel_routes_refuse_forbidden_specs(
    monkeypatch: pytest.MonkeyPatch, live_server: Callable[..., Any], httpserver: HTTPServer
) -> None:
    monkeypatch.setenv("LLMAPPS_SENTINEL__HACKERNEWS_API_URL", f'"{httpserver.url_for("/v0")}"')
    with _server(live_server) as http:
        bad = {"model": EVIL_URL}
        checks = [
            http.post("/sentinel/subscriptions", json={"target": "hn", **bad}),
            http.post("/sentinel/reports", json={"target": "hn", **bad}),
            http.post("/sentinel/hn", json=bad),
        ]
        assert http.post("/sentinel/subscriptions", json={"target": "hn"}).status_code == 201
        checks.append(http.patch("/sentinel/subscriptions/hn", json={"model": "local:/etc/x"}))
        for resp in checks:
            assert resp.status_code == 403, resp.text
        assert http.get("/sentinel/subscriptions").json()[0]["model"] is None
        ok = http.patch("/sentinel/subscriptions/hn", json={"model": "local:smollm2"})
        assert ok.status_code == 200 and ok.json()["model"] == "local:smollm2"
    assert httpserver.log == []  # nothing was fetched for a refused request


def test_chat_routes_refuse_forbidden_specs(live_server: Callable[..., Any]) -> None:
    with _server(live_server) as http:
        assert http.post("/chat/conversations", json={"model": EVIL_URL}).status_code == 403
        conv = http.post("/chat/conversations", json={"title": "t"}).json()
        cid = conv["id"]
        resp = http.patch(f"/chat/conversations/{cid}", json={"model": "local:/etc/passwd"})
        assert resp.status_code == 403
        resp = http.post(
            f"/chat/conversations/{cid}/messages",
            json={"content": "hi", "model": EVIL_URL, "stream": False},
        )
        assert resp.status_code == 403 and "allowed_base_urls" in resp.json()["error"]["message"]
        persona = {"name": "spy", "system": "x", "model": "local:/etc/passwd"}
        assert http.post("/chat/personas", json=persona).status_code == 403
        assert "spy" not in [p["name"] for p in http.get("/chat/personas").json()]
        assert http.get(f"/chat/conversations/{cid}").json()["conversation"]["model"] in (None, "")
        ok = http.post("/chat/conversations", json={"model": "local:smollm2"})
        assert ok.status_code == 201


# --- web tabs -------------------------------------------------------------------------------
def test_playground_refuses_forbidden_specs() -> None:
    from llmapps.web.playground import run_playground

    settings = get_settings()
    for spec in ("local:/etc/passwd", EVIL_URL):
        *_, (answer, status) = run_playground(settings, spec, "", "hello", 0.7, 0.9, 8)
        assert answer == "" and status.startswith("❌") and "403" not in status
        assert "models.gguf_dirs" in status or "models.allowed_base_urls" in status


def test_translate_tab_refuses_forbidden_specs(tmp_path: Path) -> None:
    from llmapps.web.translate_tab import run_translation

    doc = tmp_path / "a.md"
    doc.write_text("# Hello\n", encoding="utf-8")
    settings = get_settings()
    out = list(run_translation(settings, str(doc), "zh", "", EVIL_URL, ["md"], "", "", None))
    assert len(out) == 1 and out[0][1] is None and "models.allowed_base_urls" in out[0][0]
    assert doc.read_text(encoding="utf-8") == "# Hello\n"


@pytest.mark.browser
def test_sentinel_and_chat_tabs_refuse_forbidden_specs(
    monkeypatch: pytest.MonkeyPatch,
    live_server: Callable[..., Any],
    browser_page: Any,
    httpserver: HTTPServer,
) -> None:
    """Through the browser: the Sentinel HN form and the Chat model box answer the guard."""
    from llmapps.app import create_app

    monkeypatch.setenv("LLMAPPS_SENTINEL__HACKERNEWS_API_URL", f'"{httpserver.url_for("/v0")}"')
    server = live_server(create_app(get_settings(), ui=True))
    page = browser_page
    page.goto(server.url + "/")
    page.get_by_role("tab", name="Sentinel 哨兵").click()
    page.get_by_role("tab", name="Hacker News").click()
    page.locator("#sentinel-hn-model textarea, #sentinel-hn-model input").first.fill(EVIL_URL)
    page.click("#sentinel-hn-go")
    page.locator("#sentinel-hn-status").get_by_text("models.allowed_base_urls").wait_for()
    assert httpserver.log == []  # refused before anything was fetched

    page.get_by_role("tab", name="Chat 对话").click()
    page.locator("#chat-settings").get_by_text("Persona").first.click()  # the settings drawer
    page.locator("#chat-model input").fill("local:/etc/passwd")
    box = page.locator("#chat-input textarea")
    box.fill("hello")
    box.press("Enter")
    page.get_by_text("outside the GGUF folders").first.wait_for()
    assert "hello" not in page.locator("#chat-chatbot").inner_text()  # nothing was sent
    assert box.input_value() == "hello"  # kept for the user to send again
