"""Pull models by name: from the Ollama registry (OCI distribution) and Hugging Face GGUF repos.

Why here: ``llmapps pull qwen2.5:1.5b`` and ``POST /api/pull`` are the first thing a user of
Ollama types. One function serves both; it reports progress in Ollama's shape (``pulling
manifest``, one ``pulling <digest>`` line per layer with ``digest``/``total``/``completed``,
``verifying sha256 digest``, ``writing manifest``, ``success``) through a callback.

Downloads go to ``<home>/models/blobs/sha256-<hex>.partial`` and resume with an HTTP ``Range``
after a cut; a blob is renamed into place only once its SHA-256 matches, so a partial or corrupt
file is never used. The free disk space is checked before the first byte. Names:

- ``qwen2.5:1.5b``, ``user/model:tag``, ``host/ns/model:tag``: the Ollama registry
  (``models.registry_url``, default ``https://registry.ollama.ai``; ``insecure`` allows plain
  HTTP for an explicit host). Layers: model (GGUF), template, system, params, messages, license,
  adapter and projector, mapped onto our model manifest.
- ``hf.co/user/repo[:quant]``: the repository's file listing (``/api/models/.../tree/main``) on
  ``models.hf_url``; the GGUF whose name carries the quantisation tag (default Q4_K_M, else
  the first of Q4_0/Q8_0/any) is fetched through ``/resolve/main/``, verified by its LFS SHA-256.

The proxy environment (``HTTPS_PROXY``, ``NO_PROXY``) is honoured (httpx ``trust_env``).
``HF_TOKEN`` is sent to Hugging Face when set, and never logged.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from llmapps.config import Settings
from llmapps.serve.errors import BadRequestError, ModelNotFoundError, ServeError
from llmapps.serve.modelfile import PARAMETER_TYPES, Modelfile, convert_parameter

Progress = Callable[[dict[str, Any]], None]

MANIFEST_ACCEPT = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_PREFIX = "application/vnd.ollama.image."
HF_HOSTS = ("hf.co", "huggingface.co")
QUANT_PREFERENCE = ("Q4_K_M", "Q4_0", "Q8_0")
_CHUNK = 1 << 20
MAX_MANIFEST_BYTES = 4 << 20  # a manifest or file listing larger than this is not a model's
MAX_LAYERS = 64
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")


class PullError(ServeError):
    """A pull failed for a reason the user can fix (message names the problem and the fix)."""

    status_code = 400
    code = "pull_failed"


class NetworkError(PullError):
    status_code = 502
    code = "network"


class DiskFullError(PullError):
    status_code = 507
    code = "disk_full"


@dataclass
class Ref:
    """What a pull name points at."""

    kind: str  # "ollama" | "hf"
    base_url: str  # registry or Hugging Face base URL
    namespace: str
    repo: str
    tag: str
    local_name: str  # the name the model gets here (name:tag)


def parse_ref(name: str, settings: Settings, insecure: bool = False) -> Ref:
    """Split ``[host/][namespace/]model[:tag]`` (or ``hf.co/user/repo[:quant]``)."""
    raw = name.strip()
    if raw.startswith(("http://", "https://")):
        raise BadRequestError(
            f"'{name}': give a model name (e.g. qwen2.5:1.5b or hf.co/user/repo), not a URL",
            param="model",
        )
    path, _, tag = raw.rpartition(":") if ":" in raw.split("/")[-1] else (raw, "", "")
    parts = [p for p in path.split("/") if p]
    segment = r"[A-Za-z0-9][A-Za-z0-9._-]*"
    host_ok = len(parts) == 3 and re.fullmatch(rf"{segment}(:\d{{1,5}})?", parts[0])
    if not parts or any(not re.fullmatch(segment, p) for p in parts[1 if host_ok else 0 :]):
        raise BadRequestError(
            f"invalid model name '{name}': use name[:tag], user/name[:tag] or hf.co/user/repo",
            param="model",
        )
    if tag and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", tag):
        raise BadRequestError(f"invalid tag in '{name}'", param="model")
    if parts[0].lower() in HF_HOSTS:
        if len(parts) != 3:
            raise BadRequestError(
                f"'{name}': a Hugging Face model is hf.co/<user>/<repo>[:<quant>]", param="model"
            )
        local = f"hf.co/{parts[1]}/{parts[2]}".lower() + f":{tag or 'latest'}"
        base = settings.models.hf_url.rstrip("/")
        return Ref("hf", base, parts[1], parts[2], tag or "latest", local)
    host: str | None = None
    if len(parts) == 3 or (len(parts) == 2 and ("." in parts[0] or ":" in parts[0])):
        host, parts = parts[0], parts[1:]
    if len(parts) == 1:
        parts = ["library", parts[0]]
    if len(parts) != 2:
        raise BadRequestError(
            f"invalid model name '{name}'",
            param="model",
        )
    tag = tag or "latest"
    if host:
        base = f"{'http' if insecure else 'https'}://{host}"
        local = f"{host}/{parts[0]}/{parts[1]}:{tag}".lower()
    else:
        base = settings.models.registry_url.rstrip("/")
        local = (parts[1] if parts[0] == "library" else f"{parts[0]}/{parts[1]}") + f":{tag}"
    return Ref("ollama", base, parts[0], parts[1], tag, local.lower())


def _client(settings: Settings) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(settings.models.timeout, connect=15.0),
        follow_redirects=True,
        trust_env=True,
        headers={"User-Agent": "llmapps (ollama-compatible pull)"},
    )


def _network_error(base_url: str, exc: Exception) -> NetworkError:
    host = httpx.URL(base_url).host
    return NetworkError(
        f"cannot reach {host} ({type(exc).__name__}): check the network or the proxy "
        "(HTTPS_PROXY), or point models.registry_url / models.hf_url at a mirror; "
        "run pull again to resume"
    )


# -- blobs ------------------------------------------------------------------------------------


@dataclass
class Layer:
    media_type: str
    digest: str  # sha256:<hex>
    size: int
    url: str
    name: str = ""  # file name (Hugging Face)


def blob_file(blobs: Path, digest: str) -> Path:
    match = _DIGEST.match(digest)
    if not match:
        raise PullError(f"the registry sent an invalid digest '{digest[:80]}'")
    return blobs / f"sha256-{match.group(1)}"


def _check_space(blobs: Path, layers: list[Layer]) -> None:
    need = 0
    for layer in layers:
        target = blob_file(blobs, layer.digest)
        if target.is_file():
            continue
        partial = target.with_name(target.name + ".partial")
        need += max(layer.size - (partial.stat().st_size if partial.is_file() else 0), 0)
    free = shutil.disk_usage(blobs).free
    if need > free:
        raise DiskFullError(
            f"not enough disk space: the download needs {_size(need)}, {_size(free)} are free "
            f"in {blobs.parent}: free space (or move the data directory) and pull again"
        )


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} B"


_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _download(
    client: httpx.Client,
    layer: Layer,
    blobs: Path,
    progress: Progress,
    headers: dict[str, str],
) -> Path:
    """One blob at a time per digest: two pulls of one model must not write one ``.partial``."""
    target = blob_file(blobs, layer.digest)
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(target, threading.Lock())
    with lock:
        return _fetch(client, layer, target, progress, headers)


def _fetch(
    client: httpx.Client,
    layer: Layer,
    target: Path,
    progress: Progress,
    headers: dict[str, str],
) -> Path:
    """Fetch one blob (resuming a ``.partial``), verify its SHA-256, move it into place."""
    status = f"pulling {layer.digest[7:19]}"
    if target.is_file():
        progress({"status": status, "digest": layer.digest, "total": layer.size,
                  "completed": layer.size})  # fmt: skip
        return target
    partial = target.with_name(target.name + ".partial")
    have = partial.stat().st_size if partial.is_file() else 0
    if layer.size and have > layer.size:
        partial.unlink()
        have = 0
    sha = hashlib.sha256()
    if have:
        with partial.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                sha.update(chunk)
    progress({"status": status, "digest": layer.digest, "total": layer.size, "completed": have})
    if not layer.size or have < layer.size:
        extra = {"Range": f"bytes={have}-"} if have else {}
        with client.stream("GET", layer.url, headers={**headers, **extra}) as resp:
            if resp.status_code == 416 and have:
                resp.close()
            else:
                if resp.status_code >= 400:
                    raise PullError(
                        f"the server refused blob {layer.digest[7:19]} (HTTP {resp.status_code})"
                    )
                if have and resp.status_code != 206:  # no Range support: start over
                    sha, have = hashlib.sha256(), 0
                mode = "ab" if have else "wb"
                try:
                    with partial.open(mode) as fh:
                        shown = have
                        for chunk in resp.iter_bytes():  # as received: a cut loses nothing
                            if layer.size and have + len(chunk) > layer.size:
                                break  # more than announced: the digest check below refuses it
                            fh.write(chunk)
                            sha.update(chunk)
                            have += len(chunk)
                            if have - shown >= _CHUNK or have == layer.size:
                                shown = have
                                progress({"status": status, "digest": layer.digest,
                                          "total": layer.size, "completed": have})  # fmt: skip
                except OSError as exc:
                    if exc.errno == errno.ENOSPC:
                        raise DiskFullError(
                            f"disk full while writing {layer.digest[7:19]}: free space and "
                            "pull again (the download resumes)"
                        ) from None
                    raise
    progress({"status": "verifying sha256 digest"})
    if f"sha256:{sha.hexdigest()}" != layer.digest:
        partial.unlink(missing_ok=True)
        raise PullError(
            f"digest mismatch for {layer.digest[7:19]}: the download is corrupt and was "
            "removed; pull again (a mirror or proxy may be serving a different file)"
        )
    partial.replace(target)
    return target


# -- the Ollama registry ----------------------------------------------------------------------


def _registry_get(client: httpx.Client, ref: Ref, tag: str) -> httpx.Response:
    url = f"{ref.base_url}/v2/{ref.namespace}/{ref.repo}/manifests/{tag}"
    return client.get(url, headers={"Accept": MANIFEST_ACCEPT})


def _ollama_manifest(client: httpx.Client, ref: Ref, name: str) -> tuple[dict[str, Any], str]:
    resp = _registry_get(client, ref, ref.tag)
    if resp.status_code == 404:
        known_model = (
            ref.tag != "latest" and _registry_get(client, ref, "latest").status_code == 200
        )
        if known_model:
            raise ModelNotFoundError(
                f"pull {name}: the model exists but has no tag '{ref.tag}': see its tags on "
                "ollama.com/library (or your mirror)",
                param="model",
            )
        raise ModelNotFoundError(
            f"pull {name}: no such model in the registry ({httpx.URL(ref.base_url).host}): "
            "check the name on ollama.com/library",
            param="model",
        )
    if resp.status_code in (401, 403):
        raise PullError(f"pull {name}: the registry refused access (HTTP {resp.status_code})")
    if resp.status_code >= 400:
        raise PullError(f"pull {name}: the registry answered HTTP {resp.status_code}")
    if len(resp.content) > MAX_MANIFEST_BYTES:
        raise PullError(f"pull {name}: the registry sent a manifest over 4 MB")
    try:
        manifest = resp.json()
        layers = list(manifest.get("layers") or [])
    except (ValueError, AttributeError):
        raise PullError(f"pull {name}: the registry sent a manifest that is not JSON") from None
    if len(layers) > MAX_LAYERS:
        raise PullError(
            f"pull {name}: the manifest lists {len(layers)} layers (at most {MAX_LAYERS})"
        )
    digest = "sha256:" + hashlib.sha256(resp.content).hexdigest()
    if not any(layer.get("mediaType") == MEDIA_PREFIX + "model" for layer in layers):
        raise PullError(f"pull {name}: the manifest has no model layer")
    return manifest, digest


def _ollama_layers(ref: Ref, manifest: dict[str, Any]) -> list[Layer]:
    out = []
    entries = list(manifest.get("layers") or [])
    if isinstance(manifest.get("config"), dict) and manifest["config"].get("digest"):
        entries.append(manifest["config"])
    for entry in entries:
        digest = str(entry.get("digest", ""))
        url = f"{ref.base_url}/v2/{ref.namespace}/{ref.repo}/blobs/{digest}"
        out.append(Layer(str(entry.get("mediaType", "")), digest, int(entry.get("size") or 0), url))
    return out


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def modelfile_from_layers(files: dict[str, list[Path]]) -> tuple[Modelfile, list[str]]:
    """Our Modelfile from the pulled layers (by media type); the dropped parameter names."""
    mf = Modelfile(from_=str(files["model"][0]))
    if files.get("template"):
        mf.template = _text(files["template"][0])
    if files.get("system"):
        mf.system = _text(files["system"][0])
    mf.license = [_text(p) for p in files.get("license", [])]
    mf.adapters = [str(p) for p in files.get("adapter", [])]
    dropped: list[str] = []
    for path in files.get("params", []):
        try:
            params = json.loads(_text(path))
        except ValueError:
            continue
        for key, value in (params or {}).items():
            if key.lower() not in PARAMETER_TYPES:
                dropped.append(key)
                continue
            mf.parameters[key.lower()] = convert_parameter(key, value, "params: ")
    for path in files.get("messages", []):
        try:
            mf.messages = [
                {"role": str(m.get("role")), "content": str(m.get("content"))}
                for m in json.loads(_text(path))
            ]
        except (ValueError, AttributeError):
            continue
    return mf, dropped


# -- Hugging Face -----------------------------------------------------------------------------


def _hf_headers() -> dict[str, str]:
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def choose_gguf(files: list[dict[str, Any]], quant: str | None) -> dict[str, Any]:
    """The GGUF to fetch: the one whose name carries ``quant``, else the preferred quant."""
    ggufs = [
        f
        for f in files
        if f.get("type", "file") == "file"
        and str(f.get("path", "")).lower().endswith(".gguf")
        and "mmproj" not in str(f.get("path", "")).lower()
    ]
    if not ggufs:
        raise PullError("this Hugging Face repository has no GGUF file (choose a *-GGUF repo)")

    def has(tag: str, f: dict[str, Any]) -> bool:
        stem = Path(str(f["path"])).name.rsplit(".", 1)[0].upper()
        return re.search(rf"(^|[-_.]){re.escape(tag.upper())}($|[-_.])", stem) is not None

    if quant and quant.lower() != "latest":
        chosen = [f for f in ggufs if has(quant, f)]
        if not chosen:
            tags = sorted({Path(str(f["path"])).name for f in ggufs})
            raise ModelNotFoundError(
                f"no GGUF for quantisation '{quant}' in this repository (files: "
                f"{', '.join(tags[:8])})",
                param="model",
            )
    else:
        chosen = []
        for tag in QUANT_PREFERENCE:
            chosen = [f for f in ggufs if has(tag, f)]
            if chosen:
                break
        chosen = chosen or sorted(ggufs, key=lambda f: int(f.get("size") or 0))
    pick = sorted(chosen, key=lambda f: str(f["path"]))[0]
    if re.search(r"-\d{5}-of-\d{5}\.gguf$", str(pick["path"])):
        raise PullError(
            f"{pick['path']} is split into parts; merge them with llama.cpp's gguf-split "
            "and create the model from the merged file"
        )
    return pick


def _hf_layers(client: httpx.Client, ref: Ref, name: str) -> list[Layer]:
    url = f"{ref.base_url}/api/models/{ref.namespace}/{ref.repo}/tree/main"
    resp = client.get(url, params={"recursive": "true"}, headers=_hf_headers())
    if resp.status_code in (401, 404):
        raise ModelNotFoundError(
            f"pull {name}: no such Hugging Face repository (or it is private: set HF_TOKEN)",
            param="model",
        )
    if resp.status_code >= 400:
        raise PullError(f"pull {name}: Hugging Face answered HTTP {resp.status_code}")
    if len(resp.content) > MAX_MANIFEST_BYTES:
        raise PullError(f"pull {name}: the repository's file list is over 4 MB")
    try:
        files = list(resp.json())
    except ValueError:
        raise PullError(f"pull {name}: Hugging Face sent a file list that is not JSON") from None
    pick = choose_gguf(files, ref.tag)
    lfs = pick.get("lfs") or {}
    oid = str(lfs.get("oid") or lfs.get("sha256") or "")
    if not re.fullmatch(r"[0-9a-f]{64}", oid):
        raise PullError(f"pull {name}: {pick['path']} has no SHA-256 to verify it against")
    path = str(pick["path"])
    url = f"{ref.base_url}/{ref.namespace}/{ref.repo}/resolve/main/{path}"
    size = int(lfs.get("size") or pick.get("size") or 0)
    return [Layer(MEDIA_PREFIX + "model", f"sha256:{oid}", size, url, path)]


# -- the pull ---------------------------------------------------------------------------------


def pull(
    settings: Settings,
    name: str,
    progress: Progress,
    *,
    insecure: bool = False,
    max_bytes: int | None = None,
) -> Any:
    """Pull ``name`` into the registry; returns the :class:`ModelRecord`. Raises one-line
    :class:`PullError` s (unknown model or tag, network down, disk full, digest mismatch)."""
    from llmapps.serve.registry import Registry

    ref = parse_ref(name, settings, insecure)
    registry = Registry(settings)
    blobs = settings.home / "models" / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    progress({"status": "pulling manifest"})
    client = _client(settings)
    try:
        headers: dict[str, str] = {}
        manifest_digest = ""
        if ref.kind == "hf":
            headers = _hf_headers()
            layers = _hf_layers(client, ref, name)
            manifest_digest = layers[0].digest
        else:
            manifest, manifest_digest = _ollama_manifest(client, ref, name)
            layers = _ollama_layers(ref, manifest)
        total = sum(layer.size for layer in layers)
        if max_bytes is not None and total > max_bytes:
            raise PullError(
                f"pull {name}: the model is {_size(total)}, over this server's limit of "
                f"{_size(max_bytes)} for pulls over HTTP (raise server.max_blob_mb, or run "
                "'llmapps pull' on the server)"
            )
        _check_space(blobs, layers)
        files: dict[str, list[Path]] = {}
        for layer in layers:
            path = _download(client, layer, blobs, progress, headers)
            if layer.media_type.startswith(MEDIA_PREFIX):
                files.setdefault(layer.media_type[len(MEDIA_PREFIX) :], []).append(path)
    except httpx.HTTPError as exc:
        raise _network_error(ref.base_url, exc) from None
    except OSError as exc:  # not disk-full (handled where it happens): permissions, a bad disk
        raise PullError(
            f"cannot write the download to {blobs}: {exc.strerror or exc}: check that folder "
            "(or set LLMAPPS_HOME to another data directory)"
        ) from None
    finally:
        client.close()
    progress({"status": "writing manifest"})
    mf, _dropped = modelfile_from_layers(files)
    source: dict[str, Any] = {
        "name": name,
        "kind": ref.kind,
        "digest": manifest_digest,
        "layers": [layer.digest for layer in layers],
    }
    if files.get("projector"):
        source["projector"] = str(files["projector"][0])
    record = registry.save_pulled(ref.local_name, mf, source)
    progress({"status": "success"})
    return record
