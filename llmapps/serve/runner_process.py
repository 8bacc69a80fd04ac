"""llama.cpp's own ``llama-server`` as the runner process of a model, like Ollama's runners.

Why a process and not llama-cpp-python in this one: llama-server decodes all its slots
(``-np``) together in one llama.cpp batch on one copy of the weights (continuous batching),
processes long prompts in chunks so they do not stall the others, keeps a prefix cache per
slot and stops a generation as soon as its HTTP connection closes, all in C++ with no
per-token Python work. It is built at install time from the llama.cpp vendored in the pinned
llama-cpp-python sdist (``scripts/build-llama-server.sh``), so the runner and our tokenizer
are one llama.cpp version. Our server still renders and tokenizes prompts, applies limits
and speaks the Ollama/OpenAI APIs; it sends token prompts to the runner's ``/completion``.

One runner per (model, context-size class, GPU settings); it listens on a random loopback
port with a random API key and dies with us (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Generator, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from llmapps.config import Settings
from llmapps.models.errors import ModelError
from llmapps.models.local.hardware import OMP_WAIT_POLICY, nvidia_gpus
from llmapps.serve.errors import BadRequestError, BusyError

log = logging.getLogger("llmapps.serve")
START_TIMEOUT = 300.0
INPROCESS = "inprocess"
# The runner gets no secrets from our environment, only what it needs to run.
_ENV_KEPT = {
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "LD_LIBRARY_PATH",
    "GGML_CUDA_ENABLE_UNIFIED_MEMORY",
}
_PREFIXES = ("CUDA_", "OMP_", "GOMP_", "GGML_")


def find_binary(settings: Settings) -> Path | None:
    """The ``llama-server`` to run: ``server.runner``, else the venv's, else one on PATH;
    None for the in-process engine (``server.runner = "inprocess"`` or none built)."""
    configured = (settings.server.runner or "").strip()
    if configured == INPROCESS:
        return None
    if configured:
        path = Path(configured).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ModelError(
                f"server.runner {configured} is not an executable llama-server: fix the path, "
                f"or set it to '{INPROCESS}'"
            )
        return path
    venv = Path(sys.prefix) / "bin" / "llama-server"
    if venv.is_file() and os.access(venv, os.X_OK):
        return venv
    found = shutil.which("llama-server")
    return Path(found) if found else None


@dataclass(frozen=True)
class RunnerSpec:
    """What a runner is started with; runners with equal specs are one runner."""

    name: str
    path: Path
    lora: str | None
    ctx_slot: int  # context per slot (the class)
    slots: int
    threads: int
    threads_batch: int
    n_gpu_layers: int | None = None  # None: llama-server's default
    main_gpu: int | None = None
    cache_mib: int = 0  # host-RAM prompt cache (capacity.prompt_cache_mib)

    @property
    def key(self) -> str:
        return (
            f"{self.name}|{self.path}|{self.lora or ''}|{self.ctx_slot}|{self.slots}|"
            f"{self.threads}/{self.threads_batch}|{self.n_gpu_layers}|{self.main_gpu}|"
            f"{self.cache_mib}"
        )

    def command(self, binary: Path, port: int) -> list[str]:
        """The runner's command line (its API key comes by environment, not argv)."""
        cmd = [
            str(binary),
            "--model",
            str(self.path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ctx-size",
            str(self.ctx_slot * self.slots),
            "--parallel",
            str(self.slots),
            "--no-kv-unified",  # each slot owns ctx_slot cells: one request cannot starve others
            "--threads",
            str(self.threads),
            "--threads-batch",
            str(self.threads_batch),
            "--fit",
            "off",  # we size the context ourselves (and refuse what does not fit)
            "--cache-ram",
            str(self.cache_mib),
            "--no-webui",
            "--slots",  # /slots (behind the runner's key): which slots are busy
        ]
        if self.lora:
            cmd += ["--lora", self.lora]
        if self.n_gpu_layers is not None:
            layers = "all" if self.n_gpu_layers < 0 else str(self.n_gpu_layers)
            cmd += ["--n-gpu-layers", layers]
        if self.main_gpu is not None:
            cmd += ["--main-gpu", str(self.main_gpu)]
        return cmd


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


_spawn_jobs: queue.Queue[tuple[Future[subprocess.Popen[bytes]], list[str], dict[str, Any]]]
_spawn_jobs = queue.Queue()
_spawner_lock = threading.Lock()
_spawner: threading.Thread | None = None


def _spawn(cmd: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start ``cmd`` from one long-lived thread: PR_SET_PDEATHSIG fires when the *thread* that
    started a child ends, and requests run in pool threads that come and go."""
    global _spawner
    with _spawner_lock:
        if _spawner is None or not _spawner.is_alive():

            def loop() -> None:
                while True:
                    future, args, options = _spawn_jobs.get()
                    try:
                        future.set_result(subprocess.Popen(args, **options))
                    except BaseException as exc:
                        future.set_exception(exc)

            _spawner = threading.Thread(target=loop, name="llmapps-runner-spawner", daemon=True)
            _spawner.start()
    future: Future[subprocess.Popen[bytes]] = Future()
    _spawn_jobs.put((future, cmd, kwargs))
    return future.result()


@dataclass
class RunnerProcess:
    """One started ``llama-server``; attributes mirror the pool's ``LoadedModel`` for ps."""

    spec: RunnerSpec
    size_bytes: int
    keep_alive: float
    size_vram: int = 0
    users: int = 0
    last_used: float = field(default_factory=time.monotonic)
    loaded_at: float = field(default_factory=time.time)
    load_seconds: float = 0.0
    embedding: bool = False
    proc: subprocess.Popen[bytes] | None = None
    client: httpx.Client | None = None
    log_path: Path | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def path(self) -> Path:
        return self.spec.path

    @property
    def n_ctx(self) -> int:
        return self.spec.ctx_slot

    @property
    def expires_at(self) -> float | None:
        if self.keep_alive < 0:
            return None
        return time.time() + max(0.0, self.last_used + self.keep_alive - time.monotonic())

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, binary: Path) -> None:
        port = _free_port()
        key = secrets.token_urlsafe(24)
        fd, name = tempfile.mkstemp(prefix="llmapps-runner-", suffix=".log")
        self.log_path = Path(name)
        env = {k: v for k, v in os.environ.items() if k in _ENV_KEPT or k.startswith(_PREFIXES)}
        env.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)  # see hardware.OMP_WAIT_POLICY
        env["LLAMA_API_KEY"] = key
        started = time.perf_counter()
        with os.fdopen(fd, "wb") as logfile:
            self.proc = _spawn(
                self.spec.command(binary, port),
                stdin=subprocess.DEVNULL,
                stdout=logfile,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {key}"},
            timeout=httpx.Timeout(30.0, read=None),
            limits=httpx.Limits(max_connections=self.spec.slots * 2 + 4),
            trust_env=False,  # never through a proxy: the runner is on loopback
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if not self.alive():
                reason = self._last_error()
                self.stop()
                raise ModelError(f"cannot load {self.spec.name}: {reason}")
            with contextlib.suppress(httpx.HTTPError):
                if self.client.get("/health", timeout=2.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                self.stop()
                raise ModelError(f"{self.spec.name} did not load within {START_TIMEOUT:.0f}s")
            time.sleep(0.05)
        self.load_seconds = time.perf_counter() - started

    def _last_error(self) -> str:
        try:
            lines = (self.log_path or Path("/nonexistent")).read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        errors = [ln for ln in lines if "error" in ln.lower() or "failed" in ln.lower()]
        text = (errors or lines or ["the runner exited"])[-1].strip()
        # Keep it one line and free of local paths.
        return text.replace(str(self.spec.path), self.spec.path.name)[:300]

    def stop(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.log_path is not None:
            with contextlib.suppress(OSError):
                self.log_path.unlink()
            self.log_path = None

    def tokenize(self, text: bytes, *, add_bos: bool, special: bool) -> list[int]:
        """Token ids of ``text`` from the runner's own tokenizer (the model's vocabulary)."""
        assert self.client is not None
        try:
            resp = self.client.post(
                "/tokenize",
                json={
                    "content": text.decode("utf-8", "replace"),
                    "add_special": add_bos,
                    "parse_special": special,
                },
            )
        except httpx.TransportError as exc:
            raise ModelError(f"the runner of {self.spec.name} failed: {exc}") from exc
        if resp.status_code != 200:
            raise _runner_error(self.spec.name, resp.status_code, resp.content)
        return [int(t) for t in resp.json()["tokens"]]

    def complete(
        self, payload: dict[str, Any], cancel: threading.Event
    ) -> Generator[dict[str, Any], None, None]:
        """Stream ``/completion`` events; leaving early closes the connection, which makes
        llama-server stop the generation and free the slot."""
        assert self.client is not None
        try:
            with self.client.stream("POST", "/completion", json=payload) as resp:
                if resp.status_code != 200:
                    raise _runner_error(self.spec.name, resp.status_code, resp.read())
                for line in resp.iter_lines():
                    if not line.startswith("data: "):
                        continue
                    yield json.loads(line[6:])
                    if cancel.is_set():
                        return
        except httpx.TransportError as exc:
            raise ModelError(f"the runner of {self.spec.name} failed: {exc}") from exc


def _runner_error(name: str, status: int, body: bytes) -> Exception:
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = body.decode("utf-8", "replace")[:300]
    if status == 400:
        return BadRequestError(f"{name}: {message}")
    return ModelError(f"the runner of {name} answered {status}: {message}")


_all_sets: weakref.WeakSet[RunnerSet] = weakref.WeakSet()


class RunnerSet:
    """The started runners: keep-alive, ``max_loaded_models`` and ``server.max_memory``."""

    def __init__(self, binary: Path, max_loaded: int, memory_budget: int) -> None:
        self.binary = binary
        self.max_loaded = max(1, max_loaded)
        self.memory_budget = memory_budget
        self._runners: dict[str, RunnerProcess] = {}
        self._lock = threading.RLock()
        self._reaper: threading.Thread | None = None
        self.gpu = bool(nvidia_gpus())
        _all_sets.add(self)

    def loaded(self) -> list[RunnerProcess]:
        with self._lock:
            return list(self._runners.values())

    def used_memory(self) -> int:
        with self._lock:
            return sum(r.size_bytes for r in self._runners.values())

    @contextmanager
    def use(
        self, spec: RunnerSpec, size: int, keep_alive: float, extra_used: int = 0
    ) -> Iterator[tuple[RunnerProcess, float]]:
        """The runner for ``spec`` (started if needed) and the seconds its start took."""
        with self._lock:
            runner = self._runners.get(spec.key)
            if runner is not None and not runner.alive():
                self._stop(spec.key)
                runner = None
            load_seconds = 0.0
            if runner is None:
                self._make_room(size, extra_used)
                runner = RunnerProcess(spec=spec, size_bytes=size, keep_alive=keep_alive)
                if self.gpu and spec.n_gpu_layers != 0:
                    runner.size_vram = size
                runner.start(self.binary)
                load_seconds = runner.load_seconds
                self._runners[spec.key] = runner
                self._start_reaper()
            runner.keep_alive = keep_alive
            runner.users += 1
        try:
            yield runner, load_seconds
        finally:
            with self._lock:
                runner.users -= 1
                runner.last_used = time.monotonic()
                if runner.keep_alive == 0 and runner.users == 0:
                    self._stop(spec.key)

    def _make_room(self, size: int, extra_used: int) -> None:
        """Stop idle runners (least recently used first) until ``size`` fits; else 503.

        A runner with users is never stopped: the new one starts beside it when both limits
        allow, and otherwise the request is refused with ``Retry-After``."""

        def over() -> bool:
            used = sum(r.size_bytes for r in self._runners.values()) + extra_used
            return len(self._runners) >= self.max_loaded or used + size > self.memory_budget

        while over():
            idle = [r for r in self._runners.values() if r.users == 0]
            if not idle:
                used = sum(r.size_bytes for r in self._runners.values()) + extra_used
                if used + size > self.memory_budget:
                    raise BusyError(
                        f"loading this model needs about {size / 1e9:.2f} GB but "
                        f"{used / 1e9:.2f} GB of server.max_memory "
                        f"({self.memory_budget / 1e9:.2f} GB) is held by busy models: retry "
                        "later, or lower num_ctx",
                        retry_after=5,
                    )
                raise BusyError(
                    f"all {len(self._runners)} loaded models are busy "
                    f"(server.max_loaded_models is {self.max_loaded}): retry later, or raise "
                    "server.max_loaded_models",
                    retry_after=5,
                )
            self._stop(min(idle, key=lambda r: r.last_used).spec.key)

    def expire(self, *, name: str | None = None, path: Path | None = None) -> int:
        with self._lock:
            matches = [
                r
                for r in self._runners.values()
                if (name is None or r.name == name) and (path is None or r.path == path)
            ]
            for runner in matches:
                runner.keep_alive = 0
                if runner.users == 0:
                    self._stop(runner.spec.key)
            return len(matches)

    def stop_all(self) -> None:
        with self._lock:
            for key in list(self._runners):
                self._stop(key)

    def _stop(self, key: str) -> None:
        runner = self._runners.pop(key, None)
        if runner is not None:
            runner.stop()

    def reap(self) -> None:
        now = time.monotonic()
        with self._lock:
            for key, runner in list(self._runners.items()):
                idle_out = 0 <= runner.keep_alive <= now - runner.last_used
                if runner.users == 0 and (idle_out or not runner.alive()):
                    self._stop(key)

    def _start_reaper(self) -> None:
        if self._reaper is not None and self._reaper.is_alive():
            return

        def loop() -> None:
            while True:
                time.sleep(1.0)
                self.reap()
                with self._lock:
                    if not self._runners:
                        self._reaper = None
                        return

        self._reaper = threading.Thread(target=loop, name="llmapps-runner-reaper", daemon=True)
        self._reaper.start()


def stop_all() -> None:
    """Stop every runner this process started (tests between servers, and at exit)."""
    for runner_set in list(_all_sets):
        runner_set.stop_all()


atexit.register(stop_all)
