"""The model registry: Modelfile-defined models stored in the data directory.

Why files and not GGUF copies: a model here is a small JSON manifest (its Modelfile, the
resolved GGUF path, adapters, parameters, template, system prompt, messages, license) under
``<home>/models/manifests/<name>/<tag>.json``. The GGUF weights stay where they are (often
gigabytes); a model created ``FROM`` another one inherits and overrides its fields, like Ollama.
The bundled ``smollm2`` is always present and cannot be overwritten or removed.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmapps.config import Settings
from llmapps.models.errors import UnknownModelError
from llmapps.models.local.discovery import BUNDLED_NAME, bundled_model_path, resolve_local_model
from llmapps.serve.errors import BadRequestError, ModelExistsError, ModelNotFoundError
from llmapps.serve.gguf_header import GGUFHeaderError, read_gguf_keys
from llmapps.serve.modelfile import Modelfile, convert_parameter, parse_modelfile

DEFAULT_TAG = "latest"
# name, namespace/name, or host/namespace/name (pulled models keep their registry path)
_NAME = re.compile(
    r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*(?::\d{1,5})?/)?"
    r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)?$"
)
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def split_name(name: str) -> tuple[str, str]:
    """``name[:tag]`` -> (name, tag) with ``latest`` as the default tag; validated."""
    raw = name.strip()
    base, sep, tag = raw.rpartition(":")
    if not sep or "/" in tag:
        base, tag = raw, DEFAULT_TAG
    if not _NAME.match(base) or not _TAG.match(tag):
        raise BadRequestError(
            f"invalid model name '{name}': use name[:tag] with letters, digits, '.', '_' or '-'",
            param="model",
        )
    return base.lower(), tag.lower()


def full_name(name: str) -> str:
    """The canonical ``name:tag`` form."""
    base, tag = split_name(name)
    return f"{base}:{tag}"


@dataclass
class ModelRecord:
    """A model the server can run: everything needed to load and prompt it."""

    name: str  # name:tag
    path: Path
    modelfile: Modelfile
    adapters: list[Path] = field(default_factory=list)
    parent: str | None = None
    created_at: str = ""
    bundled: bool = False
    # Pulled models: {"name": what was pulled, "kind": "ollama"|"hf", "digest": "sha256:..."}
    source: dict[str, Any] | None = None

    @property
    def parameters(self) -> dict[str, Any]:
        return self.modelfile.parameters

    @property
    def digest(self) -> str:
        if self.source and str(self.source.get("digest", "")).startswith("sha256:"):
            return str(self.source["digest"])[7:]
        text = self.modelfile.render() + str(self.path)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def size(self) -> int:
        total = self.path.stat().st_size if self.path.is_file() else 0
        return total + sum(a.stat().st_size for a in self.adapters if a.is_file())

    def to_json(self) -> dict[str, Any]:
        mf = self.modelfile
        return {
            "name": self.name,
            "path": str(self.path),
            "adapters": [str(a) for a in self.adapters],
            "parent": self.parent,
            "created_at": self.created_at,
            "from": mf.from_,
            "parameters": mf.parameters,
            "template": mf.template,
            "system": mf.system,
            "messages": mf.messages,
            "license": mf.license,
            **({"source": self.source} if self.source else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelRecord:
        mf = Modelfile(
            from_=data["from"],
            parameters=dict(data.get("parameters") or {}),
            template=data.get("template"),
            system=data.get("system"),
            adapters=list(data.get("adapters") or []),
            messages=list(data.get("messages") or []),
            license=list(data.get("license") or []),
        )
        return cls(
            name=data["name"],
            path=Path(data["path"]),
            modelfile=mf,
            adapters=[Path(a) for a in data.get("adapters") or []],
            parent=data.get("parent"),
            created_at=data.get("created_at", ""),
            source=data.get("source"),
        )


def _is_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"GGUF"
    except OSError:
        return False


def _check_lora(adapter: Path, ref: str, base: Path) -> None:
    """Refuse at create time what llama.cpp would refuse at the first request, unclearly."""
    keys = {"general.type", "adapter.type", "general.architecture"}
    try:
        meta = read_gguf_keys(adapter, keys)
        base_arch = read_gguf_keys(base, {"general.architecture"}).get("general.architecture")
    except (OSError, GGUFHeaderError) as exc:
        raise BadRequestError(f"ADAPTER {ref}: unreadable GGUF ({exc}): re-export it") from exc
    if meta.get("general.type") != "adapter" or meta.get("adapter.type") != "lora":
        raise BadRequestError(
            f"ADAPTER {ref}: not a LoRA adapter GGUF (general.type={meta.get('general.type')}, "
            f"adapter.type={meta.get('adapter.type')}): convert the LoRA with llama.cpp's "
            "convert_lora_to_gguf.py"
        )
    arch = meta.get("general.architecture")
    if base_arch and arch != base_arch:
        raise BadRequestError(
            f"ADAPTER {ref}: made for architecture '{arch}' but the base model is "
            f"'{base_arch}': use an adapter trained on this base model"
        )


class Registry:
    """Create, read, copy and remove models under ``<home>/models/manifests``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.home / "models" / "manifests"

    # -- lookup -----------------------------------------------------------------------------
    def _file(self, name: str) -> Path:
        base, tag = split_name(name)
        return self.root / base / f"{tag}.json"

    def bundled(self) -> ModelRecord:
        path = bundled_model_path()
        return ModelRecord(
            name=f"{BUNDLED_NAME}:{DEFAULT_TAG}",
            path=path,
            modelfile=Modelfile(from_=BUNDLED_NAME),
            created_at=datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(),
            bundled=True,
        )

    def get(self, name: str) -> ModelRecord:
        """The model called ``name`` (``name[:tag]``); :class:`ModelNotFoundError` if none."""
        canonical = full_name(name)
        if canonical == f"{BUNDLED_NAME}:{DEFAULT_TAG}":
            return self.bundled()
        file = self._file(name)
        if not file.is_file():
            raise ModelNotFoundError(
                f"model '{name}' not found: see 'llmapps models list' or create it with "
                f"'llmapps models create {name} -f Modelfile'",
                param="model",
            )
        return ModelRecord.from_json(json.loads(file.read_text(encoding="utf-8")))

    def exists(self, name: str) -> bool:
        try:
            self.get(name)
        except ModelNotFoundError:
            return False
        return True

    def list(self) -> list[ModelRecord]:
        """Every model, the bundled one first, then by name."""
        records = [self.bundled()]
        if self.root.is_dir():
            for file in sorted(self.root.glob("**/*.json")):
                try:
                    records.append(ModelRecord.from_json(json.loads(file.read_text("utf-8"))))
                except (OSError, ValueError, KeyError):
                    continue  # a damaged manifest must not hide the others
        return records

    # -- changes ----------------------------------------------------------------------------
    def create(
        self, name: str, modelfile: Modelfile | str, base_dir: Path | None = None
    ) -> ModelRecord:
        """Resolve ``FROM`` (model name, bundled name, or GGUF path) and store the manifest."""
        mf = parse_modelfile(modelfile) if isinstance(modelfile, str) else modelfile
        canonical = full_name(name)
        if canonical == f"{BUNDLED_NAME}:{DEFAULT_TAG}":
            raise ModelExistsError(
                f"'{BUNDLED_NAME}' is the bundled model and cannot be replaced: choose another name"
            )
        for key, value in list(mf.parameters.items()):
            mf.parameters[key] = convert_parameter(key, value, "parameters: ")
        base_dir = base_dir or Path.cwd()
        parent: ModelRecord | None = None
        path: Path
        adapters: list[Path] = []
        try:
            parent = self.get(mf.from_)
        except (ModelNotFoundError, BadRequestError):
            parent = None
        if parent is not None:
            path = parent.path
            adapters = list(parent.adapters)
            merged = Modelfile(
                from_=mf.from_,
                parameters={**parent.parameters, **mf.parameters},
                template=mf.template if mf.template is not None else parent.modelfile.template,
                system=mf.system if mf.system is not None else parent.modelfile.system,
                messages=mf.messages or list(parent.modelfile.messages),
                license=mf.license or list(parent.modelfile.license),
            )
        else:
            path = self._gguf(mf.from_, base_dir, "FROM")
            merged = Modelfile(
                from_=str(path),
                parameters=dict(mf.parameters),
                template=mf.template,
                system=mf.system,
                messages=list(mf.messages),
                license=list(mf.license),
            )
        for adapter in mf.adapters:
            adapters.append(self._gguf(adapter, base_dir, "ADAPTER"))
            _check_lora(adapters[-1], adapter, path)
        merged.adapters = [str(a) for a in adapters]
        if len(adapters) > 1:
            raise BadRequestError("only one ADAPTER per model is supported (llama.cpp loads one)")
        if merged.template is not None:
            from llmapps.serve.gotemplate import parse_template

            parse_template(merged.template)  # fail now, not at the first request
        record = ModelRecord(
            name=canonical,
            path=path,
            modelfile=merged,
            adapters=adapters,
            parent=parent.name if parent else None,
            created_at=datetime.now(UTC).isoformat(),
        )
        self._write(record)
        return record

    def save_pulled(self, name: str, mf: Modelfile, source: dict[str, Any]) -> ModelRecord:
        """Store a pulled model (weights and layers already verified in the blob store).

        A model already present with the same manifest digest is left as it is (Ollama's
        "up to date"); a changed digest replaces the manifest.
        """
        canonical = full_name(name)
        try:
            old = self.get(canonical)
        except ModelNotFoundError:
            old = None
        if old is not None and old.source and old.source.get("digest") == source.get("digest"):
            return old
        path = Path(mf.from_)
        if not _is_gguf(path):
            raise BadRequestError(f"pull {name}: the model layer is not a GGUF file")
        if mf.template is not None:
            from llmapps.serve.gotemplate import parse_template

            parse_template(mf.template)
        record = ModelRecord(
            name=canonical,
            path=path,
            modelfile=mf,
            adapters=[Path(a) for a in mf.adapters],
            created_at=datetime.now(UTC).isoformat(),
            source=source,
        )
        self._write(record)
        return record

    def _gguf(self, ref: str, base_dir: Path, what: str) -> Path:
        candidate = Path(ref).expanduser()
        if not candidate.is_absolute():
            candidate = base_dir / candidate
        if candidate.is_file():
            if not _is_gguf(candidate):
                raise BadRequestError(f"{what} {ref}: not a GGUF file (convert it to GGUF first)")
            return candidate.resolve()
        if what == "FROM" and "/" not in ref and not ref.endswith(".gguf"):
            try:
                return resolve_local_model(ref, self.settings)
            except UnknownModelError:
                pass
            raise ModelNotFoundError(
                f"FROM {ref}: no model or GGUF file of that name: use 'smollm2', an existing "
                "model name, or a path to a .gguf file",
                param="from",
            )
        raise BadRequestError(f"{what} {ref}: file not found (give a path to a .gguf file)")

    def _write(self, record: ModelRecord) -> None:
        file = self._file(record.name)
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(".tmp")
        tmp.write_text(json.dumps(record.to_json(), indent=2, ensure_ascii=False), "utf-8")
        tmp.replace(file)

    def copy(self, source: str, destination: str) -> ModelRecord:
        record = self.get(source)
        canonical = full_name(destination)
        if canonical == f"{BUNDLED_NAME}:{DEFAULT_TAG}":
            raise ModelExistsError(f"'{BUNDLED_NAME}' is the bundled model: choose another name")
        record.name = canonical
        record.bundled = False
        if record.modelfile.from_ == BUNDLED_NAME:
            record.modelfile.from_ = str(record.path)
        record.created_at = datetime.now(UTC).isoformat()
        self._write(record)
        return record

    def delete(self, name: str) -> None:
        if full_name(name) == f"{BUNDLED_NAME}:{DEFAULT_TAG}":
            raise ModelExistsError(f"'{BUNDLED_NAME}' is the bundled model and cannot be removed")
        file = self._file(name)
        if not file.is_file():
            self.get(name)  # raises the not-found error with its hint
        record = self.get(name)
        file.unlink()
        folder = file.parent
        if folder != self.root and not any(folder.iterdir()):
            shutil.rmtree(folder, ignore_errors=True)
        if record.source:
            self._prune(record)

    def _prune(self, removed: ModelRecord) -> None:
        """Remove the pulled blobs no other model uses (as ``ollama rm`` does); files outside
        the blob store (created models' GGUFs) are never touched."""
        blobs = self.settings.home / "models" / "blobs"
        candidates = {blobs / f"sha256-{d[7:]}" for d in (removed.source or {}).get("layers", [])}
        candidates |= {p for p in [removed.path, *removed.adapters] if p.parent == blobs}
        in_use: set[Path] = set()
        for other in self.list():
            in_use |= {other.path, *other.adapters}
            in_use |= {blobs / f"sha256-{d[7:]}" for d in (other.source or {}).get("layers", [])}
        for path in candidates - in_use:
            path.unlink(missing_ok=True)
