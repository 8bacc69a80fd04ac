"""Bounded soak: 32 mixed clients against a real ``llmapps up`` on loopback, embedded model.

What it proves: after minutes of ordinary requests, streams abandoned half-way and hostile
bodies, the server is still up, answered nothing but 2xx/4xx and 503 (queue full, with
``Retry-After``), and its memory stopped growing after warm-up.

Clients (each loops until the time is up, one request at a time):

- ``normal``: small greedy chat completions (``/v1``), Ollama generates (``/api``), model
  lists, health checks, conversation creation (``/chat``);
- ``disconnect``: a streamed chat completion read for a chunk or two, then dropped;
- ``bad``: ``text/plain`` bodies, malformed and 100k-deep JSON, lone surrogates, 20-digit
  ids, ``days: 1e308``, a foreign ``Origin``, a rebinding ``Host``.

It prints the count of every (client kind, status), each 5xx other than 503 with its path and
body, the server's RSS (process tree) after warm-up and at the end, and whether ``/healthz``
still answers. Exit status 1 when the server died or answered a 5xx other than 503.

Usage: ``.venv/bin/python bench/soak.py [--seconds 600] [--clients 32]``; ``--url URL --pid
PID`` soaks a server you started yourself (RSS is read from PID and its children).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
MODEL = "smollm2"
BAD_BODIES: list[tuple[str, str, dict[str, str], str]] = [
    ("POST", "/api/copy", {"Content-Type": "text/plain"}, '{"source":"smollm2","destination":"x"}'),
    ("POST", "/v1/chat/completions", {"Content-Type": "application/json"}, '{"model": '),
    ("POST", "/api/chat", {"Content-Type": "application/json"}, "[" * 100_000 + "]" * 100_000),
    (
        "POST",
        "/v1/chat/completions",
        {"Content-Type": "application/json"},
        '{"model":"smollm2","messages":[{"role":"user","content":"\\ud800"}]}',
    ),
    ("GET", "/chat/conversations/99999999999999999999", {}, ""),
    (
        "POST",
        "/sentinel/reports",
        {"Content-Type": "application/json"},
        '{"target":"hn","days":1e308}',
    ),
    (
        "POST",
        "/api/delete",
        {"Content-Type": "application/json", "Origin": "https://evil.example"},
        '{"model":"smollm2"}',
    ),
    ("GET", "/v1/models", {"Host": "rebind.evil.example"}, ""),
    ("POST", "/chat/conversations", {"Content-Type": "application/json"}, '{"title": 1e400}'),
    (
        "POST",
        "/api/generate",
        {"Content-Type": "application/json"},
        '{"model":"smollm2","options":{"seed":99999999999999999999}}',
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MB (from /proc)."""
    total = 0
    todo = [pid]
    seen: set[int] = set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(
                next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
            )
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                todo += [int(c) for c in children]
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


class Tally:
    def __init__(self) -> None:
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        self.server_errors: list[str] = []

    def add(self, kind: str, status: int | str, path: str, body: str = "") -> None:
        self.counts[(kind, str(status))] += 1
        if isinstance(status, int) and status >= 500 and status != 503:
            self.server_errors.append(f"{status} {path}: {body[:200]}")


async def normal(http: httpx.AsyncClient, tally: Tally, rng: random.Random) -> None:
    choice = rng.randrange(6)
    if choice == 0:
        body = {
            "model": MODEL,
            "messages": [{"role": "user", "content": f"Count to {rng.randrange(3, 9)}."}],
            "max_tokens": 8,
            "temperature": 0,
        }
        resp = await http.post("/v1/chat/completions", json=body)
        path = "/v1/chat/completions"
    elif choice == 1:
        body = {
            "model": MODEL,
            "prompt": "Say hello.",
            "stream": False,
            "options": {"num_predict": 6, "temperature": 0},
        }
        resp = await http.post("/api/generate", json=body)
        path = "/api/generate"
    elif choice == 2:
        path = rng.choice(["/v1/models", "/api/tags", "/api/ps", "/healthz"])
        resp = await http.get(path)
    elif choice == 3:
        path = "/chat/conversations"
        resp = await http.post(path, json={"title": f"soak {rng.randrange(10**6)}"})
    elif choice == 4:
        path = "/api/show"
        resp = await http.post(path, json={"model": MODEL})
    else:
        path = "/sentinel/subscriptions"
        resp = await http.get(path)
    tally.add("normal", resp.status_code, path, resp.text)


async def disconnect(http: httpx.AsyncClient, tally: Tally, rng: random.Random) -> None:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Tell me a long story about the sea."}],
        "max_tokens": 64,
        "stream": True,
    }
    path = "/v1/chat/completions" if rng.random() < 0.5 else "/api/chat"
    if path == "/api/chat":
        body = {"model": MODEL, "messages": body["messages"], "options": {"num_predict": 64}}
    async with http.stream("POST", path, json=body) as resp:
        status = resp.status_code
        if status == 200:
            chunks = 0
            async for _chunk in resp.aiter_bytes():
                chunks += 1
                if chunks >= rng.randrange(1, 3):
                    break  # closing the stream here drops the connection mid-answer
            tally.add("disconnect", "200-dropped", path)
            return
        text = (await resp.aread()).decode("utf-8", "replace")
    tally.add("disconnect", status, path, text)


async def bad(http: httpx.AsyncClient, tally: Tally, rng: random.Random) -> None:
    method, path, headers, content = rng.choice(BAD_BODIES)
    resp = await http.request(
        method, path, headers=headers, content=content.encode("utf-8", "surrogatepass")
    )
    tally.add("bad", resp.status_code, path, resp.text)


async def client(kind: str, url: str, deadline: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    run = {"normal": normal, "disconnect": disconnect, "bad": bad}[kind]
    timeout = httpx.Timeout(120.0, connect=10.0)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, trust_env=False) as http:
        while time.monotonic() < deadline:
            try:
                await run(http, tally, rng)
            except httpx.HTTPError as exc:
                tally.add(kind, type(exc).__name__, "-")
                await asyncio.sleep(0.5)


async def soak(url: str, pid: int, seconds: float, clients: int) -> tuple[Tally, float, float]:
    tally = Tally()
    start = time.monotonic()
    deadline = start + seconds
    kinds = ["normal"] * (clients // 2) + ["disconnect"] * (clients // 4)
    kinds += ["bad"] * (clients - len(kinds))
    tasks = [asyncio.create_task(client(k, url, deadline, tally, i)) for i, k in enumerate(kinds)]
    warm_at = start + max(20.0, seconds * 0.2)
    await asyncio.sleep(max(0.0, warm_at - time.monotonic()))
    warm_rss = tree_rss_mb(pid)
    print(f"warm-up done after {time.monotonic() - start:.0f} s: RSS {warm_rss:.0f} MB", flush=True)
    await asyncio.gather(*tasks)
    return tally, warm_rss, tree_rss_mb(pid)


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "LLMAPPS_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("LLMAPPS_API_KEYS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmapps", "up", "--port", str(port)],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=open(home / "server.log", "wb"),  # noqa: SIM115 (kept open for the child)
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc)
    return proc, url


def wait_healthy(
    url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 180
) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode} before it was up")
        try:
            if httpx.get(url + "/healthz", timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"no answer from {url}/healthz within {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="soak length (default 600)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--url", help="soak a running server instead of starting one")
    parser.add_argument("--pid", type=int, help="the running server's process id (for RSS)")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="llmapps-soak-")
    proc = None
    if args.url:
        if not args.pid:
            parser.error("--url needs --pid (RSS is read from the server process)")
        url, pid = args.url.rstrip("/"), args.pid
        wait_healthy(url)
    else:
        proc, url = start_server(Path(tmp.name))
        pid = proc.pid
    print(
        f"soaking {url} (pid {pid}) with {args.clients} clients for {args.seconds:.0f} s",
        flush=True,
    )
    try:
        tally, warm, end = asyncio.run(soak(url, pid, args.seconds, args.clients))
        alive = proc is None or proc.poll() is None
        try:
            healthy = (
                alive
                and httpx.get(url + "/healthz", timeout=10, trust_env=False).status_code == 200
            )
        except httpx.HTTPError:
            healthy = False
    finally:
        if proc is not None:
            code = proc.poll()
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            if code is not None:
                log = (Path(tmp.name) / "server.log").read_text(errors="replace")[-2000:]
                print(f"the server died during the soak (exit {code}); log tail:\n{log}")
    print("\nstatus counts (client kind, status): n")
    for (kind, status), n in sorted(tally.counts.items()):
        print(f"  {kind:<11} {status:<22} {n}")
    print(f"5xx other than 503: {len(tally.server_errors)}")
    for line in tally.server_errors[:20]:
        print(f"  {line}")
    growth = (end - warm) / warm if warm else 0.0
    print(f"RSS after warm-up {warm:.0f} MB, at the end {end:.0f} MB ({growth:+.1%})")
    print(f"server up at the end: {'yes' if healthy else 'NO'}")
    print(
        json.dumps(
            {
                "warm_rss_mb": round(warm),
                "end_rss_mb": round(end),
                "server_up": healthy,
                "other_5xx": len(tally.server_errors),
            }
        )
    )
    tmp.cleanup()
    return 0 if healthy and not tally.server_errors else 1


if __name__ == "__main__":
    sys.exit(main())
