"""A cheap look at a PDF's streams before any parser inflates them (decompression bombs).

Why a raw scan: pdfminer and pdfium inflate a stream whole when they need it, so a 200 KB file
whose content stream inflates to 200 MB costs that memory, and far more time, before any page
is done. Here every ``/FlateDecode`` stream is inflated in 1 MB steps, only counting, and the
scan stops at the cap; image streams are sized from their ``/Width``, ``/Height`` and colour
components without inflating them. Streams that do not inflate (encrypted files, other filters)
are left to the per-page time budget of the worker.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

from llmapps.translate.errors import PdfLimitError

_STREAM = re.compile(rb"(?<!end)stream\r?\n")
_INT = {
    key: re.compile(rb"/" + key + rb"\s+(\d+)")
    for key in (b"Width", b"Height", b"BitsPerComponent")
}
_STEP = 1 << 20


def check_decompressed_size(path: Path, max_bytes: int) -> int:
    """Raise :class:`PdfLimitError` when a stream, or all non-image streams together, would
    inflate past ``max_bytes``; returns the counted total."""
    data = path.read_bytes()
    total = 0
    for match in _STREAM.finditer(data):
        start = match.end()
        head = data[max(0, match.start() - 4096) : match.start()]
        cut = head.rfind(b" obj")
        head = head[cut:] if cut >= 0 else head
        end = data.find(b"endstream", start)
        end = len(data) if end < 0 else end
        if b"/Image" in head:
            size = _image_bytes(head)
            if size is not None:
                if size > max_bytes:
                    raise _too_big(path, max_bytes, size)
                continue
        if b"/FlateDecode" not in head and b"/Fl " not in head and b"/Fl]" not in head:
            continue
        remaining = max_bytes - total
        inflated = _inflated_size(data[start:end], remaining)
        if inflated > remaining:
            raise _too_big(path, max_bytes, total + inflated)
        total += inflated
    return total


def _image_bytes(head: bytes) -> int | None:
    found = {key: _INT[key].search(head) for key in _INT}
    if not found[b"Width"] or not found[b"Height"]:
        return None
    width = int(found[b"Width"].group(1))  # type: ignore[union-attr]
    height = int(found[b"Height"].group(1))  # type: ignore[union-attr]
    bits = int(found[b"BitsPerComponent"].group(1)) if found[b"BitsPerComponent"] else 8
    return width * height * 4 * max(bits, 8) // 8  # up to four components (CMYK)


def _inflated_size(raw: bytes, limit: int) -> int:
    """Bytes ``raw`` inflates to, counting no further than just past ``limit``."""
    inflater = zlib.decompressobj()
    size = 0
    pending = raw
    try:
        while pending and size <= limit:
            chunk = inflater.decompress(pending, _STEP)
            size += len(chunk)
            pending = inflater.unconsumed_tail
            if inflater.eof or not chunk:
                break  # the end of the zlib stream, or no progress (trailing bytes)
    except zlib.error:
        return size  # not inflatable as is (encrypted, broken): the parser decides
    return size


def _too_big(path: Path, max_bytes: int, size: int) -> PdfLimitError:
    return PdfLimitError(
        f"{path.name}: its content inflates to more than {max_bytes // (1 << 20)} MB "
        f"(at least {size // (1 << 20)} MB): a broken or hostile PDF; check the file, or raise "
        "translate.max_decompressed_mb if it is genuine"
    )
