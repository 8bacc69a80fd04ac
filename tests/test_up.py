"""`llmapps up` as a user runs it: a real process serving the UI and the APIs on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port


def _wait_for(url: str, proc: subprocess.Popen[str], timeout: float = 90) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"llmapps up exited early: {proc.stdout.read() if proc.stdout else ''}"
            )
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def test_up_serves_ui_and_health_on_loopback(isolated_home: Path) -> None:
    port = free_port()
    env = {**os.environ, "LLMAPPS_SERVER__PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmapps", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = _wait_for(f"http://127.0.0.1:{port}/healthz", proc)
        assert health.json()["status"] == "ok"
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200
        assert "gradio" in page.text.lower()
        # Loopback only by default: the server must not listen on other interfaces.
        listening = Path("/proc/net/tcp").read_text()
        hex_port = f"{port:04X}"
        local_addrs = [
            line.split()[1]
            for line in listening.splitlines()[1:]
            if line.split()[1].endswith(hex_port)
        ]
        assert local_addrs and all(addr.startswith("0100007F") for addr in local_addrs)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert f"http://127.0.0.1:{port}/" in (proc.stdout.read() if proc.stdout else "")
