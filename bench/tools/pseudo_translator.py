"""A loopback OpenAI-compatible server that "translates" perfectly and predictably.

Why: measuring the translator's layout engine must not depend on a model's wording. Every
numbered item ``[i]\\ntext`` of the last user message becomes a pseudo-Chinese text about as
long as a real translation (two CJK glyphs per source word; numbers stay as they are, as a real
translator keeps them), prefixed ``译N`` so each unit stays identifiable. It answers JSON keyed
"1".."N" when ``response_format`` or a forced tool call asks for structured output, numbered
``[i]`` items otherwise, and a single pseudo text for a single text; streaming answers are one
SSE chunk. Use it as ``openai-compatible:pseudo@http://127.0.0.1:PORT/v1`` (any API key).

Run alone: ``python bench/tools/pseudo_translator.py PORT``; in code: ``with PseudoTranslator() as
server: server.spec``. ``calls`` counts chat completions answered.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ITEM = re.compile(r"^\[(\d+)\]\n(.*?)(?=\n\n\[\d+\]\n|\Z)", re.S | re.M)
GLYPHS = "汉字翻译文本测试版面"
NUMERIC = re.compile(r"^[\$\(]?[-+]?\d[\d,.:/%]*\)?[.,;:]?$")


def pseudo(text: str, n: int) -> str:
    """Numbers stay; every other word becomes two CJK glyphs; ``译N`` marks the unit."""
    out, k = [], 0
    for word in re.findall(r"\S+", text):
        if NUMERIC.match(word):
            out.append(f" {word} ")
        else:
            out.append(GLYPHS[(k * 2) % len(GLYPHS)] + GLYPHS[(k * 2 + 1) % len(GLYPHS)])
            k += 1
    body = "".join(out).strip()
    return f"译{n} {body}" if body else text


def answer(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """The assistant message and usage for one chat-completions request body."""
    messages = body.get("messages", [])
    user = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
    if isinstance(user, list):
        user = " ".join(p.get("text", "") for p in user if isinstance(p, dict))
    user = user or ""
    items = [(int(i), t) for i, t in ITEM.findall(user)]
    rf = body.get("response_format") or {}
    wants_json = rf.get("type") in ("json_object", "json_schema") or bool(body.get("tools"))
    if items and wants_json:
        content = json.dumps({str(i): pseudo(t, i) for i, t in items}, ensure_ascii=False)
    elif items:
        content = "\n\n".join(f"[{i}]\n{pseudo(t, i)}" for i, t in items)
    else:
        content = pseudo(user.rsplit("\n\n", 1)[-1], 0)
    usage = {
        "prompt_tokens": len(user) // 4,
        "completion_tokens": len(content) // 2,
        "total_tokens": len(user) // 4 + len(content) // 2,
    }
    message: dict[str, Any]
    if body.get("tools") and not rf:
        name = body["tools"][0]["function"]["name"]
        function = {"name": name, "arguments": content}
        call = {"id": "call_1", "type": "function", "function": function}
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
    else:
        message = {"role": "assistant", "content": content}
    return message, usage


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _send(self, code: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            model = {"id": "pseudo", "object": "model", "owned_by": "bench"}
            return self._send(200, {"object": "list", "data": [model]})
        self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0) or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            return self._send(400, {"error": {"message": "body is not JSON"}})
        if not self.path.endswith("/chat/completions"):
            return self._send(404, {"error": {"message": "not found"}})
        message, usage = answer(body)
        with self.server.lock:
            self.server.calls += 1
        created = int(time.time())
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            chunk = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": created,
                "model": "pseudo",
                "choices": [{"index": 0, "delta": message, "finish_reason": None}],
            }
            end = dict(chunk, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])
            end["usage"] = usage
            for part in (chunk, end):
                self.wfile.write(f"data: {json.dumps(part)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            return
        self._send(
            200,
            {
                "id": "c1",
                "object": "chat.completion",
                "created": created,
                "model": "pseudo",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": usage,
            },
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    calls = 0
    lock = threading.Lock()


class PseudoTranslator:
    """The server on 127.0.0.1 (a free port unless given), serving from a daemon thread."""

    def __init__(self, port: int = 0) -> None:
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def spec(self) -> str:
        """The model spec that reaches this server."""
        return f"openai-compatible:pseudo@{self.url}"

    @property
    def calls(self) -> int:
        return self._server.calls

    def __enter__(self) -> PseudoTranslator:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


if __name__ == "__main__":
    _Server(("127.0.0.1", int(sys.argv[1])), _Handler).serve_forever()
