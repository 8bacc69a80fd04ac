"""HTTP endpoints on a live loopback server: CRUD, search, export, streamed messages."""

from __future__ import annotations

import json
from typing import Any

import httpx
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from llmapps.app import create_app
from llmapps.chat.service import get_service
from llmapps.config import get_settings


def _server(live_server: Any, *responses: str, sleep: float | None = None) -> str:
    settings = get_settings()
    model = FakeListChatModel(responses=list(responses), sleep=sleep)
    get_service(settings).model_factory = lambda spec, params: model
    return str(live_server(create_app(settings, ui=False)).url)


def _ndjson(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in response.iter_lines() if line]


def test_conversation_crud_search_export(live_server: Any) -> None:
    url = _server(live_server, "Sure, here it is.")
    with httpx.Client(base_url=url, timeout=30) as client:
        created = client.post("/chat/conversations", json={"title": "Plans", "persona": "coder"})
        assert created.status_code == 201
        cid = created.json()["id"]
        assert created.json()["persona"] == "coder"
        listed = client.get("/chat/conversations").json()
        assert [c["id"] for c in listed] == [cid]
        patched = client.patch(f"/chat/conversations/{cid}", json={"title": "Plans 2026"})
        assert patched.json()["title"] == "Plans 2026"
        with client.stream(
            "POST", f"/chat/conversations/{cid}/messages", json={"content": "write a haiku"}
        ) as response:
            assert response.headers["content-type"].startswith("application/x-ndjson")
            events = _ndjson(response)
        assert events[0]["type"] == "start" and events[-1]["type"] == "done"
        assert "".join(e["text"] for e in events if e["type"] == "token") == "Sure, here it is."
        found = client.get("/chat/conversations", params={"q": "HAIKU"}).json()
        assert [r["conversation"]["id"] for r in found] == [cid]
        full = client.get(f"/chat/conversations/{cid}").json()
        assert [m["role"] for m in full["messages"]] == ["user", "assistant"]
        md = client.get(f"/chat/conversations/{cid}/export", params={"format": "md"})
        assert md.headers["content-type"].startswith("text/markdown")
        assert "Sure, here it is." in md.text and md.text.startswith("# Plans 2026")
        js = client.get(f"/chat/conversations/{cid}/export", params={"format": "json"}).json()
        assert js["messages"][0]["content"] == "write a haiku"
        assert client.delete(f"/chat/conversations/{cid}").status_code == 204
        missing = client.get(f"/chat/conversations/{cid}")
        assert missing.status_code == 404 and "not found" in missing.json()["error"]["message"]


def test_sse_regenerate_edit_and_errors(live_server: Any) -> None:
    url = _server(live_server, "one", "two", "three")
    with httpx.Client(base_url=url, timeout=30) as client:
        cid = client.post("/chat/conversations", json={}).json()["id"]
        with client.stream(
            "POST",
            f"/chat/conversations/{cid}/messages",
            json={"content": "hi"},
            headers={"Accept": "text/event-stream"},
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            body = "".join(response.iter_text())
        assert "event: token" in body and "event: done" in body
        regen = client.post(f"/chat/conversations/{cid}/regenerate", json={"stream": False})
        assert regen.json()["content"] == "two" and regen.json()["status"] == "complete"
        edit = client.post(
            f"/chat/conversations/{cid}/edit", json={"content": "hello", "stream": False}
        )
        assert edit.json()["content"] == "three"
        messages = client.get(f"/chat/conversations/{cid}").json()["messages"]
        assert [(m["role"], m["content"]) for m in messages] == [
            ("user", "hello"),
            ("assistant", "three"),
        ]
        empty = client.post(f"/chat/conversations/{cid}/messages", json={"content": " "})
        assert empty.status_code == 400 and "empty message" in empty.json()["error"]["message"]
        needs_kb = client.post(
            f"/chat/conversations/{cid}/messages", json={"content": "price?", "persona": "sales"}
        )
        assert (
            needs_kb.status_code == 400 and "knowledge base" in needs_kb.json()["error"]["message"]
        )
        assert (
            client.post("/chat/conversations/999/messages", json={"content": "x"}).status_code
            == 404
        )


def test_stop_endpoint_ends_a_streaming_answer(live_server: Any) -> None:
    url = _server(live_server, "x" * 400, sleep=0.01)  # 400 tokens, 10 ms apart
    with httpx.Client(base_url=url, timeout=30) as client:
        cid = client.post("/chat/conversations", json={}).json()["id"]
        events: list[dict[str, Any]] = []
        stopped = False
        with client.stream(
            "POST", f"/chat/conversations/{cid}/messages", json={"content": "go"}
        ) as response:
            for line in response.iter_lines():
                if not line:
                    continue
                events.append(json.loads(line))
                if events[-1]["type"] == "token" and not stopped:  # answering: stop it
                    stop = httpx.post(f"{url}/chat/conversations/{cid}/stop", timeout=30)
                    assert stop.status_code < 300, stop.text
                    stopped = True
        done = events[-1]
        assert done["status"] == "stopped" and 0 < len(done["content"]) < 400
        stored = client.get(f"/chat/conversations/{cid}").json()["messages"][-1]
        assert stored["status"] == "stopped" and stored["content"] == done["content"]


def test_persona_crud_over_http(live_server: Any) -> None:
    url = _server(live_server, "x")
    with httpx.Client(base_url=url, timeout=30) as client:
        names = [p["name"] for p in client.get("/chat/personas").json()]
        assert "翻译官" in names and "sales" in names
        made = client.post(
            "/chat/personas", json={"name": "brief", "system_prompt": "One line.", "max_tokens": 16}
        )
        assert made.status_code == 201
        again = client.post("/chat/personas", json={"name": "brief"})
        assert again.status_code == 400 and "already exists" in again.json()["error"]["message"]
        put = client.put("/chat/personas/brief", json={"temperature": 0.1})
        assert put.json()["temperature"] == 0.1 and put.json()["max_tokens"] == 16
        assert client.get("/chat/personas/brief").json()["system_prompt"] == "One line."
        assert client.delete("/chat/personas/brief").status_code == 204
        assert client.get("/chat/personas/brief").status_code == 404
        assert client.delete("/chat/personas/coder").status_code == 400


def test_knowledge_base_endpoints_upload_search_and_limits(
    live_server: Any, monkeypatch: Any, isolated_home: Any
) -> None:
    monkeypatch.setenv("LLMAPPS_CHAT__KB_VECTORS", "false")
    monkeypatch.setenv("LLMAPPS_SERVER__MAX_UPLOAD_MB", "1")
    url = _server(live_server, "Within 30 days [1].")
    doc = b"# Returns\n\nOpened boxes can be returned within 30 days.\n"
    with httpx.Client(base_url=url, timeout=60) as client:
        assert client.post("/chat/kbs", json={"name": "shop"}).status_code == 201
        up = client.post(
            "/chat/kbs/shop/files",
            files=[("files", ("../../escape/policy.md", doc, "text/markdown"))],
        )
        assert up.status_code == 200, up.text
        assert up.json()["chunks"] >= 1
        assert (isolated_home / "kb_uploads" / "shop" / "policy.md").read_bytes() == doc
        assert not (isolated_home.parent / "escape").exists()
        big = client.post(
            "/chat/kbs/shop/files", files=[("files", ("big.txt", b"x" * (1024 * 1024 + 10)))]
        )
        assert big.status_code == 413 and "max_upload_mb" in big.json()["error"]["message"]
        assert not (isolated_home / "kb_uploads" / "shop" / "big.txt").exists()
        hits = client.get("/chat/kbs/shop/search", params={"q": "return opened boxes"}).json()
        assert hits[0]["source"] == "policy.md" and hits[0]["location"] == "Returns"
        assert [k["name"] for k in client.get("/chat/kbs").json()] == ["shop"]
        assert client.get("/chat/kbs/nope").status_code == 404
        cid = client.post("/chat/conversations", json={"kb": "shop"}).json()["id"]
        answer = client.post(
            f"/chat/conversations/{cid}/messages",
            json={"content": "Can opened boxes be returned?", "stream": False},
        ).json()
        assert answer["citations"][0]["source"] == "policy.md"
        assert answer["content"] == "Within 30 days [1]."
        stored = client.get(f"/chat/conversations/{cid}").json()["messages"][-1]
        assert stored["citations"][0]["location"] == "Returns"


def test_non_streaming_errors_carry_their_status(live_server: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("LLMAPPS_CHAT__CONTEXT_TOKENS", "120")
    monkeypatch.setenv("LLMAPPS_CHAT__ANSWER_TOKENS", "40")
    url = _server(live_server, "short")
    with httpx.Client(base_url=url, timeout=30) as client:
        cid = client.post("/chat/conversations", json={}).json()["id"]
        too_long = client.post(
            f"/chat/conversations/{cid}/messages", json={"content": "word " * 300, "stream": False}
        )
        assert too_long.status_code == 413
        assert "shorten the message" in too_long.json()["errors"][0]
        ok = client.post(
            f"/chat/conversations/{cid}/messages", json={"content": "hi", "stream": False}
        )
        assert ok.status_code == 200 and ok.json()["content"] == "short"
