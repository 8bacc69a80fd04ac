"""What the server tells about a model: ``/api/show``, ``/api/tags`` details, ``models show``.

Why its own module: the CLI shows the same facts as the Ollama API, and a CLI must not import
an HTTP module to get them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from llmapps.serve.engine import gguf_metadata
from llmapps.serve.registry import ModelRecord


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")  # as Ollama writes times


def model_details(record: ModelRecord) -> dict[str, Any]:
    meta = gguf_metadata(record.path)
    arch = meta.get("general.architecture", "")
    size_label = meta.get("general.size_label", "")
    file_type = meta.get("general.file_type", "")
    quant = {"0": "F32", "1": "F16", "2": "Q4_0", "3": "Q4_1", "7": "Q8_0", "15": "Q4_K_M"}
    return {
        "parent_model": record.parent or "",
        "format": "gguf",
        "family": arch,
        "families": [arch] if arch else None,
        "parameter_size": size_label,
        "quantization_level": quant.get(str(file_type), str(file_type)),
    }


def modified_at(record: ModelRecord) -> str:
    return record.created_at or _now()


def parameters_text(record: ModelRecord) -> str:
    """PARAMETER lines as Ollama's ``/api/show`` prints them (``name  value``)."""
    lines = []
    for name, value in record.parameters.items():
        for item in value if isinstance(value, list) else [value]:
            shown = json.dumps(item) if name == "stop" else str(item)
            lines.append(f"{name:<30} {shown}")
    return "\n".join(lines)


def show_info(record: ModelRecord) -> dict[str, Any]:
    """What ``/api/show`` and ``llmapps models show`` present."""
    meta = gguf_metadata(record.path)
    mf = record.modelfile
    info = {k: v for k, v in meta.items() if not k.startswith("tokenizer.ggml.")}
    return {
        "modelfile": f"# Modelfile of {record.name}\n" + mf.render(),
        "parameters": parameters_text(record),
        "template": mf.template if mf.template is not None else "",
        "system": mf.system or "",
        "license": "\n".join(mf.license),
        "details": model_details(record),
        "model_info": info,
        "messages": mf.messages,
        "capabilities": ["completion", "tools", "embedding"],
        "modified_at": modified_at(record),
    }
