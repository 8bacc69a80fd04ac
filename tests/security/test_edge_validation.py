"""Bad input at the edge of every JSON API: a 400 in the API's own shape, never a 500.

Each body here used to reach a route (or FastAPI's parser) and fail deep inside: a lone
surrogate when SQLite or the tokenizer encoded it, a 20-digit id in SQLite, ``1e308`` days in
``timedelta``, 100k nested arrays in ``json.loads`` (RecursionError).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

JSON = {"Content-Type": "application/json"}
DEEP = "[" * 100_000 + "]" * 100_000
HUGE = "99999999999999999999"  # over 2^63 - 1

# (path, body with a lone surrogate in a text field); every JSON API
SURROGATE_BODIES = [
    (
        "/v1/chat/completions",
        '{"model": "smollm2", "messages": [{"role": "user", "content": "\\ud800"}]}',
    ),
    ("/v1/embeddings", '{"model": "smollm2", "input": "a\\udfffb"}'),
    ("/api/chat", '{"model": "smollm2", "messages": [{"role": "user", "content": "\\ud800"}]}'),
    ("/api/generate", '{"model": "smollm2", "prompt": "\\ud83d"}'),
    ("/api/copy", '{"source": "smollm2", "destination": "x\\ud800"}'),
    ("/chat/conversations", '{"title": "\\ud800"}'),
    ("/chat/personas", '{"name": "p\\ud800", "system": "x"}'),
    ("/sentinel/subscriptions", '{"target": "\\ud800/repo"}'),
    ("/sentinel/reports", '{"target": "hn", "lang": "\\udc00"}'),
]
POSTS = [path for path, _ in SURROGATE_BODIES]


def _message(path: str, resp: httpx.Response) -> str:
    """The error text, read from the API's own shape (which this also checks)."""
    data = resp.json()
    if path.startswith("/api/"):
        assert isinstance(data["error"], str), data
        return str(data["error"])
    if path.startswith("/v1/"):
        assert data["error"]["type"] == "invalid_request_error", data
    return str(data["error"]["message"])


@pytest.fixture
def http(live_server: Callable[..., Any]) -> Any:
    from llmapps.app import create_app
    from llmapps.config import get_settings

    server = live_server(create_app(get_settings(), ui=False))
    with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as client:
        yield client


@pytest.mark.parametrize(("path", "body"), SURROGATE_BODIES)
def test_lone_surrogates_are_refused(http: httpx.Client, path: str, body: str) -> None:
    resp = http.post(path, content=body, headers=JSON)
    assert resp.status_code == 400, resp.text
    assert "surrogate" in _message(path, resp)


@pytest.mark.parametrize("path", POSTS)
def test_deep_nesting_is_refused(http: httpx.Client, path: str) -> None:
    resp = http.post(path, content='{"x": ' + DEEP + "}", headers=JSON)
    assert resp.status_code == 400, resp.text
    assert "nested more than 100 levels" in _message(path, resp)


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("number", [HUGE, "-" + HUGE, "1e308", "1e400", "NaN", "-Infinity"])
def test_numbers_outside_storable_ranges_are_refused(
    http: httpx.Client, path: str, number: str
) -> None:
    resp = http.post(path, content='{"n": [1, {"m": ' + number + "}]}", headers=JSON)
    assert resp.status_code == 400, resp.text
    message = _message(path, resp)
    assert "range" in message or "too large" in message or "finite" in message


def test_report_days_probe(http: httpx.Client) -> None:
    resp = http.post("/sentinel/reports", json={"target": "hn", "days": 1e308})
    assert resp.status_code == 400 and "too large" in resp.json()["error"]["message"]
    # within 64 bits but still no date: the service names its own limit
    resp = http.post("/sentinel/reports", json={"target": "hn", "days": 1e15})
    assert resp.status_code == 400, resp.text
    assert "--days must be positive and at most 36500" in resp.json()["error"]["message"]
    resp = http.post("/sentinel/hn", json={"hours": 1e12})
    assert resp.status_code == 400 and "--hours" in resp.json()["error"]["message"]


@pytest.mark.parametrize(
    "path",
    [
        f"/chat/conversations/{HUGE}",
        f"/chat/conversations/{HUGE}/export",
        f"/sentinel/reports/{HUGE}",
        f"/sentinel/reports/{HUGE}/download",
        f"/chat/conversations?limit={HUGE}",
        f"/chat/kbs/x/search?q=a&k={HUGE}",
    ],
)
def test_ids_too_large_for_sqlite_are_refused(http: httpx.Client, path: str) -> None:
    resp = http.get(path)
    assert resp.status_code == 400, resp.text
    assert "64-bit integer range" in resp.json()["error"]["message"]


def test_app_validation_errors_use_the_llmapps_shape(http: httpx.Client) -> None:
    resp = http.get("/chat/conversations/abc")
    assert resp.status_code == 422
    assert list(resp.json()) == ["error"]
    assert resp.json()["error"]["message"].startswith("'conversation_id': ")
    resp = http.post("/chat/conversations", json={"title": 5})
    assert resp.status_code == 422 and "'title'" in resp.json()["error"]["message"]
