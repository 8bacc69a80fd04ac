"""A process-wide pool of loaded llama.cpp models with idle keep-alive.

Why a pool: loading a GGUF costs seconds and memory, so a model is loaded once per process and
shared by every caller; a ``llama_cpp.Llama`` is not safe for concurrent use, so each loaded
model has a lock and callers take turns; an idle model is unloaded after its keep-alive so a
long-running server does not hold memory it does not use. The private model server builds its
queueing and ``/api/ps`` on this same pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmapps.models.errors import ModelError
from llmapps.models.local.hardware import default_threads


@dataclass
class LoadedModel:
    """One loaded GGUF. ``keep_alive`` < 0 means never unload; 0 means unload when idle."""

    key: str
    path: Path
    llama: Any
    embedding: bool
    n_ctx: int
    size_bytes: int
    keep_alive: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)
    users: int = 0
    loaded_at: float = field(default_factory=time.time)
    load_seconds: float = 0.0  # how long loading took (Ollama's load_duration)
    name: str = ""  # the model name last used with it (for ``/api/ps``); "" if unnamed
    lora_path: str | None = None
    slot: int = 0  # >0: an extra copy so one model can serve requests in parallel

    @property
    def expires_at(self) -> float | None:
        """Wall-clock time when this model will be unloaded if still idle (None: never)."""
        if self.keep_alive < 0:
            return None
        return time.time() + max(0.0, self.last_used + self.keep_alive - time.monotonic())


class ModelPool:
    """Loads models on first use, shares them, unloads them after an idle keep-alive."""

    def __init__(self, max_loaded: int = 2, reap_interval: float = 1.0) -> None:
        self.max_loaded = max_loaded
        self._models: dict[str, LoadedModel] = {}
        self._lock = threading.RLock()
        self._reap_interval = reap_interval
        self._reaper: threading.Thread | None = None

    def configure(self, *, max_loaded: int | None = None) -> None:
        """Change limits at run time (the server applies ``server.max_loaded_models``)."""
        if max_loaded is not None:
            self.max_loaded = max(1, max_loaded)

    @staticmethod
    def _key(path: Path, embedding: bool, n_ctx: int, lora: str | None, slot: int = 0) -> str:
        key = f"{path}|emb={int(embedding)}|ctx={n_ctx}|lora={lora or ''}"
        return f"{key}|slot={slot}" if slot else key

    def _load(
        self,
        path: Path,
        *,
        embedding: bool,
        n_ctx: int,
        n_threads: int | None,
        lora_path: str | None,
        keep_alive: float,
        slot: int = 0,
    ) -> LoadedModel:
        import llama_cpp

        kwargs: dict[str, Any] = {
            "model_path": str(path),
            "n_ctx": n_ctx,
            "verbose": False,
            "embedding": embedding,
        }
        # Physical cores, not llama-cpp-python's cpu_count // 2 (see hardware.default_threads).
        kwargs["n_threads"] = kwargs["n_threads_batch"] = default_threads(n_threads)
        if lora_path:
            kwargs["lora_path"] = lora_path
        if embedding:
            kwargs["pooling_type"] = llama_cpp.LLAMA_POOLING_TYPE_MEAN
        started = time.perf_counter()
        try:
            llama = llama_cpp.Llama(**kwargs)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"cannot load GGUF {path}: {exc} (is it a valid GGUF file?)") from exc
        size = path.stat().st_size
        if lora_path and Path(lora_path).is_file():
            size += Path(lora_path).stat().st_size
        return LoadedModel(
            key=self._key(path, embedding, n_ctx, lora_path, slot),
            path=path,
            llama=llama,
            embedding=embedding,
            n_ctx=n_ctx,
            size_bytes=size,
            keep_alive=keep_alive,
            load_seconds=time.perf_counter() - started,
            lora_path=lora_path,
            slot=slot,
        )

    def get(
        self,
        path: Path,
        *,
        embedding: bool = False,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        lora_path: str | None = None,
        keep_alive: float = 300.0,
        name: str | None = None,
        slot: int = 0,
    ) -> LoadedModel:
        """The loaded model for these parameters, loading it (and evicting the LRU) if needed.

        ``keep_alive`` (seconds; < 0 never unload, 0 unload when idle) replaces the model's
        current one, as a per-request ``keep_alive`` does in Ollama.
        """
        key = self._key(path, embedding, n_ctx, lora_path, slot)
        with self._lock:
            model = self._models.get(key)
            if model is None:
                self._evict_for_room()
                model = self._load(
                    path,
                    embedding=embedding,
                    n_ctx=n_ctx,
                    n_threads=n_threads,
                    lora_path=lora_path,
                    keep_alive=keep_alive,
                    slot=slot,
                )
                self._models[key] = model
                self._start_reaper()
            model.keep_alive = keep_alive
            model.last_used = time.monotonic()
            if name:
                model.name = name
            return model

    def find(
        self,
        path: Path,
        *,
        embedding: bool = False,
        n_ctx: int = 4096,
        lora_path: str | None = None,
        slot: int = 0,
    ) -> LoadedModel | None:
        """The loaded model for these parameters, or None (nothing is loaded)."""
        with self._lock:
            return self._models.get(self._key(path, embedding, n_ctx, lora_path, slot))

    @contextmanager
    def use(self, path: Path, **kwargs: Any) -> Iterator[LoadedModel]:
        """Borrow a loaded model exclusively (its lock held) for one generation."""
        with self._lock:
            model = self.get(path, **kwargs)
            model.users += 1
        try:
            with model.lock:
                yield model
        finally:
            with self._lock:
                model.users -= 1
                model.last_used = time.monotonic()
                if model.keep_alive == 0 and model.users == 0:
                    self._unload(model.key)

    def loaded(self) -> list[LoadedModel]:
        with self._lock:
            return list(self._models.values())

    def expire(self, *, name: str | None = None, path: Path | None = None) -> int:
        """Set keep-alive 0 on matching models: idle ones unload now, busy ones when done."""
        with self._lock:
            matches = [
                m
                for m in self._models.values()
                if (name is None or m.name == name) and (path is None or m.path == path)
            ]
            for model in matches:
                model.keep_alive = 0
                if model.users == 0:
                    self._unload(model.key)
            return len(matches)

    def unload(self, path: Path | None = None) -> int:
        """Unload every idle model of ``path`` (or all idle models); returns how many."""
        with self._lock:
            keys = [
                k
                for k, m in self._models.items()
                if (path is None or m.path == path) and m.users == 0
            ]
            for key in keys:
                self._unload(key)
            return len(keys)

    def _unload(self, key: str) -> None:
        model = self._models.pop(key, None)
        if model is not None:
            close = getattr(model.llama, "close", None)
            if callable(close):
                close()
            model.llama = None

    def _evict_for_room(self) -> None:
        while len(self._models) >= self.max_loaded:
            idle = [m for m in self._models.values() if m.users == 0]
            if not idle:
                return  # every model busy: allow going over rather than failing the caller
            self._unload(min(idle, key=lambda m: m.last_used).key)

    def reap(self) -> None:
        """Unload models whose keep-alive ran out."""
        now = time.monotonic()
        with self._lock:
            for key, model in list(self._models.items()):
                if model.users == 0 and 0 <= model.keep_alive <= now - model.last_used:
                    self._unload(key)

    def _start_reaper(self) -> None:
        if self._reaper is not None and self._reaper.is_alive():
            return

        def loop() -> None:
            while True:
                time.sleep(self._reap_interval)
                self.reap()
                with self._lock:
                    if not self._models:
                        self._reaper = None
                        return

        self._reaper = threading.Thread(target=loop, name="llmapps-model-reaper", daemon=True)
        self._reaper.start()


_pool = ModelPool()


def get_pool() -> ModelPool:
    """The process-wide pool."""
    return _pool
