"""Fixtures every test area shares.

- every test runs with its own data directory (a real SQLite file) and working directory;
- ``live_server`` runs an ASGI app under uvicorn on a free 127.0.0.1 port;
- ``browser_page`` drives Debian's headless Chromium through Playwright.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory and cwd; no user config, secrets or proxies leak into tests."""
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in list(os.environ):
        if name.startswith("LLMAPPS_") or name in {
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "GITHUB_TOKEN",
            "SMTP_PASSWORD",
            "WEATHER_API_KEY",
        }:
            monkeypatch.delenv(name, raising=False)
    for proxy in (
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("LLMAPPS_HOME", str(home))
    # Keep the embedded model light on CI's two cores.
    monkeypatch.setenv("LLMAPPS_MODELS__N_CTX", "2048")
    return home


class LiveServer:
    """A uvicorn server in a background thread; ``url`` is its base URL."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A bounded graceful shutdown (an asyncio timeout inside the server): a browser's open
        # event stream would otherwise hold stop() until the page closes, which a test's
        # teardown does only after stopping the server.
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop the server (2 s at most: its graceful shutdown is bounded). Polls instead of
        ``thread.join(timeout)``: under libfaketime (``make test-at``) a timed join of a
        thread that ends during the wait was seen never to return."""
        self.server.should_exit = True
        deadline = time.monotonic() + 60
        while self.thread.is_alive():
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not stop")
            time.sleep(0.05)


@pytest.fixture
def live_server() -> Iterator[Callable[..., LiveServer]]:
    """Factory: ``live_server(app)`` starts the app and returns the running server."""
    servers: list[LiveServer] = []

    def start(app: Any, port: int | None = None) -> LiveServer:
        server = LiveServer(app, port).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def chromium_path() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    found = shutil.which("chromium")
    if found:
        return found
    raise RuntimeError("Chromium not found: run 'make test' (installs Debian's chromium) first")


def _is_faketime(name: str) -> bool:
    return name == "LD_PRELOAD" or name.startswith(("FAKETIME", "DONT_FAKE"))


def _real_clock_env(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``env`` (this process's) without libfaketime (``make test-at``), for the browser and
    its driver: the clock under test is the server's; libfaketime also fakes the monotonic
    clock, and Chromium's timed waits then never expire."""
    return {k: v for k, v in env.items() if not _is_faketime(k)}


@contextmanager
def _real_clock_driver() -> Iterator[None]:
    """Start Playwright's driver (a Node.js process) on the real clock too, for the reason of
    :func:`_real_clock_env`: under libfaketime its timed waits could stall an upload or a
    click at random. The server under test keeps the fake clock.

    The driver's environment is filtered where Playwright builds it. Removing the variables
    from ``os.environ`` for the start instead made this process's libfaketime, which reads
    ``FAKETIME`` again every few seconds, run on the real clock for a while: the clock jumped
    by hours in mid-test (seen at 08:30, a Sentinel tab test)."""
    from playwright._impl import transport

    build = getattr(transport, "get_driver_env", None)
    if build is None:  # a Playwright upgrade moved it: fail here, not with a stalled click
        raise RuntimeError("playwright._impl.transport.get_driver_env is gone: update conftest")

    transport.get_driver_env = lambda: _real_clock_env(build())
    try:
        yield
    finally:
        transport.get_driver_env = build


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module: Playwright's sync API keeps an event loop running while
    it is started, which would break later tests that call ``asyncio.run``."""
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    with _real_clock_driver():
        pw = manager.__enter__()
    try:
        instance = pw.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            env=_real_clock_env(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()
    finally:
        manager.__exit__(None, None, None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, so a fixture can tell that its test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def watch_page(page: Any) -> list[str]:
    """What the browser said while a test ran: console warnings and errors, uncaught page
    errors, requests other than GETs, failed requests and 4xx/5xx responses, each with the
    second it came."""
    started = time.monotonic()
    seen: list[str] = []

    def note(text: str) -> None:
        seen.append(f"{time.monotonic() - started:7.1f}s {text}")

    page.on(
        "console",
        lambda m: note(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: note(f"page error: {e}"))
    # Writes (uploads, API calls) as they start and end: a request that hangs shows as a start.
    page.on("request", lambda r: note(f"{r.method} {r.url}") if r.method != "GET" else None)
    page.on(
        "requestfinished",
        lambda r: note(f"done: {r.method} {r.url}") if r.method != "GET" else None,
    )
    page.on("requestfailed", lambda r: note(f"request failed: {r.method} {r.url} {r.failure}"))
    page.on(
        "response",
        lambda r: (
            note(f"response {r.status}: {r.request.method} {r.url}") if r.status >= 400 else None
        ),
    )
    return seen


def report_page(request: pytest.FixtureRequest, page: Any, seen: list[str]) -> None:
    """After a failed browser test: print what the browser said and save a screenshot (shown
    in the failure's captured output), so a failure in CI can be understood from its log."""
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed:
        return
    print(f"browser log ({len(seen)} entries, last 40):", *seen[-40:], sep="\n  ")
    try:
        shot = Path(tempfile.gettempdir()) / f"llmapps-failed-{request.node.name}.png"
        page.screenshot(path=str(shot), full_page=True, timeout=10_000)
        print(f"screenshot: {shot}")
    except Exception as exc:  # the page may be gone: the log above still helps
        print(f"no screenshot: {type(exc).__name__}")


def upload_files(page: Any, elem_id: str, *files: Path) -> None:
    """Give a Gradio file box its files and wait until it shows them as uploaded.

    While the upload runs, Gradio lists each file's name in one piece ("policy.md"); once it
    is done, the name is split into stem and extension ("policy .md" in the page's text), with
    the whole name only in the cell's aria-label. Waiting for the text alone can catch the
    passing progress list or, on a busy machine, miss it and wait forever, so this waits for
    the finished file list itself."""
    page.locator(f"#{elem_id} input[type=file]").set_input_files([str(f) for f in files])
    for f in files:
        page.locator(f"#{elem_id} td.filename[aria-label='{f.name}']").wait_for()


@pytest.fixture
def browser_page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    seen = watch_page(page)
    yield page
    report_page(request, page, seen)
    context.close()
