"""Read a few metadata keys from a GGUF header without llama.cpp.

Why: an ``ADAPTER`` must be a LoRA adapter GGUF (``general.type = adapter``,
``adapter.type = lora``) for the same architecture as the base model. llama.cpp only finds
out when the model is loaded, at the first request, with an unhelpful "Failed to initialize
LoRA adapter". Reading the header at ``models create`` time turns that into a clear error
before the manifest is written. llama.cpp cannot open an adapter on its own (a vocab-only
load needs a full model), so this is a tiny reader of the documented GGUF v2/v3 layout.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Generator
from contextlib import closing
from pathlib import Path
from typing import BinaryIO

# GGUF value types: size in bytes of the fixed-size ones; 8 = string, 9 = array.
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_FORMATS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?"}
_FORMATS.update({10: "<Q", 11: "<q", 12: "<d"})
_STRING, _ARRAY = 8, 9


class GGUFHeaderError(ValueError):
    """The file is not a readable GGUF (bad magic, version or truncated header)."""


def _read(fh: BinaryIO, size: int) -> bytes:
    data = fh.read(size)
    if len(data) != size:
        raise GGUFHeaderError("truncated GGUF header")
    return data


def _u32(fh: BinaryIO) -> int:
    return int(struct.unpack("<I", _read(fh, 4))[0])


def _u64(fh: BinaryIO) -> int:
    return int(struct.unpack("<Q", _read(fh, 8))[0])


def _string(fh: BinaryIO) -> str:
    return _read(fh, _u64(fh)).decode("utf-8", errors="replace")


def _value(fh: BinaryIO, kind: int, keep: bool) -> object:
    if kind in _FIXED:
        raw = _read(fh, _FIXED[kind])
        return struct.unpack(_FORMATS[kind], raw)[0] if keep else None
    if kind == _STRING:
        return _string(fh)
    if kind == _ARRAY:
        item, count = _u32(fh), _u64(fh)
        if item in _FIXED and not keep:
            fh.seek(_FIXED[item] * count, 1)
            return None
        if item == _STRING and not keep:  # e.g. a tokenizer's merges: skip, don't decode
            for _ in range(count):
                fh.seek(_u64(fh), 1)
            return None
        return [_value(fh, item, keep) for _ in range(count)]
    raise GGUFHeaderError(f"unknown GGUF value type {kind}")


def _entries(
    path: Path, wanted: Callable[[str, int], bool]
) -> Generator[tuple[str, object], None, None]:
    """``(key, value)`` of the header's entries that ``wanted(key, value type)`` keeps, in
    order; the others are skipped without decoding."""
    with path.open("rb") as fh:
        if _read(fh, 4) != b"GGUF":
            raise GGUFHeaderError("not a GGUF file")
        if _u32(fh) not in (2, 3):
            raise GGUFHeaderError("unsupported GGUF version")
        _u64(fh)  # tensor count
        for _ in range(_u64(fh)):
            key = _string(fh)
            kind = _u32(fh)
            keep = wanted(key, kind)
            value = _value(fh, kind, keep)
            if keep:
                yield key, value


def read_gguf_keys(path: Path, keys: set[str]) -> dict[str, object]:
    """The values of ``keys`` found in the header of ``path`` (missing keys are absent)."""
    found: dict[str, object] = {}
    with closing(_entries(path, lambda key, _kind: key in keys)) as entries:
        for key, value in entries:
            found[key] = value
            if len(found) == len(keys):
                break
    return found


def read_gguf_metadata(path: Path, arrays: frozenset[str] = frozenset()) -> dict[str, object]:
    """Every scalar key of the header of ``path``, plus the arrays named in ``arrays`` (others
    are skipped), as llama.cpp's own metadata view leaves arrays out."""
    return dict(_entries(path, lambda key, kind: kind != _ARRAY or key in arrays))
