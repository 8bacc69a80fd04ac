"""``llmapps config check``: try every configured model with a tiny request.

Why real requests: a config can parse perfectly and still point at a server that is down, a
model that was never pulled or a key that was revoked. One token per chat model (and one short
embedding) finds all three, and each failure comes back as our one-line error with its fix.
Retries are switched off and the timeout capped so a dead host fails fast.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from llmapps.config import Settings
from llmapps.errors import LlmappsError

CHECK_TIMEOUT = 20.0


@dataclass(frozen=True)
class ProbeResult:
    """One configured model and how the tiny request went."""

    role: str  # "default", "embeddings", "alias <name>"
    spec: str
    ok: bool
    message: str
    seconds: float


def _quick(settings: Settings) -> Settings:
    models = settings.models.model_copy(
        update={"max_retries": 0, "timeout": min(settings.models.timeout, CHECK_TIMEOUT)}
    )
    return settings.model_copy(update={"models": models})


def _probe_chat(role: str, spec: str, settings: Settings) -> ProbeResult:
    from llmapps.models import get_chat_model

    started = time.perf_counter()
    try:
        model = get_chat_model(
            spec, app="config-check", settings=settings, max_tokens=1, temperature=0.0
        )
        model.invoke("ping")
    except LlmappsError as exc:
        return ProbeResult(role, spec, False, str(exc), time.perf_counter() - started)
    except Exception as exc:  # an unexpected failure is still a finding, not a crash
        text = " ".join(str(exc).split())[:200]
        return ProbeResult(
            role, spec, False, f"{type(exc).__name__}: {text}", time.perf_counter() - started
        )
    took = time.perf_counter() - started
    return ProbeResult(role, spec, True, f"answered in {took:.1f}s", took)


def _probe_embeddings(spec: str, settings: Settings) -> ProbeResult:
    from llmapps.models import get_embeddings

    started = time.perf_counter()
    try:
        vector = get_embeddings(spec, settings=settings).embed_query("ping")
    except LlmappsError as exc:
        return ProbeResult("embeddings", spec, False, str(exc), time.perf_counter() - started)
    except Exception as exc:
        text = " ".join(str(exc).split())[:200]
        return ProbeResult(
            "embeddings",
            spec,
            False,
            f"{type(exc).__name__}: {text} (does this model support embeddings?)",
            time.perf_counter() - started,
        )
    took = time.perf_counter() - started
    return ProbeResult("embeddings", spec, True, f"{len(vector)} dimensions in {took:.1f}s", took)


def check_models(settings: Settings) -> list[ProbeResult]:
    """Probe the default model, the embeddings model and every alias."""
    quick = _quick(settings)
    models = quick.models
    results = [_probe_chat("default", models.default, quick)]
    results.append(_probe_embeddings(models.embeddings or models.default, quick))
    for name in sorted(models.aliases):
        results.append(_probe_chat(f"alias {name}", name, quick))
    return results


def check_data_dir(settings: Settings) -> ProbeResult:
    """The data directory must be writable (the database and generated files live there)."""
    started = time.perf_counter()
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        probe = settings.home / ".write-test"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        return ProbeResult(
            "data dir",
            str(settings.home),
            False,
            f"cannot write to {settings.home} ({exc.strerror}): set LLMAPPS_HOME to a "
            "writable folder",
            time.perf_counter() - started,
        )
    return ProbeResult("data dir", str(settings.home), True, "writable", 0.0)
